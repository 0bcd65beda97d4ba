"""Keras 3 (torch backend) as the oracle for Lamina's core, activation and merge layers,
the functional merge forms, Lambda, Identity, EinsumDense, layers.serialize/deserialize,
the Layer base class (a custom subclass in both), InputSpec, Wrapper and TimeDistributed.

Layers with weights get Keras's random weights copied in; outputs, masks, output shapes
(eager, `compute_output_shape`, symbolic), weight names, parameter counts and configs are
compared. New layers also run through the shared layer harness (with `fit`).
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")

import lamina  # noqa: E402
from lamina import layers  # noqa: E402
from tests.layer_harness import run_layer_test  # noqa: E402

# (constructor kwargs, input shape, input kind: "float" | "ids" | "padded")
SINGLE_PARITY: dict[str, list[tuple]] = {
    "layers.Dense": [
        ({"units": 3}, (2, 4), "float"),
        ({"units": 2, "activation": "relu", "use_bias": False}, (2, 3, 4), "float"),
    ],
    "layers.Activation": [
        ({"activation": "tanh"}, (2, 5), "float"),
        ({"activation": "softmax"}, (2, 3, 4), "float"),
    ],
    "layers.ELU": [({}, (2, 5), "float"), ({"alpha": 0.5}, (2, 3, 4), "float")],
    "layers.LeakyReLU": [({}, (2, 5), "float"), ({"negative_slope": 0.1}, (2, 3, 4), "float")],
    "layers.PReLU": [({}, (2, 5), "float"), ({"shared_axes": [1]}, (2, 3, 4), "float")],
    "layers.ReLU": [
        ({}, (2, 5), "float"),
        ({"max_value": 1.0, "negative_slope": 0.2, "threshold": 0.5}, (2, 6), "float"),
    ],
    "layers.Softmax": [
        ({}, (2, 5), "float"),
        ({"axis": 1}, (2, 3, 4), "float"),
    ],
    "layers.Embedding": [
        ({"input_dim": 10, "output_dim": 3}, (2, 5), "ids"),
        ({"input_dim": 10, "output_dim": 4, "mask_zero": True}, (2, 5), "ids"),
    ],
    "layers.Masking": [({}, (2, 5, 3), "padded"), ({"mask_value": 1.5}, (2, 4, 2), "padded")],
    "layers.Identity": [({}, (2, 5), "float"), ({}, (2, 4, 3), "padded")],
    "layers.EinsumDense": [
        ({"equation": "ab,bc->ac", "output_shape": 4, "bias_axes": "c"}, (2, 3), "float"),
        (
            {"equation": "abc,cd->abd", "output_shape": (None, 4), "bias_axes": "d"},
            (2, 5, 3),
            "float",
        ),
        (
            {"equation": "abc,cde->abde", "output_shape": (None, 4, 2), "bias_axes": "de"},
            (2, 5, 3),
            "float",
        ),
        (
            {"equation": "...b,bc->...c", "output_shape": 4, "activation": "relu"},
            (2, 5, 3),
            "float",
        ),
        ({"equation": "ab...,bc->ac...", "output_shape": 4, "bias_axes": "c"}, (2, 3, 5), "float"),
        ({"equation": "abc,cd->abd", "output_shape": (5, 4), "bias_axes": "b"}, (2, 5, 3), "float"),
    ],
    "layers.Normalization": [
        ({"mean": [0.5, -1.0, 2.0], "variance": [1.0, 4.0, 0.25]}, (2, 3), "float"),
        ({"mean": 1.0, "variance": 2.0, "axis": None}, (2, 4), "float"),
        ({"mean": [0.5, -1.0], "variance": [1.0, 4.0], "invert": True}, (3, 2), "float"),
    ],
}


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k not in ("module", "registered_name")}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _numpy(t) -> np.ndarray:
    return t.detach().numpy() if isinstance(t, torch.Tensor) else keras.ops.convert_to_numpy(t)


def _input(kind: str, shape: tuple, rng) -> np.ndarray:
    if kind == "ids":
        x = rng.integers(0, 10, size=shape)
        x[:, -2:] = 0
        return x
    x = rng.normal(size=shape).astype(np.float32)
    if kind == "padded":  # padded steps, for masks
        x[0, -2:] = 0.0 if len(shape) == 3 else x[0, -2:]
    return x


def _config_matches(k_layer, l_layer) -> None:
    drop = ("dtype", "name", "input_shape")
    k_config = {k: v for k, v in k_layer.get_config().items() if k not in drop}
    l_config = {k: v for k, v in l_layer.get_config().items() if k not in drop}
    # Lamina may write an argument Keras leaves out of this config (Dense's
    # activity_regularizer), only at its default None.
    extra = set(l_config) - set(k_config)
    assert all(l_config[k] is None for k in extra), extra
    l_config = {k: v for k, v in l_config.items() if k not in extra}
    want = _plain({k: k_config[k] for k in l_config})
    assert _plain(l_config) == want


def _compare_single(name: str, kwargs: dict, shape: tuple, kind: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = _input(kind, shape, rng)
    if name == "Masking" and kind == "padded":
        x[0, -2:] = kwargs.get("mask_value", 0.0)
    k_layer = getattr(keras.layers, name)(**kwargs)
    k_layer.build(shape)
    weights = [rng.normal(0, 0.5, size=w.shape).astype(np.float32) for w in k_layer.get_weights()]
    if weights and name != "Normalization":
        k_layer.set_weights(weights)
    weights = k_layer.get_weights()
    l_layer = getattr(layers, name)(**kwargs)
    l_layer(torch.from_numpy(x))
    assert [w.shape for w in l_layer.get_weights()] == [w.shape for w in weights]
    assert [s.name for s in l_layer._weight_specs] == [w.name for w in k_layer.weights]
    if weights:
        l_layer.set_weights(weights)
    assert l_layer.count_params() == k_layer.count_params()
    k_in, l_in = x, torch.from_numpy(x)
    if kind == "padded" and name not in ("Masking",):  # an incoming mask (batch, time)
        mask = np.ones(shape[:2], dtype=bool)
        mask[0, -2:] = False
        k_in = keras.ops.convert_to_tensor(x)
        k_in._keras_mask = keras.ops.convert_to_tensor(mask)
        l_in.__dict__["_keras_mask"] = torch.from_numpy(mask)
        l_in._keras_mask = torch.from_numpy(mask)
    want = k_layer(k_in)
    got = l_layer(l_in)
    np.testing.assert_allclose(_numpy(got), _numpy(want), rtol=1e-5, atol=1e-5)
    k_mask = getattr(want, "_keras_mask", None)
    l_mask = getattr(got, "_keras_mask", None)
    assert (k_mask is None) == (l_mask is None), (k_mask, l_mask)
    if k_mask is not None:
        np.testing.assert_array_equal(_numpy(l_mask), _numpy(k_mask))
    none = (None, *shape[1:])
    assert tuple(l_layer.compute_output_shape(none)) == tuple(k_layer.compute_output_shape(none))
    dtype = "int32" if kind == "ids" else "float32"
    k_sym = getattr(keras.layers, name)(**kwargs)(keras.Input(shape[1:], dtype=dtype))
    l_sym = getattr(layers, name)(**kwargs)(layers.Input(shape[1:], dtype=dtype))
    assert tuple(l_sym.shape) == tuple(k_sym.shape)
    _config_matches(getattr(keras.layers, name)(**kwargs), l_layer)


@pytest.mark.parametrize("name", sorted(SINGLE_PARITY))
def test_single_input_layer_matches_keras(name):
    for i, (kwargs, shape, kind) in enumerate(SINGLE_PARITY[name]):
        _compare_single(name.split(".")[-1], kwargs, shape, kind, seed=i)


# (constructor kwargs, input shapes); each class is also compared through its function.
MERGE_PARITY: dict[str, list[tuple]] = {
    "layers.Add": [({}, [(2, 3), (2, 3)]), ({}, [(2, 3, 4), (2, 1, 4), (2, 3, 4)])],
    "layers.Subtract": [({}, [(2, 3), (2, 3)])],
    "layers.Multiply": [({}, [(2, 3), (2, 3), (2, 3)])],
    "layers.Average": [({}, [(2, 3, 2), (2, 3, 2)])],
    "layers.Maximum": [({}, [(2, 3), (2, 3)])],
    "layers.Minimum": [({}, [(2, 4), (2, 4)])],
    "layers.Concatenate": [({}, [(2, 3), (2, 4)]), ({"axis": 1}, [(2, 3, 4), (2, 2, 4)])],
    "layers.Dot": [
        ({"axes": 1}, [(2, 3), (2, 3)]),
        ({"axes": (2, 2), "normalize": True}, [(2, 3, 4), (2, 5, 4)]),
        ({"axes": [1, 2]}, [(2, 3, 4), (2, 5, 3)]),
    ],
}
MERGE_FUNCTION_PARITY: dict[str, str] = {
    "layers.add": "Add",
    "layers.subtract": "Subtract",
    "layers.multiply": "Multiply",
    "layers.average": "Average",
    "layers.maximum": "Maximum",
    "layers.minimum": "Minimum",
    "layers.concatenate": "Concatenate",
    "layers.dot": "Dot",
}


@pytest.mark.parametrize("name", sorted(MERGE_PARITY))
def test_merge_layer_matches_keras(name):
    cls = name.split(".")[-1]
    for i, (kwargs, shapes) in enumerate(MERGE_PARITY[name]):
        rng = np.random.default_rng(i)
        xs = [rng.normal(size=s).astype(np.float32) for s in shapes]
        k_layer = getattr(keras.layers, cls)(**kwargs)
        l_layer = getattr(layers, cls)(**kwargs)
        want = _numpy(k_layer(xs))
        got = l_layer([torch.from_numpy(x) for x in xs])
        np.testing.assert_allclose(_numpy(got), want, rtol=1e-5, atol=1e-6)
        none = [(None, *s[1:]) for s in shapes]
        assert tuple(l_layer.compute_output_shape(none)) == tuple(
            k_layer.compute_output_shape(none)
        )
        sym = l_layer.__class__(**kwargs)([layers.Input(s[1:]) for s in shapes])
        k_sym = getattr(keras.layers, cls)(**kwargs)([keras.Input(s[1:]) for s in shapes])
        assert tuple(sym.shape) == tuple(k_sym.shape)
        assert l_layer.count_params() == k_layer.count_params() == 0
        _config_matches(getattr(keras.layers, cls)(**kwargs), l_layer)


@pytest.mark.parametrize("name", sorted(MERGE_FUNCTION_PARITY))
def test_merge_function_matches_keras(name):
    fn = name.split(".")[-1]
    cls = MERGE_FUNCTION_PARITY[name]
    for i, (kwargs, shapes) in enumerate(MERGE_PARITY[f"layers.{cls}"]):
        rng = np.random.default_rng(10 + i)
        xs = [rng.normal(size=s).astype(np.float32) for s in shapes]
        want = _numpy(getattr(keras.layers, fn)(xs, **kwargs))
        got = getattr(layers, fn)([torch.from_numpy(x) for x in xs], **kwargs)
        np.testing.assert_allclose(_numpy(got), want, rtol=1e-5, atol=1e-6)
        k_sym = getattr(keras.layers, fn)([keras.Input(s[1:]) for s in shapes], **kwargs)
        l_sym = getattr(layers, fn)([layers.Input(s[1:]) for s in shapes], name=f"m{i}", **kwargs)
        assert tuple(l_sym.shape) == tuple(k_sym.shape)
        assert type(l_sym.node.layer).__name__ == type(k_sym._keras_history[0]).__name__ == cls
        assert l_sym.node.layer.name == f"m{i}"


def double(x):
    return 2.0 * x


def scaled(x, factor=1.0, mask=None):
    return x * factor if mask is None else x * factor * mask[..., None]


def _check_lambda() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 4, 3)).astype(np.float32)
    for fn, kwargs in [
        (double, {}),
        (scaled, {"arguments": {"factor": 3.0}}),
        (double, {"output_shape": (4, 3)}),
    ]:
        k_layer = keras.layers.Lambda(fn, **kwargs)
        l_layer = layers.Lambda(fn, **kwargs)
        np.testing.assert_allclose(
            _numpy(l_layer(torch.from_numpy(x))), _numpy(k_layer(x)), rtol=1e-6
        )
        none = (None, 4, 3)
        assert tuple(l_layer.compute_output_shape(none)) == tuple(
            k_layer.compute_output_shape(none)
        )
        assert tuple(l_layer(layers.Input((4, 3))).shape) == tuple(
            k_layer(keras.Input((4, 3))).shape
        )
        config = l_layer.get_config()
        k_config = k_layer.get_config()
        assert config["function"] == k_config["function"]["config"] == fn.__name__
        assert config["arguments"] == k_config["arguments"]
        json.dumps(config)
        clone = layers.Lambda.from_config(config, custom_objects={fn.__name__: fn})
        np.testing.assert_allclose(
            _numpy(clone(torch.from_numpy(x))), _numpy(k_layer(x)), rtol=1e-6
        )
        # Keras's own config (the function as {"class_name": "function", ...}) loads too.
        clone = layers.Lambda.from_config(dict(k_config), custom_objects={fn.__name__: fn})
        np.testing.assert_allclose(
            _numpy(clone(torch.from_numpy(x))), _numpy(k_layer(x)), rtol=1e-6
        )
    # The mask reaches a function that takes one, as in Keras.
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 0]], dtype=bool)
    k_in = keras.ops.convert_to_tensor(x)
    k_in._keras_mask = keras.ops.convert_to_tensor(mask)
    l_in = torch.from_numpy(x)
    l_in._keras_mask = torch.from_numpy(mask)
    k_layer = keras.layers.Lambda(scaled, mask=lambda inputs, m: m)
    l_layer = layers.Lambda(scaled, mask=lambda inputs, m: m)
    k_out, l_out = k_layer(k_in), l_layer(l_in)
    np.testing.assert_allclose(_numpy(l_out), _numpy(k_out), rtol=1e-6)
    np.testing.assert_array_equal(_numpy(l_out._keras_mask), _numpy(k_out._keras_mask))


def _check_identity_structures() -> None:
    a, b = np.ones((2, 3), np.float32), np.zeros((2, 4), np.float32)
    k_out = keras.layers.Identity()([a, b])
    l_out = layers.Identity()([torch.from_numpy(a), torch.from_numpy(b)])
    assert [tuple(t.shape) for t in l_out] == [tuple(t.shape) for t in k_out]


def _check_serialize() -> None:
    examples = [
        keras.layers.Dense(3, activation="relu", kernel_regularizer="l2", name="d"),
        keras.layers.Conv2D(2, 3, padding="same", name="c"),
        keras.layers.EinsumDense("abc,cd->abd", output_shape=(None, 4), bias_axes="d", name="e"),
        keras.layers.MultiHeadAttention(2, 3, name="m"),
        keras.layers.TimeDistributed(keras.layers.Dense(2), name="t"),
    ]
    for k_layer in examples:
        entry = keras.layers.serialize(k_layer)
        l_layer = layers.deserialize(json.loads(json.dumps(entry)))
        assert type(l_layer).__name__ == type(k_layer).__name__
        assert l_layer.name == k_layer.name
        own = layers.serialize(l_layer)
        assert own["class_name"] == entry["class_name"]
        json.dumps(own)
        again = layers.deserialize(own)
        assert again.get_config() == l_layer.get_config()
        extra = set(own["config"]) - set(entry["config"])
        assert all(own["config"][k] is None for k in extra), extra
    # Same weights, same outputs: a Keras Dense through serialize -> Lamina deserialize.
    k_dense = keras.layers.Dense(3, activation="tanh")
    x = np.random.default_rng(0).normal(size=(2, 4)).astype(np.float32)
    want = _numpy(k_dense(x))
    l_dense = layers.deserialize(keras.layers.serialize(k_dense))
    l_dense(torch.from_numpy(x))
    l_dense.set_weights(k_dense.get_weights())
    np.testing.assert_allclose(_numpy(l_dense(torch.from_numpy(x))), want, rtol=1e-6)
    with pytest.raises(ValueError, match="NotALayer"):
        layers.deserialize({"class_name": "NotALayer", "config": {}})


def _check_input() -> None:
    for shape, dtype, batch in [
        ((3,), "float32", None),
        ((None, 4), "int32", 5),
        ((2, 2), "float64", None),
    ]:
        k_t = keras.Input(shape, batch_size=batch, dtype=dtype, name="x")
        l_t = layers.Input(shape, batch_size=batch, dtype=dtype, name="x")
        assert tuple(l_t.shape) == tuple(k_t.shape)
        assert str(l_t.dtype) == str(k_t.dtype)


def _check_input_layer() -> None:
    k_layer = keras.layers.InputLayer(shape=(3, 4), batch_size=2, name="inp")
    l_layer = layers.InputLayer(shape=(3, 4), batch_size=2, name="inp")
    assert tuple(l_layer.output.shape) == tuple(k_layer.output.shape)
    k_config, l_config = k_layer.get_config(), l_layer.get_config()
    assert l_config["name"] == k_config["name"]
    # Lamina's config keeps dtype=None when none was given; the tensor is float32 as in Keras.
    assert l_config["dtype"] in (None, k_config["dtype"])
    assert str(l_layer.output.dtype) == str(k_layer.output.dtype) == "float32"
    assert list(k_config["batch_shape"]) == [l_config["batch_size"], *l_config["shape"]]
    model_k = keras.Sequential([keras.layers.InputLayer(shape=(3,)), keras.layers.Dense(2)])
    model_l = lamina.Sequential([layers.InputLayer(shape=(3,)), layers.Dense(2)])
    model_l.set_weights(model_k.get_weights())
    x = np.random.default_rng(1).normal(size=(4, 3)).astype(np.float32)
    np.testing.assert_allclose(_numpy(model_l(torch.from_numpy(x))), _numpy(model_k(x)), rtol=1e-6)


class _KScale(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="ones", name="w")
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="b")
        self.c = self.add_weight(shape=(), initializer="ones", name="c", trainable=False)

    def call(self, x):
        return keras.ops.tanh(keras.ops.matmul(x, self.w) + self.b) * self.c


class _LScale(layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight("w", (input_shape[-1], self.units), initializer="ones")
        self.b = self.add_weight("b", (self.units,), initializer="zeros")
        self.c = self.add_weight("c", (), initializer="ones", trainable=False)

    def call(self, x):
        return torch.tanh(x @ self.w + self.b) * self.c


def _check_layer_subclass() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, 4)).astype(np.float32)
    k_layer, l_layer = _KScale(2), _LScale(2)
    k_layer(x)
    l_layer(torch.from_numpy(x))
    weights = [rng.normal(size=w.shape).astype(np.float32) for w in k_layer.get_weights()]
    k_layer.set_weights(weights)
    l_layer.set_weights(weights)
    assert l_layer.built and k_layer.built
    assert [len(l_layer.trainable_weights), len(l_layer.non_trainable_weights)] == [
        len(k_layer.trainable_weights),
        len(k_layer.non_trainable_weights),
    ]
    assert l_layer.count_params() == k_layer.count_params()
    np.testing.assert_allclose(_numpy(l_layer(torch.from_numpy(x))), _numpy(k_layer(x)), rtol=1e-6)
    assert tuple(l_layer(layers.Input((4,))).shape) == tuple(_KScale(2)(keras.Input((4,))).shape)


def _check_input_spec() -> None:
    """A layer's InputSpec rejects the same inputs in both (ndim, min/max_ndim, axes)."""
    specs = [{"ndim": 3}, {"min_ndim": 3}, {"max_ndim": 2}, {"min_ndim": 2, "axes": {-1: 4}}]
    shapes = [(2, 4), (2, 3, 4), (2, 3, 5), (2, 1, 3, 4)]
    for spec in specs:
        for shape in shapes:
            k_layer = keras.layers.Identity()
            k_layer.input_spec = keras.layers.InputSpec(**spec)
            l_layer = layers.Identity()
            l_layer.input_spec = layers.InputSpec(**spec)
            x = np.zeros(shape, np.float32)
            try:
                k_layer(x)
                k_ok = True
            except ValueError:
                k_ok = False
            try:
                l_layer(torch.from_numpy(x))
                l_ok = True
            except ValueError:
                l_ok = False
            assert l_ok == k_ok, (spec, shape)


