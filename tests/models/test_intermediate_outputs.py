"""Intermediate outputs and feature maps: `Model(model.inputs, model.layers[i].output)`.

Every model kind exposes its symbolic graph as Keras 3 does: `model.inputs`, `model.outputs`,
`model.input`, `model.output`, and each layer's `input` / `output` (the tensors of the one
call that connected it). Feature maps are checked against a manual forward pass through the
same layers, and against Keras 3 itself with the same weights.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest
import torch

import lamina
from lamina import layers

RNG = np.random.default_rng(0)


def _manual(layer_list, x):
    """Run `x` through `layer_list` one layer at a time (inference mode)."""
    out = torch.from_numpy(x)
    with torch.no_grad():
        for layer in layer_list:
            out = layer(out, training=False)
    return out.numpy()


def _cnn_layers():
    return [
        layers.Conv2D(4, 3, activation="relu", input_shape=(10, 10, 3)),
        layers.Conv2D(6, 3, padding="same", activation="tanh"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(5, activation="softmax"),
    ]


def test_sequential_from_a_list_with_input_shape_gives_feature_maps():
    model = lamina.Sequential(_cnn_layers())
    x = RNG.normal(size=(4, 10, 10, 3)).astype("float32")
    assert len(model.inputs) == 1 and model.inputs[0].shape == (None, 10, 10, 3)
    assert model.outputs[0].shape == (None, 5)
    for i in range(len(model.layers)):
        extractor = lamina.Model(model.inputs, model.layers[i].output)
        got = extractor.predict(x, verbose=0)
        np.testing.assert_allclose(got, _manual(model.layers[: i + 1], x), atol=1e-5)
    # the extractor shares the model's layers (and so its weights)
    extractor = lamina.Model(model.inputs, model.layers[1].output)
    assert extractor.layers[1] is model.layers[0] and extractor.layers[2] is model.layers[1]


def test_sequential_built_with_add_and_input_exposes_its_graph():
    inp = lamina.Input((6,), name="features")
    model = lamina.Sequential()
    model.add(inp)
    model.add(layers.Dense(5, activation="relu", name="h1"))
    model.add(layers.Dense(4, activation="tanh", name="h2"))
    model.add(layers.Dense(2, name="out"))
    h1, h2, out = model.layers
    assert model.inputs == [inp] and model.input is inp
    assert model.outputs == [out.output] and model.output is out.output
    assert h1.input is inp and h2.input is h1.output and out.input is h2.output
    assert (h1.input_shape, h1.output_shape) == ((None, 6), (None, 5))
    assert model.input_shape == (None, 6) and model.output_shape == (None, 2)
    # each layer has exactly one node, however many times the Sequential rebuilt its graph
    assert [len(la._inbound_nodes) for la in model.layers] == [1, 1, 1]

    extractor = lamina.Model(model.input, [la.output for la in model.layers])
    x = RNG.normal(size=(7, 6)).astype("float32")
    got = extractor.predict(x, verbose=0)
    for i, g in enumerate(got):
        np.testing.assert_allclose(g, _manual(model.layers[: i + 1], x), atol=1e-5)
    np.testing.assert_allclose(got[-1], model.predict(x, verbose=0), atol=1e-6)


def test_sequential_pop_and_add_keep_one_node_per_layer():
    model = lamina.Sequential([layers.Dense(4, input_shape=(3,)), layers.Dense(2)])
    model.pop()
    assert model.output is model.layers[-1].output and model.output_shape == (None, 4)
    model.add(layers.Dense(7))
    assert model.output.shape == (None, 7) and model.output is model.layers[-1].output
    assert [len(la._inbound_nodes) for la in model.layers] == [1, 1]
    x = RNG.normal(size=(2, 3)).astype("float32")
    np.testing.assert_allclose(
        lamina.Model(model.inputs, model.layers[0].output).predict(x, verbose=0),
        _manual(model.layers[:1], x),
        atol=1e-6,
    )


def test_sequential_without_input_shape_gets_its_graph_when_first_called():
    model = lamina.Sequential([layers.Dense(4), layers.Dense(2)])
    with pytest.raises(ValueError, match="Sequential 'sequential.*input shape"):
        _ = model.inputs
    with pytest.raises(ValueError, match="Layer 'dense.*never been called"):
        _ = model.layers[0].output
    x = RNG.normal(size=(3, 5)).astype("float32")
    model.predict(x, verbose=0)
    assert model.inputs[0].shape == (None, 5)
    got = lamina.Model(model.inputs, model.layers[0].output).predict(x, verbose=0)
    np.testing.assert_allclose(got, _manual(model.layers[:1], x), atol=1e-6)
    # built inside predict's inference mode, its weights still take set_weights
    model.set_weights([w + 1 for w in model.get_weights()])


def test_functional_model_input_output_and_intermediate_layers():
    a = lamina.Input((4,), name="a")
    b = lamina.Input((3,), name="b")
    h = layers.Dense(5, activation="relu", name="h")(a)
    cat = layers.Concatenate(name="cat")([h, b])
    y = layers.Dense(2, name="y")(cat)
    model = lamina.Model([a, b], y)
    assert model.input == [a, b] and model.inputs == [a, b]
    assert model.output is y and model.outputs == [y]
    assert model.input_shape == [(None, 4), (None, 3)] and model.output_shape == (None, 2)
    assert model.get_layer("cat").input == [h, b] and model.get_layer("cat").output is cat
    assert model.get_layer("h").input_shape == (None, 4)
    assert model.get_layer("a").input is a and model.get_layer("a").output is a

    extractor = lamina.Model(model.inputs, [model.get_layer("h").output, cat])
    xa = RNG.normal(size=(5, 4)).astype("float32")
    xb = RNG.normal(size=(5, 3)).astype("float32")
    got_h, got_cat = extractor.predict([xa, xb], verbose=0)
    want_h = _manual([model.get_layer("h")], xa)
    np.testing.assert_allclose(got_h, want_h, atol=1e-6)
    np.testing.assert_allclose(got_cat, np.concatenate([want_h, xb], axis=1), atol=1e-6)
    # a single-input model given its input as a tensor returns a tensor, as Keras does
    single = lamina.Model(a, h)
    assert single.input is a and single.input_shape == (None, 4)


def test_sequential_inside_a_functional_model():
    inner = lamina.Sequential(
        [layers.Dense(6, activation="relu", input_shape=(4,)), layers.Dense(3)], name="inner"
    )
    x_in = lamina.Input((4,))
    z = inner(x_in)
    out = layers.Dense(1, name="head")(z)
    outer = lamina.Model(x_in, out)
    x = RNG.normal(size=(5, 4)).astype("float32")
    # the nested model's output in the outer graph (its one call there)
    assert outer.layers[1] is inner and inner.output is z
    got = lamina.Model(outer.inputs, outer.layers[1].output).predict(x, verbose=0)
    np.testing.assert_allclose(got, _manual(inner.layers, x), atol=1e-6)
    # a feature extractor over a layer of the nested model, from that model's inputs
    assert [len(la._inbound_nodes) for la in inner.layers] == [1, 1]
    got = lamina.Model(inner.inputs, inner.layers[0].output).predict(x, verbose=0)
    np.testing.assert_allclose(got, _manual(inner.layers[:1], x), atol=1e-6)


def test_functional_model_inside_a_sequential_model():
    a = lamina.Input((4,))
    inner = lamina.Model(a, layers.Dense(6, activation="relu", name="inner_dense")(a), name="body")
    model = lamina.Sequential([inner, layers.Dense(2, name="head")])
    # the functional model's input shape builds the Sequential, as in Keras
    assert model.input_shape == (None, 4) and model.inputs[0].shape == (None, 4)
    x = RNG.normal(size=(3, 4)).astype("float32")
    got = lamina.Model(model.inputs, model.layers[1].output).predict(x, verbose=0)
    np.testing.assert_allclose(got, _manual(model.layers, x), atol=1e-6)
    got = lamina.Model(inner.input, inner.get_layer("inner_dense").output).predict(x, verbose=0)
    np.testing.assert_allclose(got, _manual([inner.get_layer("inner_dense")], x), atol=1e-6)
    # a functional model's `output` is its own graph's (Keras 3), not connected to the
    # Sequential's input: Keras 3 refuses this extractor too, Lamina says what to build
    with pytest.raises(ValueError, match="not connected to `inputs`.*Model\\(body.inputs"):
        lamina.Model(model.inputs, model.layers[0].output)
    np.testing.assert_allclose(
        lamina.Model(model.inputs, model.outputs).predict(x, verbose=0),
        model.predict(x, verbose=0),
        atol=1e-6,
    )


def test_extractor_from_the_outer_inputs_to_a_nested_layer_is_explained():
    a = lamina.Input((4,))
    inner = lamina.Model(a, layers.Dense(3, name="deep")(a), name="body")
    x_in = lamina.Input((4,))
    outer = lamina.Model(x_in, layers.Dense(1)(inner(x_in)))
    # Keras 3 refuses this too: the nested layer's output is in the nested model's graph
    with pytest.raises(ValueError, match="not connected to `inputs`.*Model\\(body.inputs"):
        lamina.Model(outer.inputs, inner.get_layer("deep").output)


def test_layer_output_errors_name_the_layer():
    with pytest.raises(ValueError, match="Layer 'lonely'.*never been called"):
        _ = layers.Dense(2, name="lonely").output
    with pytest.raises(ValueError, match="Layer 'lonely2'.*never been called"):
        _ = layers.Dense(2, name="lonely2").input
    shared = layers.Dense(2, name="shared")
    a, b = lamina.Input((3,)), lamina.Input((3,))
    shared(a)
    shared(b)
    with pytest.raises(ValueError, match="Layer 'shared'.*2 inbound nodes"):
        _ = shared.output
    with pytest.raises(ValueError, match="Layer 'shared'.*2 inbound nodes"):
        _ = shared.input
    assert shared.input_shape == (None, 3) and shared.output_shape == (None, 2)


keras = pytest.importorskip("keras")


def test_conv_feature_maps_match_keras_with_the_same_weights():
    def build(lib):
        L = lib.layers
        return lib.Sequential(
            [
                L.Input((10, 10, 3)),
                L.Conv2D(4, 3, activation="relu"),
                L.Conv2D(6, 3, padding="same", activation="tanh"),
                L.MaxPooling2D(2),
                L.Flatten(),
                L.Dense(5, activation="softmax"),
            ]
        )

    k, m = build(keras), build(lamina)
    weights = [RNG.normal(size=w.shape).astype("float32") * 0.3 for w in k.get_weights()]
    k.set_weights(weights)
    m.set_weights(weights)
    x = RNG.normal(size=(4, 10, 10, 3)).astype("float32")
    want = keras.Model(k.inputs, k.layers[1].output).predict(x, verbose=0)
    got = lamina.Model(m.inputs, m.layers[1].output).predict(x, verbose=0)
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert [tuple(la.output.shape) for la in m.layers] == [
        tuple(la.output.shape) for la in k.layers
    ]
    assert m.input_shape == k.input_shape and m.output_shape == k.output_shape
    every_k = keras.Model(k.inputs, [la.output for la in k.layers]).predict(x, verbose=0)
    every_m = lamina.Model(m.inputs, [la.output for la in m.layers]).predict(x, verbose=0)
    for got, want in zip(every_m, every_k):
        np.testing.assert_allclose(got, want, atol=1e-5)
