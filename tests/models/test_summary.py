"""`summary()` of a subclassed model shows each layer's output shape (issue 12).

It showed "?" for every layer even after `fit`. Shapes are recorded when a layer is first
called (and again when its input shape changes). Keras 3 shows, for the same model, the
first batch's size as the batch dimension and "?" for layers without a `build` (Dropout);
Lamina shows `None` for the batch dimension, as in its functional and Sequential tables,
and a shape for every layer that ran.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import lamina  # noqa: E402


def _net(lib):
    L = lib.layers

    class Net(lib.Model):
        def __init__(self):
            super().__init__()
            self.hidden = L.Dense(16, activation="relu")
            self.drop = L.Dropout(0.1)
            self.out = L.Dense(3, activation="softmax")

        def call(self, x, training=None):
            return self.out(self.drop(self.hidden(x), training=training))

    return Net()


def _rows(model) -> dict[str, str]:
    """Layer name -> the Output Shape cell of its summary row."""
    lines: list[str] = []
    model.summary(print_fn=lambda s, **kw: lines.extend(s.splitlines()))
    rows = {}
    for line in lines:
        cells = [c.strip() for c in line.strip("│").split("│")]
        if len(cells) >= 3 and "(" in cells[0]:
            rows[cells[0].split(" ")[0]] = cells[1]
    return rows


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(20, 8)).astype("float32"), rng.integers(0, 3, size=20)


def test_subclassed_summary_after_fit_matches_keras_shapes():
    x, y = _data()
    k, m = _net(keras), _net(lamina)
    for model in (k, m):
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(x, y, epochs=1, verbose=0)
    got = _rows(m)
    assert list(got.values()) == ["(None, 16)", "(None, 16)", "(None, 3)"]
    want = _rows(k)
    for (k_name, k_shape), m_shape in zip(want.items(), got.values()):
        if k_shape != "?":  # Keras: (20, 16), the first batch's size
            assert k_shape.split(",", 1)[1] == m_shape.split(",", 1)[1], k_name


def test_subclassed_summary_after_build_or_a_call():
    built = _net(lamina)
    built.build((None, 8))
    assert list(_rows(built).values()) == ["(None, 16)", "(None, 16)", "(None, 3)"]
    called = _net(lamina)
    called(np.zeros((2, 8), "float32"))
    assert list(_rows(called).values()) == ["(None, 16)", "(None, 16)", "(None, 3)"]


def test_unbuilt_subclassed_summary_shows_unknown_shapes():
    assert list(_rows(_net(lamina)).values()) == ["?", "?", "?"]


def test_nested_and_image_layers_record_shapes():
    L = lamina.layers

    class Block(lamina.Model):
        def __init__(self):
            super().__init__()
            self.conv = L.Conv2D(4, 3, padding="same")
            self.pool = L.GlobalAveragePooling2D()

        def call(self, x):
            return self.pool(self.conv(x))

    class Outer(lamina.Model):
        def __init__(self):
            super().__init__()
            self.block = Block()
            self.head = L.Dense(2)

        def call(self, x):
            return self.head(self.block(x))

    model = Outer()
    model(np.zeros((3, 6, 6, 1), "float32"))
    assert list(_rows(model).values()) == ["(None, 4)", "(None, 2)"]
    assert list(_rows(model.block).values()) == ["(None, 6, 6, 4)", "(None, 4)"]
    # A new input shape is recorded again.
    model(np.zeros((3, 5, 5, 1), "float32"))
    assert list(_rows(model.block).values())[0] == "(None, 5, 5, 4)"
