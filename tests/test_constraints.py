"""lamina.constraints: Keras's formulas, axes in Keras's layout, resolution, configs, errors."""

from __future__ import annotations

import json
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest
import torch

import lamina
from lamina import constraints, layers

EPS = 1e-7
DENSE_SHAPE = (5, 3)  # Keras layout (in, out)
CONV_SHAPE = (3, 3, 2, 4)  # Keras layout (kh, kw, in, out)


def _np_norms(w: np.ndarray, axis) -> np.ndarray:
    axis = tuple(axis) if isinstance(axis, list) else axis
    return np.sqrt(np.sum(np.square(w), axis=axis, keepdims=True))


def _np_max_norm(w, max_value=2, axis=0):
    n = _np_norms(w, axis)
    return w * np.clip(n, 0, max_value) / (EPS + n)


def _np_unit_norm(w, axis=0):
    return w / (EPS + _np_norms(w, axis))


def _np_min_max_norm(w, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
    n = _np_norms(w, axis)
    desired = rate * np.clip(n, min_value, max_value) + (1 - rate) * n
    return w * desired / (EPS + n)


# (Lamina/Keras class name, kwargs, NumPy reference)
CASES = [
    ("MaxNorm", {}, _np_max_norm),
    ("MaxNorm", {"max_value": 1.5, "axis": -1}, _np_max_norm),
    ("MaxNorm", {"max_value": 0.7, "axis": [0, 1, 2]}, _np_max_norm),
    ("NonNeg", {}, lambda w: np.maximum(w, 0)),
    ("UnitNorm", {}, _np_unit_norm),
    ("UnitNorm", {"axis": [0, 1, 2]}, _np_unit_norm),
    ("MinMaxNorm", {}, _np_min_max_norm),
    ("MinMaxNorm", {"min_value": 1.0, "max_value": 2.0, "rate": 0.3, "axis": 1}, _np_min_max_norm),
]


def _weights(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).normal(size=shape) * 1.5).astype("float32")


def _shapes(kwargs: dict) -> list[tuple[int, ...]]:
    return [CONV_SHAPE] if isinstance(kwargs.get("axis"), list) else [DENSE_SHAPE, CONV_SHAPE]


def _keras_apply(name: str, kwargs: dict, w: np.ndarray) -> np.ndarray:
    keras = pytest.importorskip("keras")
    out = getattr(keras.constraints, name)(**kwargs)(keras.ops.convert_to_tensor(w))
    return keras.ops.convert_to_numpy(out)


