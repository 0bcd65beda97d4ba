"""Finding the example scripts, describing them without running them, and running one.

An example is a `.py` file in the examples folder; its name is the file's stem with '-'
for '_' (`mnist_cnn.py` is `mnist-cnn`) and its description the first paragraph of its
module docstring, read with `ast` so that listing never imports or executes a script.
"""

from __future__ import annotations

import ast
import difflib
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lamina.cli.errors import USAGE, CliError

ENV_VAR = "LAMINA_EXAMPLES"


@dataclass(frozen=True)
class Example:
    """One example script: its command-line name, file and one-line description."""

    name: str
    path: Path
    description: str


def candidate_dirs() -> list[Path]:
    """Where examples are looked for: $LAMINA_EXAMPLES alone when it is set, else the
    repository's examples/ beside the package (an editable or source install)."""
    env = os.environ.get(ENV_VAR)
    if env:
        return [Path(env).expanduser()]
    import lamina

    return [Path(lamina.__file__).resolve().parents[1] / "examples"]


def examples_dir() -> Path:
    """The examples folder, or a CliError naming every place looked in."""
    looked = candidate_dirs()
    for folder in looked:
        if folder.is_dir():
            return folder
    places = ", ".join(str(p) for p in looked)
    raise CliError(
        f"Expected an examples folder, received: none at {places} "
        f"(set {ENV_VAR} to the folder that holds the example scripts)"
    )


def name_of(path: Path) -> str:
    """`mnist_cnn.py` -> `mnist-cnn`."""
    return path.stem.replace("_", "-")


def describe(path: Path) -> str:
    """The first paragraph of the script's docstring on one line, without running it."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError) as err:
        return f"(unreadable: {type(err).__name__})"
    doc = ast.get_docstring(tree) or ""
    first = doc.strip().split("\n\n", 1)[0]
    return " ".join(first.split()) or "(no description)"


def list_examples(folder: Path) -> list[Example]:
    """Every example in `folder`, sorted by name (files starting with '_' are helpers)."""
    scripts = sorted(p for p in folder.glob("*.py") if not p.name.startswith("_"))
    return [Example(name_of(p), p, describe(p)) for p in scripts]


def find(name: str, examples: Sequence[Example]) -> Example:
    """The example called `name` (also accepted: the file name, '_' for '-')."""
    wanted = name_of(Path(name if name.endswith(".py") else name + ".py")).lower()
    for example in examples:
        if example.name.lower() == wanted:
            return example
    names = [e.name for e in examples]
    close = difflib.get_close_matches(wanted, names, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise CliError(
        f"Expected the name of an example ('lamina examples' lists them), "
        f"received: name={name!r}{hint}",
        code=USAGE,
    )


def run(example: Example, args: Sequence[str]) -> int:
    """Run the script with this Python in a child process; its exit code is ours."""
    try:
        done = subprocess.run([sys.executable, str(example.path), *args], check=False)
    except KeyboardInterrupt:
        return 130
    return done.returncode
