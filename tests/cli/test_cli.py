"""The installed `lamina` command, run as a child process: help, the examples list, run,
predict, and the exit codes and one-line errors.

Each call imports torch (a few seconds of CPU), so this file keeps to one call per
behaviour; test_commands.py checks the rest in-process through `lamina.cli.main`.
"""

from __future__ import annotations

import ast
import json
import os
import sys
import textwrap
from pathlib import Path

import numpy as np
from PIL import Image

import lamina as keras
from tests.cli.cli_helpers import parse_predictions, run_lamina

COMMANDS = ("examples", "run", "summary", "predict", "evaluate", "report", "convert", "serve")
EXAMPLES = Path(keras.__file__).resolve().parents[1] / "examples"


def expected_examples(folder: Path) -> dict[str, str]:
    """name -> first docstring paragraph, read here with ast for comparison."""
    listing = {}
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("_"):
            continue
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        listing[path.stem.replace("_", "-")] = " ".join(doc.strip().split("\n\n")[0].split())
    return listing


def test_help_lists_every_command():
    done = run_lamina("--help")
    assert done.returncode == 0, done.stderr
    listed = [
        line.split()[0] for line in done.stdout.split("Commands:")[1].splitlines() if line.strip()
    ]
    assert listed == list(COMMANDS)


def test_examples_lists_the_scripts_with_their_first_docstring_paragraph():
    done = run_lamina("examples")
    assert done.returncode == 0, done.stderr
    shown = dict(line.split(None, 1) for line in done.stdout.splitlines())
    want = expected_examples(EXAMPLES)
    assert want, "no examples in examples/"
    assert shown == want


def test_run_passes_the_flags_and_returns_the_scripts_exit_code(tmp_path):
    script = tmp_path / "echo_args.py"
    script.write_text(
        textwrap.dedent(
            '''\
            """Prints its interpreter and arguments as JSON; exits with --exit's code."""
            import json, sys
            print(json.dumps({"python": sys.executable, "argv": sys.argv[1:]}))
            sys.exit(int(sys.argv[sys.argv.index("--exit") + 1]))
            '''
        )
    )
    done = run_lamina(
        "run",
        "echo-args",
        "--epochs",
        "3",
        "--quick",
        "--seed",
        "7",
        "--exit",
        "3",
        env={"LAMINA_EXAMPLES": str(tmp_path)},
    )
    assert done.returncode == 3, done.stderr
    seen = json.loads(done.stdout)
    assert seen["argv"] == ["--epochs", "3", "--quick", "--seed", "7", "--exit", "3"]
    assert os.path.realpath(seen["python"]) == os.path.realpath(sys.executable)


def test_predict_prints_the_models_top_classes(saved, mnist_test, tmp_path):
    x, _ = mnist_test
    paths = []
    for i in range(3):
        paths.append(tmp_path / f"digit{i}.png")
        Image.fromarray(x[i]).save(paths[-1])  # grayscale 28x28: what the model reads
    probs = saved.model.predict(x[:3, :, :, None].astype("float32") / 255, verbose=0)
    done = run_lamina("predict", str(saved.files["keras"]), *map(str, paths), "--top", "3")
    assert done.returncode == 0, done.stderr
    shown = parse_predictions(done.stdout)
    assert list(shown) == [str(p) for p in paths]
    for path, row in zip(paths, probs):
        top = np.argsort(-row)[:3]
        assert [label for label, _ in shown[str(path)]] == [str(i) for i in top]
        np.testing.assert_allclose([p for _, p in shown[str(path)]], row[top], atol=6e-5)


def test_a_missing_argument_is_a_usage_error_on_one_line():
    done = run_lamina("summary")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "lamina: error: Missing argument 'MODEL'. (see 'lamina summary --help')"
    ]


def test_a_broken_model_file_fails_with_one_line_and_no_traceback(tmp_path):
    bad = tmp_path / "broken.h5"
    bad.write_bytes(b"not a model at all")
    done = run_lamina("summary", str(bad))
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("lamina: error: Expected"), done.stderr
    assert "broken.h5" in lines[0] and "Traceback" not in done.stderr