@pytest.mark.parametrize("name,kwargs,reference", CASES)
def test_formula_matches_numpy_and_keras(name, kwargs, reference):
    for shape in _shapes(kwargs):
        w = _weights(shape)
        got = getattr(constraints, name)(**kwargs)(torch.from_numpy(w)).numpy()
        np.testing.assert_allclose(got, reference(w, **kwargs), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(got, _keras_apply(name, kwargs, w), rtol=1e-6, atol=1e-6)


def _layer(kind: str, constraint) -> lamina.layers.Layer:
    if kind == "dense":
        layer = layers.Dense(DENSE_SHAPE[1], kernel_constraint=constraint)
        layer.build((None, DENSE_SHAPE[0]))
    else:
        layer = layers.Conv2D(CONV_SHAPE[3], CONV_SHAPE[:2], kernel_constraint=constraint)
        layer.build((None, 6, 6, CONV_SHAPE[2]))
    return layer


@pytest.mark.parametrize("name,kwargs,reference", CASES)
def test_layers_constrain_the_keras_layout(name, kwargs, reference):
    """Conv2D stores its kernel permuted (torch's layout), Dense as Keras does; the constraint
    sees Keras's axes either way."""
    for shape in _shapes(kwargs):
        layer = _layer("dense" if len(shape) == 2 else "conv", getattr(constraints, name)(**kwargs))
        stored = tuple(layer.kernel.shape)
        assert stored == shape if len(shape) == 2 else stored != shape
        kernel, bias = _weights(shape, 1), _weights((shape[-1],), 2)
        layer.set_weights([kernel, bias])
        layer.apply_constraints()
        got_kernel, got_bias = layer.get_weights()
        np.testing.assert_allclose(got_kernel, reference(kernel, **kwargs), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(got_kernel, _keras_apply(name, kwargs, kernel), atol=1e-6)
        np.testing.assert_array_equal(got_bias, bias)  # no bias_constraint: untouched


def test_bias_and_other_weights_take_constraints():
    layer = layers.Dense(3, bias_constraint="non_neg")
    layer.build((None, 2))
    layer.set_weights([_weights((2, 3)), np.array([-1.0, 0.5, -2.0], "float32")])
    layer.apply_constraints()
    np.testing.assert_array_equal(layer.get_weights()[1], [0.0, 0.5, 0.0])
    bn = layers.BatchNormalization(gamma_constraint=constraints.UnitNorm())
    bn.build((None, 4))
    bn.apply_constraints()
    np.testing.assert_allclose(np.linalg.norm(bn.get_weights()[0]), 1.0, rtol=1e-6)


def test_frozen_layers_are_not_constrained():
    """Keras applies constraints in the optimizer update, so frozen weights keep their values."""
    layer = _layer("dense", "unit_norm")
    kernel = _weights(DENSE_SHAPE)
    layer.set_weights([kernel, np.zeros(3, "float32")])
    layer.trainable = False
    layer.apply_constraints()
    np.testing.assert_array_equal(layer.get_weights()[0], kernel)


# ------------------------------------------------------------------ resolution
@pytest.mark.parametrize(
    "name,cls",
    [
        ("max_norm", constraints.MaxNorm),
        ("MaxNorm", constraints.MaxNorm),
        ("non_neg", constraints.NonNeg),
        ("NonNeg", constraints.NonNeg),
        ("unit_norm", constraints.UnitNorm),
        ("UnitNorm", constraints.UnitNorm),
        ("min_max_norm", constraints.MinMaxNorm),
        ("MinMaxNorm", constraints.MinMaxNorm),
        ("maxnorm", constraints.MaxNorm),  # Keras 2's spelling
    ],
)
def test_get_resolves_names(name, cls):
    assert type(constraints.get(name)) is cls


def test_get_resolves_dicts_instances_classes_and_callables():
    assert constraints.get(None) is None
    c = constraints.get({"class_name": "MaxNorm", "config": {"max_value": 3, "axis": [0, 1]}})
    assert isinstance(c, constraints.MaxNorm) and (c.max_value, c.axis) == (3, [0, 1])
    inst = constraints.UnitNorm(axis=1)
    assert constraints.get(inst) is inst
    assert isinstance(constraints.get(constraints.NonNeg), constraints.NonNeg)

    def fn(w):
        return w.clamp(-1, 1)

    assert constraints.get(fn) is fn
    assert constraints.max_norm is constraints.MaxNorm
    assert constraints.non_neg is constraints.NonNeg
    assert constraints.unit_norm is constraints.UnitNorm
    assert constraints.min_max_norm is constraints.MinMaxNorm
    assert lamina.constraints is constraints


def test_get_reads_keras_serialized_constraints():
    keras = pytest.importorskip("keras")
    for obj in [keras.constraints.MaxNorm(1.5, axis=[0, 1, 2]), keras.constraints.MinMaxNorm()]:
        c = constraints.get(keras.constraints.serialize(obj))
        assert type(c).__name__ == type(obj).__name__
        assert c.get_config() == obj.get_config()


@pytest.mark.parametrize("name", ["MaxNorm", "NonNeg", "UnitNorm", "MinMaxNorm"])
def test_default_configs_match_keras(name):
    keras = pytest.importorskip("keras")
    assert (
        getattr(constraints, name)().get_config() == getattr(keras.constraints, name)().get_config()
    )


# ---------------------------------------------------------------------- config
@pytest.mark.parametrize(
    "c",
    [
        constraints.MaxNorm(1.5, axis=[0, 1, 2]),
        constraints.NonNeg(),
        constraints.UnitNorm(axis=-1),
        constraints.MinMaxNorm(0.5, 2.0, rate=0.5, axis=(0, 1)),
    ],
)
def test_config_round_trip(c):
    again = type(c).from_config(c.get_config())
    assert again.get_config() == c.get_config()
    data = json.loads(json.dumps(constraints.serialize(c)))
    back = constraints.deserialize(data)
    assert type(back) is type(c) and back.get_config() == c.get_config()
    w = torch.from_numpy(_weights(CONV_SHAPE))
    torch.testing.assert_close(back(w), c(w))


@pytest.mark.parametrize(
    "arg",
    [
        None,
        "max_norm",
        {"class_name": "MinMaxNorm", "config": {"min_value": 0.1, "max_value": 0.5}},
        constraints.MaxNorm(1.0),
    ],
)
def test_layer_config_keeps_the_argument_and_round_trips(arg):
    layer = layers.Conv2D(4, 3, kernel_constraint=arg, bias_constraint="non_neg")
    config = layer.get_config()
    want = constraints.serialize(arg)
    assert config["kernel_constraint"] == want and config["bias_constraint"] == "non_neg"
    if isinstance(arg, str):
        assert config["kernel_constraint"] == arg  # a string stays a string
    again = layers.Conv2D.from_config(json.loads(json.dumps(config)))
    assert again.get_config() == config
    for lay in (layer, again):
        lay.build((None, 6, 6, 2))
    again.set_weights(layer.get_weights())
    big = [w * 10 for w in layer.get_weights()]
    layer.set_weights(big)
    again.set_weights(big)
    layer.apply_constraints()
    again.apply_constraints()
    for a, b in zip(layer.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "make",
    [
        lambda c: layers.Dense(2, kernel_constraint=c, bias_constraint=c),
        lambda c: layers.PReLU(alpha_constraint=c),
        lambda c: layers.Maxout(2, kernel_constraint=c, bias_constraint=c),
        lambda c: layers.BatchNormalization(beta_constraint=c, gamma_constraint=c),
        lambda c: layers.LayerNormalization(beta_constraint=c, gamma_constraint=c),
    ],
)
def test_every_constraint_argument_is_in_the_config(make):
    config = make("non_neg").get_config()
    keys = [k for k in config if k.endswith("_constraint")]
    assert keys and all(config[k] == "non_neg" for k in keys)


# ---------------------------------------------------------------------- errors
def test_unknown_name_error_lists_close_names():
    with pytest.raises(ValueError) as err:
        constraints.get("max_nrom")
    msg = str(err.value)
    assert msg.startswith("Expected a known constraint name, received: constraint='max_nrom'")
    assert "Did you mean: 'max_norm'" in msg
    with pytest.raises(ValueError, match="received: constraint='unitnrm'.*'unit_norm'"):
        layers.Dense(2, kernel_constraint="unitnrm").build((None, 3))


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="received: max_value=-1"):
        constraints.MaxNorm(-1)
    with pytest.raises(ValueError, match="min_value <= max_value"):
        constraints.MinMaxNorm(2.0, 1.0)
    with pytest.raises(ValueError, match="received: axis='rows'"):
        constraints.UnitNorm(axis="rows")
    with pytest.raises(TypeError, match="received: constraint=3"):
        constraints.get(3)
    with pytest.raises(ValueError, match="class_name"):
        constraints.get({"config": {}})
    with pytest.raises(ValueError, match=r"axis within the 2 axes .* received: axis=2"):
        layers.Dense(2, kernel_constraint=constraints.MaxNorm(axis=2)).build((None, 3))


# ------------------------------------------------------------------------- fit
@pytest.mark.parametrize("constraint,bound", [("max_norm", 2.0), (constraints.MaxNorm(1.0), 1.0)])
def test_fit_keeps_column_norms_within_the_bound(constraint, bound):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6)).astype("float32") * 5
    y = rng.normal(size=(64, 4)).astype("float32") * 50
    model = lamina.Sequential([layers.Dense(4, kernel_constraint=constraint, input_shape=(6,))])
    model.compile(optimizer=lamina.optimizers.SGD(0.05), loss="mse")
    model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    norms = np.linalg.norm(model.get_weights()[0], axis=0)
    assert np.all(norms <= bound + 1e-5)
    assert np.any(norms > 0.9 * bound)  # training pushed against the bound


