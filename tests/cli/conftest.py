"""Fixtures of the command-line tests: MNIST's test set and a tiny trained classifier
saved in every format."""

from __future__ import annotations

import numpy as np
import pytest

import lamina as keras
from lamina import layers
from lamina.datasets import mnist
from tests.cli.cli_helpers import FORMATS, Saved, summary_text


@pytest.fixture(scope="session")
def mnist_test() -> tuple[np.ndarray, np.ndarray]:
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    return x_test, y_test


@pytest.fixture(scope="session")
def saved(tmp_path_factory, mnist_test) -> Saved:
    """Flatten-Dense(16)-Dense(10, softmax) with one-hot labels, one epoch on 2,000 images."""
    (x_train, y_train), _ = mnist.load_data()
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            layers.Input((28, 28, 1)),
            layers.Flatten(),
            layers.Dense(16, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ],
        name="tiny_mnist",
    )
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"], jit_compile=False)
    x = x_train[:2000, :, :, None].astype("float32") / 255
    model.fit(x, np.eye(10, dtype="float32")[y_train[:2000]], epochs=1, batch_size=64, verbose=0)
    folder = tmp_path_factory.mktemp("cli_models")
    files = {fmt: folder / f"tiny.{fmt}" for fmt in FORMATS}
    for path in files.values():
        model.save(path)
    return Saved(model, files, summary_text(model), folder)