def _check_time_distributed() -> None:
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2, 5, 4)).astype(np.float32)
    k_layer = keras.layers.TimeDistributed(keras.layers.Dense(3))
    l_layer = layers.TimeDistributed(layers.Dense(3))
    k_layer.build(x.shape)
    l_layer(torch.from_numpy(x))
    weights = [rng.normal(size=w.shape).astype(np.float32) for w in k_layer.get_weights()]
    k_layer.set_weights(weights)
    l_layer.set_weights(weights)
    np.testing.assert_allclose(
        _numpy(l_layer(torch.from_numpy(x))), _numpy(k_layer(x)), rtol=1e-5, atol=1e-6
    )
    none = (None, 5, 4)
    assert tuple(l_layer.compute_output_shape(none)) == tuple(k_layer.compute_output_shape(none))
    assert l_layer.count_params() == k_layer.count_params()
    assert (
        l_layer.get_config()["layer"]["class_name"] == k_layer.get_config()["layer"]["class_name"]
    )


class _KTwice(keras.layers.Wrapper):
    def call(self, x):
        return self.layer(self.layer(x))


class _LTwice(layers.Wrapper):
    def call(self, x):
        return self.layer(self.layer(x))


def _check_wrapper() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(2, 3)).astype(np.float32)
    k_layer = _KTwice(keras.layers.Dense(3))
    l_layer = _LTwice(layers.Dense(3))
    k_layer(x)
    l_layer(torch.from_numpy(x))
    weights = [rng.normal(size=w.shape).astype(np.float32) for w in k_layer.get_weights()]
    k_layer.set_weights(weights)
    l_layer.set_weights(weights)
    np.testing.assert_allclose(_numpy(l_layer(torch.from_numpy(x))), _numpy(k_layer(x)), rtol=1e-5)
    assert l_layer.count_params() == k_layer.count_params()
    assert [w.shape for w in l_layer.trainable_weights] == [
        tuple(w.shape)[::-1] if len(w.shape) == 2 else tuple(w.shape)
        for w in k_layer.trainable_weights
    ]
    k_entry, l_entry = k_layer.get_config()["layer"], l_layer.get_config()["layer"]
    assert l_entry["class_name"] == k_entry["class_name"]
    assert l_entry["config"]["units"] == k_entry["config"]["units"]


