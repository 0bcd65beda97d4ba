"""The notebooks run end to end, as a learner runs them, and each printed result must clear a
bound that a broken model misses.

Each notebook executes in a fresh Jupyter kernel (nbclient, the `python3` kernel: ipykernel for
this interpreter, checked below) with LAMINA_QUICK=1 in the kernel's environment: the first code
cell of every notebook reads it and picks small sizes. LAMINA_ARTIFACTS points the files a
notebook writes (the HTML report) at a temporary directory. Plots must render inline: each
notebook must produce at least the number of PNG outputs given below.

The progress bar is checked inside a kernel too: it redraws in place (carriage returns, no line
per update) and, once the front end applies the carriage returns, shows the same lines as Keras 3's
bar for the same fit.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


@dataclass(frozen=True)
class Bound:
    """A figure printed by the notebook (`pattern`'s group 1) and the side it must be on."""

    pattern: str
    at_least: float | None = None
    at_most: float | None = None


# Per notebook: the printed results and their bounds (each comment gives the quick run's figure
# here, and what a model that cannot learn prints), and the inline plots it must show.
CHECKS: dict[str, tuple[list[Bound], int]] = {
    # the perceptron rule reaches 100% on the separable set (a neuron left at zero weights
    # answers 1 everywhere: 49%); the 2-2-1 net gets 4/4; a lone neuron can never pass 3/4.
    "01_perceptron_and_xor": (
        [
            Bound(r"Perceptron accuracy: ([0-9.]+)%", at_least=100.0),
            Bound(r"XOR accuracy: (\d)/4", at_least=4),
            Bound(r"One neuron on XOR: (\d)/4 right", at_most=3),
        ],
        2,
    ),
    # 0.010 and 0.014 here; an MLP whose output stays near 0 scores mean(y^2) = 0.5 on both.
    "02_function_approximation": (
        [
            Bound(r"sin\(x\) fit MSE: ([0-9.]+)", at_most=0.05),
            Bound(r"step\(x\) fit MSE: ([0-9.]+)", at_most=0.08),
        ],
        1,
    ),
    # final losses 0.018, 0.013 and 0.041 here (the noise alone: 0.01); weights that do not move
    # stay near 14, the targets' mean square.
    "03_gradient_descent": (
        [
            Bound(r"batch: final loss ([0-9.]+)", at_most=0.5),
            Bound(r"stochastic: final loss ([0-9.]+)", at_most=0.5),
            Bound(r"mini-batch: final loss ([0-9.]+)", at_most=0.5),
        ],
        1,
    ),
    # 83.2% here after 2 epochs on 5,000 images; an untrained softmax scores about 10%.
    "04_softmax_regression": ([Bound(r"Test accuracy: ([0-9.]+)%", at_least=75.0)], 2),
    # 2 epochs on 3,000 images: tanh 84.3%, ReLU 82.2% here (sigmoid 35%: it learns slowest,
    # the lesson's point, so it has no bound); an untrained MLP scores about 10%.
    "05_mlp_activations_and_dropout": (
        [
            Bound(r"Test accuracy \(tanh\): ([0-9.]+)%", at_least=75.0),
            Bound(r"Test accuracy \(relu\): ([0-9.]+)%", at_least=75.0),
        ],
        2,
    ),
    # 2 epochs on 1,600 images: 81.0% here; an untrained CNN scores about 10%.
    "06_mnist_cnn": ([Bound(r"Test accuracy: ([0-9.]+)%", at_least=65.0)], 3),
    # the same behind the augmentation layers: 74.5% here.
    "07_cnn_augmentation": ([Bound(r"Test accuracy: ([0-9.]+)%", at_least=60.0)], 2),
    # ImageNet's weights name skimage's cat photo (3 cat classes in the top 5 here; random
    # weights name arbitrary classes). 10 images per class at 32x32: the head on frozen features
    # 68.5%, fine-tuned 69.0% here; an untrained head scores about 10%. Fine-tuning leaves the
    # frozen BatchNormalization's moving statistics exactly as loaded.
    "08_transfer_learning": (
        [
            Bound(r"Cat classes in the top 5: (\d)", at_least=1),
            Bound(r"Frozen backbone, new head: test accuracy ([0-9.]+)%", at_least=45.0),
            Bound(r"Fine-tuned: test accuracy ([0-9.]+)%", at_least=45.0),
            Bound(r"Largest change in ImageNet's BatchNorm statistics: ([0-9.e-]+)", at_most=0.0),
        ],
        3,
    ),
    # LSTM 0.106 against the naive forecast's 0.203 here (a network that learned nothing
    # predicts the mean: about 0.7, the sine's RMS); spam 2 epochs on the whole corpus: LSTM
    # 98.3%, Conv1D 97.2% here, against 68% for answering "ham" every time.
    "09_sequences_rnn_and_text": (
        [
            Bound(r"Chirp test RMSE: LSTM ([0-9.]+)", at_most=0.16),
            Bound(r"Spam test accuracy \(LSTM\): ([0-9.]+)%", at_least=90.0),
            Bound(r"Spam test accuracy \(Conv1D\): ([0-9.]+)%", at_least=90.0),
        ],
        3,
    ),
}


def _notebook_names() -> list[str]:
    return sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))


def _execute(nb: nbformat.NotebookNode, cwd: Path, env: dict[str, str]) -> nbformat.NotebookNode:
    """Run every cell in a fresh python3 kernel; a cell that raises fails the test with its
    traceback (nbclient's CellExecutionError)."""
    client = nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(cwd)}}
    )
    client.execute(env=env)
    return nb


