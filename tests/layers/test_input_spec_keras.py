"""InputSpec's shape, allow_last_axis_squeeze and optional checks accept exactly what Keras 3 accepts."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

from keras.src.layers.input_spec import assert_input_compatibility  # noqa: E402

from lamina.layers import InputSpec  # noqa: E402
from lamina.layers.input_spec import check_input  # noqa: E402

SPECS = [
    {"shape": (None, 28, 28, 1), "allow_last_axis_squeeze": True},
    {"shape": (None, 28, 28, 1)},
    {"shape": (None, None, 3)},
    {"ndim": 3, "allow_last_axis_squeeze": True, "shape": (None, 5, 1)},
    {"min_ndim": 2, "axes": {-1: 4}},
    {"max_ndim": 3},
]
SHAPES = [
    (2, 28, 28, 1),
    (2, 28, 28),
    (2, 28, 27),
    (2, 7, 3),
    (2, 7, 4),
    (2, 5),
    (2, 5, 1),
    (2, 3, 4),
    (2, 2, 2, 4),
]


class _Named:
    name = "probe"


def _keras_accepts(spec: dict, shape: tuple) -> bool:
    try:
        assert_input_compatibility(
            keras.layers.InputSpec(**spec), keras.KerasTensor(shape), "probe"
        )
    except ValueError:
        return False
    return True


def _ours_accepts(spec: dict, shape: tuple) -> bool:
    try:
        check_input(_Named(), InputSpec(**spec), shape)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_accepts_what_keras_accepts(spec):
    for shape in SHAPES:
        assert _ours_accepts(spec, shape) == _keras_accepts(spec, shape), shape


def test_keras_arguments_are_kept():
    spec = InputSpec(dtype="float32", shape=(None, 3), name="x", optional=True)
    assert (spec.dtype, spec.shape, spec.ndim, spec.name, spec.optional) == (
        "float32",
        (None, 3),
        2,
        "x",
        True,
    )
    check_input(_Named(), spec, None)  # an optional input may be absent
    assert InputSpec.from_config(spec.get_config()).shape == (None, 3)
    with pytest.raises(TypeError, match="integer keys"):
        InputSpec(axes={"a": 3})