OTHER_PARITY = {
    "layers.Lambda": _check_lambda,
    "layers.Identity": _check_identity_structures,
    "layers.serialize": _check_serialize,
    "layers.deserialize": _check_serialize,
    "layers.Input": _check_input,
    "layers.InputLayer": _check_input_layer,
    "layers.Layer": _check_layer_subclass,
    "layers.InputSpec": _check_input_spec,
    "layers.TimeDistributed": _check_time_distributed,
    "layers.Wrapper": _check_wrapper,
}


@pytest.mark.parametrize("name", sorted(OTHER_PARITY))
def test_core_behaviour_matches_keras(name):
    OTHER_PARITY[name]()


def test_lambda_never_saves_or_loads_code():
    layer = layers.Lambda(lambda x: x + 1)
    with pytest.raises(ValueError, match="named function"):
        layer.get_config()
    bytecode = keras.layers.Lambda(lambda x: x + 1).get_config()
    assert bytecode["function"]["class_name"] == "__lambda__"
    with pytest.raises(ValueError, match="bytecode"):
        layers.Lambda.from_config(bytecode)
    with pytest.raises(ValueError, match="custom_objects"):
        layers.Lambda.from_config(layers.Lambda(double).get_config())


HARNESS = [
    (
        layers.EinsumDense,
        {"equation": "abc,cd->abd", "output_shape": (3, 4), "bias_axes": "d"},
        (2, 3, 5),
        (2, 3, 4),
        24,
        lambda x, w: np.einsum("abc,cd->abd", x, w[0]) + w[1],
    ),
    (layers.Identity, {}, (2, 3), (2, 3), 0, lambda x, w: x),
    (layers.Lambda, {"function": double}, (2, 3), (2, 3), 0, lambda x, w: 2 * x),
]


