"""MNIST as the examples feed it: float32 pixels in [0, 1], one-hot labels (the leading
underscore keeps this helper out of `lamina examples`).

from _mnist import load_mnist
(x_train, y_train), (x_test, y_test) = load_mnist((784,), train=10_000)
"""

from __future__ import annotations

import numpy as np

from lamina.datasets import mnist
from lamina.utils import to_categorical


def load_mnist(
    shape: tuple[int, ...], train: int | None = None, test: int | None = None
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Each image reshaped to `shape` ((784,) for a dense network, (28, 28, 1) for a CNN),
    scaled to [0, 1]; the first `train` training and `test` test images when given."""
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    x_train, y_train = x_train[:train], y_train[:train]
    x_test, y_test = x_test[:test], y_test[:test]
    x_train = x_train.reshape(len(x_train), *shape).astype("float32") / 255.0
    x_test = x_test.reshape(len(x_test), *shape).astype("float32") / 255.0
    return (x_train, to_categorical(y_train, 10)), (x_test, to_categorical(y_test, 10))