def test_fit_constrains_conv_filters():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(16, 6, 6, 2)).astype("float32") * 5
    y = rng.normal(size=(16, 4)).astype("float32") * 50
    model = lamina.Sequential(
        [
            layers.Conv2D(
                3,
                3,
                kernel_constraint=constraints.MaxNorm(0.5, axis=[0, 1, 2]),
                input_shape=(6, 6, 2),
            ),
            layers.Flatten(),
            layers.Dense(4),
        ]
    )
    model.compile(optimizer=lamina.optimizers.SGD(0.05), loss="mse")
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    norms = np.linalg.norm(model.get_weights()[0].reshape(-1, 3), axis=0)
    assert np.all(norms <= 0.5 + 1e-5)


def test_one_sgd_step_matches_keras():
    """Same weights, same batch, one SGD step with a max-norm kernel: Keras's weights."""
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(2)
    x = rng.normal(size=(8, 5)).astype("float32")
    y = rng.normal(size=(8, 3)).astype("float32") * 10
    k = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, kernel_constraint="max_norm")])
    m = lamina.Sequential([layers.Dense(3, kernel_constraint="max_norm", input_shape=(5,))])
    start = [_weights((5, 3), 3), np.zeros(3, "float32")]
    k.set_weights(start)
    m.set_weights(start)
    k.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    m.compile(optimizer=lamina.optimizers.SGD(0.5), loss="mse")
    k.train_on_batch(x, y)
    m.train_on_batch(x, y)
    for got, want in zip(m.get_weights(), k.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert np.max(np.linalg.norm(m.get_weights()[0], axis=0)) == pytest.approx(2.0, abs=1e-5)