@pytest.mark.parametrize("case", HARNESS, ids=[c[0].__name__ for c in HARNESS])
def test_new_core_layers_pass_the_harness(case, monkeypatch):
    cls, kwargs, in_shape, out_shape, params, reference = case
    if cls is layers.Lambda:  # the harness rebuilds the layer from its config
        monkeypatch.setattr(
            layers.Lambda,
            "from_config",
            classmethod(lambda c, config: c(**{**config, "function": double})),
        )
    run_layer_test(
        cls,
        kwargs,
        input_shape=in_shape,
        expected_output_shape=out_shape,
        expected_num_params=params,
        reference=reference,
        compiled_fit=cls is layers.EinsumDense,
        run_gradcheck=cls is not layers.Identity,
    )


def test_einsum_dense_left_ellipsis_shape_keeps_the_axis_order():
    """Keras's compute_output_shape reverses two or more elided axes ((2, 5, 3, 4) here);
    Lamina's gives the shape Keras's own call returns."""
    x = np.ones((2, 3, 5, 6), np.float32)
    k_layer = keras.layers.EinsumDense("...b,bc->...c", output_shape=4)
    l_layer = layers.EinsumDense("...b,bc->...c", output_shape=4)
    assert tuple(k_layer(x).shape) == (2, 3, 5, 4)
    assert tuple(l_layer.compute_output_shape(x.shape)) == (2, 3, 5, 4)
    assert tuple(l_layer(torch.from_numpy(x)).shape) == (2, 3, 5, 4)
