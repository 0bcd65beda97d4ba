"""Keras's documentation examples, run as Keras wrote them and with only the import changed.

Each file in tests/keras_examples/ is Keras 3 code from keras.io (MNIST or generated data,
no download). The test swaps `keras` for `lamina` in the import lines and nothing else,
shrinks the epochs and the data to what the suite can afford, runs it, and checks the
outcome; where Keras 3 (torch backend) can run the same file here, it runs too and the
two outcomes are compared. MNIST comes from Lamina's offline copy for both.
"""

from __future__ import annotations

import os
import re
import sys
import types
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest

import lamina

keras = pytest.importorskip("keras")

EXAMPLES = Path(__file__).parent / "keras_examples"
_IMPORT = re.compile(r"^(import keras|from keras(\.\w+)* import .*)$", re.MULTILINE)


def lamina_source(text: str) -> str:
    """The example with `keras` replaced by `lamina` in its import lines, and only there."""
    swapped = _IMPORT.sub(
        lambda m: (
            m.group(0)
            .replace("import keras", "import lamina as keras")
            .replace("from keras", "from lamina")
        ),
        text,
    )
    changed = [a for a, b in zip(text.splitlines(), swapped.splitlines()) if a != b]
    assert changed and all(_IMPORT.fullmatch(line) for line in changed)
    return swapped


def run_example(name: str, lib: str, epochs: int, n_train: int, n_test: int, monkeypatch) -> Any:
    """Run tests/keras_examples/<name>.py under `lib` ('keras' or 'lamina'); its RESULT."""
    text = (EXAMPLES / f"{name}.py").read_text()
    text, count = re.subn(r"^epochs = \d+$", f"epochs = {epochs}", text, flags=re.MULTILINE)
    assert count == 1
    if lib == "lamina":
        text = lamina_source(text)
    (x_train, y_train), (x_test, y_test) = lamina.datasets.mnist.load_data()
    subset = ((x_train[:n_train], y_train[:n_train]), (x_test[:n_test], y_test[:n_test]))
    # Keras's copy would be downloaded: both libraries read the same offline arrays.
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda *a, **k: subset)
    monkeypatch.setattr(lamina.datasets.mnist, "load_data", lambda *a, **k: subset)
    keras.utils.set_random_seed(0)
    lamina.utils.set_random_seed(0)
    module = types.ModuleType(f"keras_example_{name}_{lib}")
    monkeypatch.setitem(sys.modules, module.__name__, module)  # torch.compile looks it up
    exec(compile(text, str(EXAMPLES / f"{name}.py"), "exec"), module.__dict__)  # noqa: S102
    return module.RESULT


def test_only_import_lines_change() -> None:
    text = (EXAMPLES / "vae.py").read_text()
    swapped = lamina_source(text)
    assert "import lamina as keras" in swapped and "from lamina import layers, ops" in swapped
    assert len(swapped.splitlines()) == len(text.splitlines())


def test_mnist_convnet(monkeypatch) -> None:
    ours = run_example("mnist_convnet", "lamina", 2, 6000, 2000, monkeypatch)
    theirs = run_example("mnist_convnet", "keras", 2, 6000, 2000, monkeypatch)
    assert ours["params"] == theirs["params"] == 34826
    assert ours["accuracy"] >= 0.85, ours  # Keras 3 reached 0.89 on this budget here
    assert ours["accuracy"] >= theirs["accuracy"] - 0.03, (ours, theirs)


def test_denoising_autoencoder(monkeypatch) -> None:
    ours = run_example("denoising_autoencoder", "lamina", 3, 3000, 500, monkeypatch)
    theirs = run_example("denoising_autoencoder", "keras", 3, 3000, 500, monkeypatch)
    assert ours["params"] == theirs["params"] == 28353
    # 3 epochs on 3,000 images (the example: 50 on 60,000); Keras 3 reached 0.052 here
    assert ours["denoised_mse"] < 0.8 * ours["noisy_mse"], ours
    assert ours["denoised_mse"] <= theirs["denoised_mse"] * 1.3, (ours, theirs)


def test_vae_with_custom_train_step(monkeypatch) -> None:
    ours = run_example("vae", "lamina", 3, 3000, 1000, monkeypatch)
    assert ours["z_mean_shape"] == (256, 2)
    assert np.isfinite(ours["reconstruction_loss"]).all()
    assert ours["loss"][-1] < 0.6 * ours["loss"][0], ours  # 410 -> 213 here
    # Keras 3.15 on torch cannot fit the example as written: the VAE defines no call(), and
    # Keras's fit builds a model by calling it (docs/keras_differences.md).
    with pytest.raises(RuntimeError, match="Unable to automatically build the model"):
        run_example("vae", "keras", 1, 256, 10, monkeypatch)


def test_custom_layers_guide(monkeypatch) -> None:
    # The guide's own asserts run inside (weights, losses reset per call, dropout, config).
    ours = run_example("custom_layers_guide", "lamina", 2, 4000, 10, monkeypatch)
    theirs = run_example("custom_layers_guide", "keras", 2, 4000, 10, monkeypatch)
    assert ours["loss"][-1] < ours["loss"][0]
    assert ours["loss"][-1] <= theirs["loss"][-1] * 1.2, (ours, theirs)


def test_endpoint_layer_called_on_two_tensors(monkeypatch) -> None:
    ours = run_example("endpoint_layer", "lamina", 1, 10, 10, monkeypatch)
    theirs = run_example("endpoint_layer", "keras", 1, 10, 10, monkeypatch)
    assert ours["keys"] == theirs["keys"] == ["loss"]
    assert ours["output_shape"] == theirs["output_shape"] == (None, 10)
    assert 0.3 < ours["loss"] < 1.5 and 0.3 < theirs["loss"] < 1.5  # BCE near log 2 at the start
