"""A functional model lists its layers (and so its weights) in Keras 3's order, for any graph."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
import numpy as np
import pytest

import lamina


def residual(lib):
    x = lib.Input((8, 8, 3), name="img")
    shortcut = lib.layers.Conv2D(4, 1, name="proj")(x)
    y = lib.layers.Conv2D(4, 3, padding="same", name="c1")(x)
    y = lib.layers.BatchNormalization(name="bn1")(y)
    y = lib.layers.Activation("relu", name="r1")(y)
    y = lib.layers.Conv2D(4, 3, padding="same", name="c2")(y)
    out = lib.layers.Add(name="add")([shortcut, y])
    return lib.Model(x, lib.layers.GlobalAveragePooling2D(name="gap")(out))


def two_inputs(lib):
    a, b = lib.Input((4,), name="a"), lib.Input((2,), name="b")
    h = lib.layers.Concatenate(name="cat")([lib.layers.Dense(6, name="ha")(a), b])
    deep = lib.layers.Dense(5, name="d2")(lib.layers.Dense(5, name="d1")(h))
    return lib.Model(
        [a, b], [lib.layers.Dense(3, name="cls")(deep), lib.layers.Dense(1, name="reg")(h)]
    )


def shared_layer(lib):
    a, b = lib.Input((4,), name="a"), lib.Input((4,), name="b")
    shared = lib.layers.Dense(3, name="shared")
    left = lib.layers.Dense(3, name="left")(shared(a))
    return lib.Model([a, b], lib.layers.Add(name="sum")([left, shared(b)]))


def nested(lib):
    inner_in = lib.Input((5,), name="inner_in")
    inner = lib.Model(inner_in, lib.layers.Dense(2, name="inner_d")(inner_in), name="inner")
    x = lib.Input((5,), name="x")
    skip = lib.layers.Dense(2, name="skip")(x)
    return lib.Model(x, lib.layers.Add(name="join")([inner(x), skip]))


def inception_like(lib):
    x = lib.Input((8, 8, 3), name="x")
    branches = [lib.layers.Conv2D(2, 1, name="b1")(x)]
    branches.append(
        lib.layers.Conv2D(2, 3, padding="same", name="b2b")(lib.layers.Conv2D(2, 1, name="b2a")(x))
    )
    pooled = lib.layers.AveragePooling2D(3, 1, padding="same", name="pool")(x)
    branches.append(lib.layers.Conv2D(2, 1, name="b3")(pooled))
    return lib.Model(x, lib.layers.Concatenate(name="mixed")(branches))


GRAPHS = [residual, two_inputs, shared_layer, nested, inception_like]


@pytest.mark.parametrize("graph", GRAPHS, ids=lambda g: g.__name__)
def test_layers_and_weights_come_in_keras_order(graph):
    theirs, ours = graph(keras), graph(lamina)
    assert [la.name for la in ours.layers] == [la.name for la in theirs.layers]
    assert [np.shape(w) for w in ours.get_weights()] == [tuple(w.shape) for w in theirs.weights]
    # so Keras's weight list loads positionally, and both compute the same
    ours.set_weights(theirs.get_weights())
    inputs = [
        np.random.default_rng(i).normal(size=(2, *t.shape[1:])).astype("float32")
        for i, t in enumerate(theirs.inputs)
    ]
    feed = inputs[0] if len(inputs) == 1 else inputs
    got, want = ours.predict(feed, verbose=0), theirs.predict(feed, verbose=0)
    got, want = (got, want) if isinstance(want, list) else ([got], [want])
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


def test_config_lists_layers_in_the_same_order():
    model = residual(lamina)
    assert [e["name"] for e in model.get_config()["layers"]] == [la.name for la in model.layers]
