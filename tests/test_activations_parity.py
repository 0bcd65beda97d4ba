"""keras.activations (all 35 names) against Keras 3 (torch backend): values on the same
inputs, and get/serialize/deserialize round trips."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

from lamina import activations  # noqa: E402

R = np.random.default_rng(35)
X2 = R.uniform(-4, 4, (4, 6)).astype("float32")
X3 = R.uniform(-4, 4, (2, 3, 4)).astype("float32")
BASE = [((X2,), {}), ((X3,), {})]

FUNCTIONS = [
    "celu", "elu", "exponential", "gelu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu",
    "hard_swish", "hard_tanh", "leaky_relu", "linear", "log_sigmoid", "log_softmax", "mish",
    "relu", "relu6", "selu", "sigmoid", "silu", "soft_shrink", "softmax", "softplus",
    "softsign", "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "swish", "tanh",
    "tanh_shrink", "threshold",
]  # fmt: skip
EXTRA: dict[str, list[Any]] = {
    "celu": [((X2,), {"alpha": 0.5})],
    "elu": [((X2,), {"alpha": 0.3})],
    "gelu": [((X2,), {"approximate": True})],
    "glu": [((X3,), {"axis": 0}), ((X2,), {"axis": 0})],
    "hard_shrink": [((X2,), {"threshold": 1.5})],
    "soft_shrink": [((X2,), {"threshold": 1.5})],
    "leaky_relu": [((X2,), {"negative_slope": 0.05})],
    "log_softmax": [((X3,), {"axis": 1}), ((X3,), {"axis": (0, 2)})],
    "softmax": [((X3,), {"axis": 0}), ((X3,), {"axis": (1, 2)})],
    "sparsemax": [((X3,), {"axis": 1})],
    "squareplus": [((X2,), {"b": 1})],
    "relu": [
        ((X2,), {"negative_slope": 0.1}),
        ((X2,), {"max_value": 2.5}),
        ((X2,), {"max_value": 6.0}),
        ((X2,), {"threshold": 1.0}),
        ((X2,), {"negative_slope": 0.2, "max_value": 3.0, "threshold": -1.0}),
    ],
}
NEEDS_ARGS = {"threshold": [((X2,), {"threshold": 0.5, "default_value": -2.0})]}
ACTIVATIONS_PARITY: dict[str, list[Any]] = {
    f"activations.{name}": (NEEDS_ARGS[name] if name in NEEDS_ARGS else BASE) + EXTRA.get(name, [])
    for name in FUNCTIONS
}
ACTIVATIONS_PARITY["activations.get"] = ["test_get_matches_keras"]
ACTIVATIONS_PARITY["activations.serialize"] = ["test_serialize_round_trip"]
ACTIVATIONS_PARITY["activations.deserialize"] = ["test_serialize_round_trip"]


def _copy(value: Any) -> Any:
    return value.clone() if isinstance(value, torch.Tensor) else value.copy()


def _values(result: Any) -> np.ndarray:
    if isinstance(result, torch.Tensor):
        result = result.detach()
    return np.asarray(keras.ops.convert_to_numpy(result))


@pytest.mark.parametrize("numpy_inputs", [False, True], ids=["torch", "numpy"])
@pytest.mark.parametrize(
    "name", sorted(n for n in ACTIVATIONS_PARITY if n.split(".")[1] in FUNCTIONS)
)
def test_activation_values_match_keras(name: str, numpy_inputs: bool) -> None:
    fn = name.split(".")[1]
    if numpy_inputs and fn == "linear":
        pytest.skip("linear returns its input unchanged (a NumPy array stays one), as in Keras")
    for args, kwargs in ACTIVATIONS_PARITY[name]:
        inputs = [a.copy() if numpy_inputs else torch.from_numpy(a.copy()) for a in args]
        expected = getattr(keras.activations, fn)(*[_copy(v) for v in inputs], **kwargs)
        got = getattr(activations, fn)(*[_copy(v) for v in inputs], **kwargs)
        assert isinstance(got, torch.Tensor)
        assert got.dtype == expected.dtype
        assert tuple(got.shape) == tuple(expected.shape)
        np.testing.assert_allclose(_values(got), _values(expected), rtol=1e-5, atol=1e-6)


def test_get_matches_keras() -> None:
    x = torch.from_numpy(X2)
    for name in FUNCTIONS:
        kwargs = {"threshold": 0.5, "default_value": 0.0} if name == "threshold" else {}
        np.testing.assert_allclose(
            _values(activations.get(name)(x, **kwargs)),
            _values(keras.activations.get(name)(x, **kwargs)),
            rtol=1e-5,
            atol=1e-6,
            err_msg=name,
        )
    config = keras.activations.serialize(keras.activations.relu)
    assert activations.get(config) is activations.relu
    full = keras.saving.serialize_keras_object(keras.activations.relu)
    assert activations.get(full) is activations.relu
    assert activations.get(None) is activations.linear
    assert activations.get(activations.selu) is activations.selu
    with pytest.raises(ValueError):
        keras.activations.get("no_such_activation")
    with pytest.raises(ValueError):
        activations.get("no_such_activation")


# Lamina keeps `swish` as its own registered name (older configs say 'swish'); Keras
# serializes the shared function as 'silu'.
SERIALIZED_DIFFERENTLY = {"swish"}


def test_serialize_round_trip() -> None:
    for name in FUNCTIONS:
        ours = activations.serialize(getattr(activations, name))
        if name not in SERIALIZED_DIFFERENTLY:
            assert ours == keras.activations.serialize(getattr(keras.activations, name)), name
        assert activations.deserialize(ours) is getattr(activations, name)
        try:
            keras_fn = keras.activations.deserialize(ours)
        except ValueError:
            continue  # Keras cannot deserialize its aliases ('hard_swish', 'swish')
        x = torch.from_numpy(X2)
        kwargs = {"threshold": 0.5, "default_value": 0.0} if name == "threshold" else {}
        np.testing.assert_allclose(
            _values(activations.deserialize(ours)(x, **kwargs)),
            _values(keras_fn(x, **kwargs)),
            rtol=1e-5,
            atol=1e-6,
        )
    function_config = keras.saving.serialize_keras_object(keras.activations.gelu)
    assert activations.deserialize(function_config) is activations.gelu
    custom = {"my_act": torch.tanh}
    assert activations.deserialize("my_act", custom_objects=custom) is torch.tanh
    assert activations.serialize(activations.swish) == "swish"
    assert activations.hard_swish is activations.hard_silu
