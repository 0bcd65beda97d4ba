"""Model configs through JSON: every model kind rebuilds from `get_config()` / `to_json()`.

A rebuilt model has an equal config and, with the original's weights, equal predictions.
Functional configs use Keras 3's layout (`layers` with `inbound_nodes`, `input_layers`,
`output_layers`), so a config written by Keras 3 loads too. Loading resolves classes only
through `lamina.registry`: a config cannot import or run code.
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest

import lamina
from lamina import layers, registry
from lamina.models import Functional, Sequential, model_from_json

RNG = np.random.default_rng(0)


def _via_json(config):
    return json.loads(json.dumps(config))


def _check_round_trip(model, x, kind=None):
    """Rebuild `model` from its JSON config and compare config and predictions."""
    config = _via_json(model.get_config())
    rebuilt = lamina.Model.from_config(config)
    assert type(rebuilt) is (kind or type(model))
    assert _via_json(rebuilt.get_config()) == config
    rebuilt.set_weights(model.get_weights())
    want = model.predict(x, verbose=0)
    got = rebuilt.predict(x, verbose=0)
    for g, w in zip(
        got if isinstance(got, list) else [got], want if isinstance(want, list) else [want]
    ):
        np.testing.assert_allclose(g, w, atol=1e-6)
    # and through to_json / model_from_json
    again = model_from_json(model.to_json())
    assert type(again) is type(rebuilt)
    assert _via_json(again.get_config()) == config
    return rebuilt


def test_sequential_round_trips_through_json():
    model = lamina.Sequential(
        [
            layers.Conv2D(4, 3, activation="relu", input_shape=(8, 8, 2)),
            layers.BatchNormalization(),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dropout(0.2),
            layers.Dense(3, activation="softmax"),
        ]
    )
    x = RNG.normal(size=(5, 8, 8, 2)).astype("float32")
    rebuilt = _check_round_trip(model, x)
    assert rebuilt.input_shape == (None, 8, 8, 2)
    # built with .add() and an Input whose name and dtype the config keeps
    model = lamina.Sequential(name="added")
    model.add(lamina.Input((6,), name="features"))
    model.add(layers.Dense(4, activation="relu"))
    model.add(layers.Dense(2))
    rebuilt = _check_round_trip(model, RNG.normal(size=(3, 6)).astype("float32"))
    assert rebuilt.name == "added" and rebuilt.inputs[0].node.layer.name == "features"


def _two_in_two_out():
    a = lamina.Input((4,), name="a")
    b = lamina.Input((4,), name="b")
    shared = layers.Dense(5, activation="tanh", name="shared")  # one layer, called twice
    ha, hb = shared(a), shared(b)
    cat = layers.Concatenate(name="cat")([ha, hb])
    added = layers.Add(name="add")([ha, hb])
    h = layers.Concatenate(name="cat2")([cat, added])
    cls = layers.Dense(3, activation="softmax", name="cls")(h)
    reg = layers.Dense(1, name="reg")(h)
    return lamina.Model([a, b], [cls, reg], name="two_heads")


def test_functional_round_trip_with_shared_and_merge_layers_and_several_heads():
    model = _two_in_two_out()
    config = _via_json(model.get_config())
    shared = next(e for e in config["layers"] if e["name"] == "shared")
    assert len(shared["inbound_nodes"]) == 2
    assert config["input_layers"] == [["a", 0, 0], ["b", 0, 0]]
    assert config["output_layers"] == [["cls", 0, 0], ["reg", 0, 0]]
    x = [RNG.normal(size=(6, 4)).astype("float32") for _ in range(2)]
    rebuilt = _check_round_trip(model, x, kind=Functional)
    assert rebuilt.name == "two_heads" and len(rebuilt.get_layer("shared")._inbound_nodes) == 2
    assert rebuilt.input_names == ["a", "b"] and rebuilt.output_names == ["cls", "reg"]
    # the rebuilt model trains like the original
    rebuilt.compile("adam", loss=["sparse_categorical_crossentropy", "mse"], device="cpu")
    rebuilt.fit(x, [np.zeros(6, "int64"), np.zeros((6, 1), "float32")], epochs=1, verbose=0)


def test_functional_with_a_single_input_tensor_and_a_dict_of_outputs():
    x_in = lamina.Input((3,), name="x")
    h = layers.Dense(4, name="h")(x_in)
    model = lamina.Model(x_in, {"left": layers.Dense(1, name="l")(h), "right": h})
    config = _via_json(model.get_config())
    assert config["input_layers"] == ["x", 0, 0]
    assert config["output_layers"] == {"left": ["l", 0, 0], "right": ["h", 0, 0]}
    rebuilt = lamina.Model.from_config(config)
    rebuilt.set_weights(model.get_weights())
    x = RNG.normal(size=(2, 3)).astype("float32")
    got, want = rebuilt(x), model(x)
    assert set(got) == {"left", "right"}
    for key in want:
        np.testing.assert_allclose(got[key].detach(), want[key].detach(), atol=1e-6)


def test_nested_models_round_trip():
    # a Sequential inside a functional model
    seq = lamina.Sequential(
        [layers.Dense(6, activation="relu", input_shape=(4,)), layers.Dense(3)], name="seq"
    )
    x_in = lamina.Input((4,), name="x")
    outer = lamina.Model(x_in, layers.Dense(2, name="head")(seq(x_in)), name="outer")
    x = RNG.normal(size=(5, 4)).astype("float32")
    _check_round_trip(outer, x, kind=Functional)

    # a functional model inside a Sequential
    a = lamina.Input((4,), name="a")
    body = lamina.Model(a, layers.Dense(6, activation="relu", name="b1")(a), name="body")
    stacked = lamina.Sequential([body, layers.Dense(2, name="top")], name="stacked")
    _check_round_trip(stacked, x)

    # a functional model inside a functional model, called twice, and also an output itself
    # (Keras numbers a nested functional model's nodes from 1 in input/output_layers)
    p, q = lamina.Input((4,), name="p"), lamina.Input((4,), name="q")
    inner = lamina.Model(a, layers.Dense(3, name="inner_dense")(a), name="inner")
    merged = layers.Add(name="sum")([inner(p), inner(q)])
    model = lamina.Model([p, q], [merged, inner(p)], name="twice")
    config = _via_json(model.get_config())
    assert config["output_layers"][1] == ["inner", 3, 0]
    _check_round_trip(model, [x, x[::-1].copy()], kind=Functional)


@registry.register("layer", "TinyNet")
class TinyNet(lamina.Model):
    """A subclassed model with its own get_config, registered so configs can name it."""

    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden = layers.Dense(5, activation="relu")
        self.out = layers.Dense(units)

    def call(self, x):
        return self.out(self.hidden(x))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_registered_subclassed_model_round_trips_alone_and_nested():
    net = TinyNet(units=2, name="tiny")
    x = RNG.normal(size=(4, 3)).astype("float32")
    net(x)  # builds it
    config = _via_json(net.get_config())
    rebuilt = TinyNet.from_config(config)
    assert rebuilt.get_config() == config
    rebuilt(x)
    rebuilt.set_weights(net.get_weights())
    np.testing.assert_allclose(rebuilt.predict(x, verbose=0), net.predict(x, verbose=0))
    again = model_from_json(net.to_json())
    assert type(again) is TinyNet and again.units == 2

    inp = lamina.Input((3,), name="inp")
    outer = lamina.Model(inp, layers.Dense(1, name="head")(TinyNet(units=4, name="t4")(inp)))
    _check_round_trip(outer, x, kind=Functional)


def test_loading_a_config_resolves_classes_only_through_the_registry():
    model = lamina.Sequential([layers.Dense(2, input_shape=(3,))])
    config = _via_json(model.get_config())
    config["layers"][-1] = {"module": "os", "class_name": "system", "config": {"command": "x"}}
    with pytest.raises(ValueError, match="Expected a known layer name.*received: layer='system'"):
        lamina.Model.from_config(config)

    class Unregistered(layers.Dense):
        pass

    x_in = lamina.Input((3,), name="x")
    func = lamina.Model(x_in, Unregistered(2, name="u")(x_in))
    with pytest.raises(ValueError, match="lamina.registry.register\\('layer', 'Unregistered'\\)"):
        lamina.Model.from_config(_via_json(func.get_config()))
    # the caller may name classes explicitly, as in Keras
    rebuilt = model_from_json(func.to_json(), custom_objects={"Unregistered": Unregistered})
    assert type(rebuilt.get_layer("u")) is Unregistered


def test_config_errors_name_what_is_wrong():
    x_in = lamina.Input((3,), name="x")
    model = lamina.Model(x_in, layers.Dense(2, name="d")(x_in))
    config = _via_json(model.get_config())
    config["output_layers"] = [["missing", 0, 0]]
    with pytest.raises(ValueError, match="received: layer='missing'"):
        lamina.Model.from_config(config)
    with pytest.raises(ValueError, match="Model.from_config expected"):
        lamina.Model.from_config({"name": "x"})
    d1, d2 = layers.Dense(2, name="same"), layers.Dense(2, name="same")
    with pytest.raises(ValueError, match="unique layer names.*name='same'"):
        lamina.Model(x_in, d2(d1(x_in)))


keras = pytest.importorskip("keras")


def _copy_keras_weights(model, k):
    for layer in k.layers:
        if layer.weights:
            model.get_layer(layer.name).set_weights(layer.get_weights())


def test_keras_functional_config_loads_in_lamina():
    K = keras.layers
    a = keras.Input((4,), name="a")
    b = keras.Input((6, 6, 2), name="b")
    shared = K.Dense(5, activation="relu", name="shared")
    conv = K.Conv2D(3, 3, padding="same", activation="relu", name="conv")(b)
    flat = K.Flatten(name="flat")(K.MaxPooling2D(2, name="pool")(conv))
    cat = K.Concatenate(name="cat")([shared(a), K.Dense(5, name="proj")(flat)])
    summed = K.Add(name="sum")([shared(K.Dense(4, name="pre")(a)), cat[:, :5]])
    norm = K.BatchNormalization(name="bn")(summed)
    out1 = K.Dense(3, activation="softmax", name="cls")(K.Dropout(0.3, name="drop")(norm))
    out2 = K.Dense(1, name="reg")(cat)
    k = keras.Model([a, b], [out1, out2])
    # cat[:, :5] is a raw op (GetItem) Lamina has no layer for (arithmetic it replays)
    with pytest.raises(ValueError, match=r"received: keras\.src\.ops\.numpy\.GetItem"):
        lamina.Model.from_config(_via_json(k.get_config()))

    summed = K.Add(name="sum")([shared(K.Dense(4, name="pre")(a)), K.Dense(5, name="cut")(cat)])
    norm = K.BatchNormalization(name="bn")(summed)
    out1 = K.Dense(3, activation="softmax", name="cls")(K.Dropout(0.3, name="drop")(norm))
    k = keras.Model([a, b], [out1, K.Dense(1, name="reg")(cat)])
    # positive weights keep BatchNormalization's moving variance valid
    k.set_weights(
        [np.abs(RNG.normal(size=w.shape)).astype("float32") * 0.4 + 0.1 for w in k.weights]
    )
    model = lamina.Model.from_config(_via_json(k.get_config()))
    assert type(model) is Functional
    assert sorted(la.name for la in model.layers) == sorted(la.name for la in k.layers)
    _copy_keras_weights(model, k)
    x = [
        RNG.normal(size=(5, 4)).astype("float32"),
        RNG.normal(size=(5, 6, 6, 2)).astype("float32"),
    ]
    for got, want in zip(model.predict(x, verbose=0), k.predict(x, verbose=0)):
        np.testing.assert_allclose(got, want, atol=1e-5)
    # a Keras-written config rebuilds into a Lamina config that round-trips itself
    _check_round_trip(model, x, kind=Functional)


def test_keras_sequential_and_nested_configs_load_in_lamina():
    K = keras.layers
    seq = keras.Sequential(
        [keras.Input((5,)), K.Dense(4, activation="relu", name="s1"), K.Dense(2, name="s2")],
        name="inner_seq",
    )
    x_in = keras.Input((5,), name="x")
    k = keras.Model(x_in, K.Dense(1, name="head")(seq(x_in)))
    model = model_from_json(k.to_json())
    assert type(model) is Functional and type(model.get_layer("inner_seq")) is Sequential
    model.set_weights(k.get_weights())
    x = RNG.normal(size=(3, 5)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), k.predict(x, verbose=0), atol=1e-5)

    # a functional model nested in a functional one, and itself an output: Keras numbers
    # its calls from 1 in output_layers
    a = keras.Input((5,), name="a")
    body = keras.Model(a, K.Dense(3, name="body_dense")(a), name="body")
    k = keras.Model(x_in, [body(x_in), K.Dense(1, name="top")(body(x_in))])
    assert k.get_config()["output_layers"][0] == ["body", 1, 0]
    model = lamina.Model.from_config(_via_json(k.get_config()))
    model.set_weights(k.get_weights())
    for got, want in zip(model.predict(x, verbose=0), k.predict(x, verbose=0)):
        np.testing.assert_allclose(got, want, atol=1e-5)

    loaded = lamina.Model.from_config(_via_json(seq.get_config()))
    assert type(loaded) is Sequential and loaded.input_shape == (None, 5)
    loaded.set_weights(seq.get_weights())
    np.testing.assert_allclose(loaded.predict(x, verbose=0), seq.predict(x, verbose=0), atol=1e-5)