def _kernel_env(tmp_path: Path) -> dict[str, str]:
    """LAMINA_QUICK=1; files into `tmp_path`; and an empty Inductor cache, which holds
    `jit_compile='auto'`'s ledger: what earlier runs on this machine measured would otherwise
    decide whether a fit compiles, so the run would depend on the machine's history."""
    env = dict(os.environ, LAMINA_QUICK="1", LAMINA_ARTIFACTS=str(tmp_path))
    env["TORCHINDUCTOR_CACHE_DIR"] = str(tmp_path / "inductor")
    env.pop("MPLBACKEND", None)  # the kernel chooses its inline backend
    return env


def _text(nb: nbformat.NotebookNode) -> str:
    """All printed text: stdout, stderr and the cells' text results, in order."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                parts.append(out.text)
            elif out.output_type in ("execute_result", "display_data"):
                parts.append(out.data.get("text/plain", "") + "\n")
    return "".join(parts)


def _png_count(nb: nbformat.NotebookNode) -> int:
    return sum(
        "image/png" in out.get("data", {}) for cell in nb.cells for out in cell.get("outputs", [])
    )


def test_every_notebook_has_its_checks_and_a_parameter_cell():
    names = _notebook_names()
    assert names, f"no notebooks in {NOTEBOOKS}"
    assert set(names) == set(CHECKS), f"notebooks {names} against checks {sorted(CHECKS)}"
    for name in names:
        nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        first = code[0]
        assert 'os.environ.get("LAMINA_QUICK") == "1"' in first.source, name
        assert "parameters" in first.metadata.get("tags", []), name  # papermill's tag
        assert all(not c.outputs for c in code), f"{name} is stored with outputs"
        assert any("import lamina as keras" in c.source for c in code), name


@pytest.mark.parametrize("name", _notebook_names())
def test_notebook_runs_learns_and_plots_inline(name, tmp_path):
    bounds, min_plots = CHECKS[name]
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    _execute(nb, NOTEBOOKS, _kernel_env(tmp_path))
    text = _text(nb)
    for bound in bounds:
        match = re.search(bound.pattern, text)
        assert match is not None, f"{bound.pattern!r} not in:\n{text[-3000:]}"
        value = float(match.group(1))
        if bound.at_least is not None:
            assert value >= bound.at_least, f"{bound.pattern}: {value}\n{text[-3000:]}"
        if bound.at_most is not None:
            assert value <= bound.at_most, f"{bound.pattern}: {value}\n{text[-3000:]}"
    assert _png_count(nb) >= min_plots, f"{_png_count(nb)} inline PNGs, expected {min_plots}"


# -- the progress bar inside a kernel, against Keras 3's -------------------------------
_SETUP = """
import io, os, sys, time
import numpy as np
from lamina.utils.progbar import Progbar

x = np.random.default_rng(0).random((240, 4)).astype("float32")
y = x.sum(axis=1, keepdims=True)
print("prefix:", sys.prefix)
print("in place:", Progbar(3).dynamic_display, "on a file:", Progbar(3, file=io.StringIO()).dynamic_display)
"""
# 30 steps of >= 20 ms per epoch: the bar (redrawn at most every 50 ms) updates several times
_FIT = """
import {module} as keras

class Slow(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        time.sleep(0.02)

model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
model.compile(optimizer="sgd", loss="mse"{extra})
model.fit(x, y, batch_size=8, epochs=3, verbose=1, callbacks=[Slow()])
"""
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _rendered(text: str) -> list[str]:
    """The lines a notebook front end shows for a stream: a backspace erases one character,
    a carriage return goes back to the start of the line (what follows replaces it)."""
    lines = []
    for raw in _ANSI.sub("", text).split("\n"):
        chars: list[str] = []
        for ch in raw:
            if ch == "\r":
                chars = []
            elif ch == "\b":
                chars = chars[:-1]
            else:
                chars.append(ch)
        if "".join(chars).strip():
            lines.append("".join(chars).strip())
    return lines


def _stdout(cell: nbformat.NotebookNode) -> str:
    return "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


def _kind(line: str) -> str:
    """'epoch', 'final' (the finished bar with the loss) or the line itself (unexpected)."""
    if re.fullmatch(r"Epoch \d/3", line):
        return "epoch"
    if re.fullmatch(r"30/30 \S+ \d+s \d+m?s/step - loss: \d\.\d{4}(e-\d+)?", line):
        return "final"
    return line


def test_progress_bar_redraws_in_place_in_a_kernel_like_keras(tmp_path):
    cells = [_SETUP, _FIT.format(module="lamina", extra=", jit_compile=False")]
    cells.append('os.environ["KERAS_BACKEND"] = "torch"\n' + _FIT.format(module="keras", extra=""))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    _execute(nb, tmp_path, _kernel_env(tmp_path))
    setup, ours, keras_cell = (_stdout(c) for c in nb.cells)
    # the kernel runs this interpreter's environment; the bar redraws only on the kernel's stream
    assert f"prefix: {sys.prefix}\n" in setup
    assert "in place: True on a file: False" in setup
    # in place: carriage returns while running, and only one line break per printed line
    assert ours.count("\r") > 3, repr(ours)
    assert ours.count("\n") == 6, repr(ours)
    shown = _rendered(ours)
    assert [_kind(line) for line in shown] == ["epoch", "final"] * 3, shown
    # Keras 3's bar, drawn by the same front end, shows the same lines
    assert [_kind(line) for line in _rendered(keras_cell)] == ["epoch", "final"] * 3, keras_cell
