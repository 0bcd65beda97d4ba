"""Keras 3 itself (torch backend) as the reference: same weights, same predictions,
same parameter counts and the same summary table."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import lamina  # noqa: E402
from lamina import layers  # noqa: E402


def _cnn(lib):
    L = lib.layers
    return lib.Sequential(
        [
            L.Input((12, 12, 3))
            if lib is keras
            else L.Conv2D(8, 3, padding="same", activation="relu", input_shape=(12, 12, 3)),
            *([L.Conv2D(8, 3, padding="same", activation="relu")] if lib is keras else []),
            L.BatchNormalization(),
            L.Conv2D(6, (3, 3), strides=2, padding="same", activation="tanh"),
            L.MaxPooling2D((2, 2)),
            L.Flatten(),
            L.Dense(16, activation="relu"),
            L.Dropout(0.5),
            L.Dense(5, activation="softmax"),
        ]
    )


def test_keras_weights_give_keras_predictions():
    k = _cnn(keras)
    rng = np.random.default_rng(0)
    # Non-trivial BatchNorm statistics so inference mode is really checked.
    w = k.get_weights()
    w = [rng.normal(size=a.shape).astype("float32") * 0.3 for a in w]
    w[3] = np.abs(w[3]) + 0.5  # moving variance (conv kernel, bias, gamma, beta, mean, var)
    w[5] = np.abs(w[5]) + 0.5
    k.set_weights(w)
    m = _cnn(lamina)
    assert [a.shape for a in m.get_weights()] == [a.shape for a in k.get_weights()]
    m.set_weights(k.get_weights())
    x = rng.normal(size=(7, 12, 12, 3)).astype("float32")
    np.testing.assert_allclose(m.predict(x, verbose=0), k.predict(x, verbose=0), atol=1e-5)
    assert m.count_params() == k.count_params()
    for got, want in zip(m.get_weights(), k.get_weights()):
        np.testing.assert_array_equal(got, want)


def test_summary_matches_keras_table():
    k = keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Dense(200, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    m = lamina.Sequential(
        [
            layers.Dense(200, activation="relu", input_shape=(784,)),
            layers.Dense(10, activation="softmax"),
        ]
    )
    k_lines, m_lines = [], []
    k.summary(print_fn=lambda s, **kw: k_lines.extend(s.splitlines()))
    m.summary(print_fn=m_lines.append)

    def rows(lines):
        return [
            [c.strip() for c in line.strip("│").split("│")]
            for line in lines
            if line.startswith("│")
        ]

    k_rows, m_rows = rows(k_lines), rows(m_lines)
    assert [r[1:] for r in m_rows] == [r[1:] for r in k_rows]
    assert [r[0].split(" (")[1] for r in m_rows] == [r[0].split(" (")[1] for r in k_rows]
    totals = [ln.strip() for ln in k_lines if "params" in ln]
    assert [ln.strip() for ln in m_lines if "params" in ln] == totals
