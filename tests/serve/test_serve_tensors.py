"""JSON values -> arrays: only finite numbers of the input's shape and kind pass."""

from __future__ import annotations

import numpy as np
import pytest

from lamina.serve.errors import ServeError
from lamina.serve.signature import TensorSpec
from lamina.serve.tensors import to_array

FLOATS = TensorSpec("x", (None, 2, 3), "float32")
INTS = TensorSpec("ids", (None, 3), "int32")
OPEN = TensorSpec("seq", (None, None, 2), "float32")


def test_numbers_of_the_right_shape_pass():
    got = to_array([[1, 2.5, 3], [4, 5, 6]], FLOATS, "x", batched=False)
    assert got.dtype == np.float32 and got.shape == (2, 3)
    np.testing.assert_array_equal(got, [[1, 2.5, 3], [4, 5, 6]])
    assert to_array([[[0, 1]] * 5], OPEN, "x", batched=True).shape == (1, 5, 2)
    assert to_array([1, -2, 2**31 - 1], INTS, "x", batched=False).dtype == np.int32


@pytest.mark.parametrize(
    "value, spec, word",
    [
        ([[1, 2, 3], [4, 5, True]], FLOATS, "booleans"),
        ([[1, 2, 3], [4, 5, "6"]], FLOATS, "strings"),
        ([[1, 2, 3], [4, 5, None]], FLOATS, "null"),
        ([[1, 2, 3], [4, 5]], FLOATS, "ragged"),
        ([[1, 2, 3], [4, 5, [6]]], FLOATS, "ragged"),
        ([[1, 2, 3], [4, 5, {"a": 1}]], FLOATS, "objects"),
        ([[1, 2, 3]], FLOATS, "shape=(1, 3)"),
        ([[1, 2, 3], [4, 5, 1e39]], FLOATS, "overflows"),
        ([[1, 2, 3], [4, 5, 10**400]], FLOATS, "too large"),
        ([[1, 2, 3], [4, 5, float("nan")]], FLOATS, "overflows"),
        ([1, 2, 3.5], INTS, "fractional"),
        ([1, 2, 2**31], INTS, "range"),
        ([[[0, 1, 2]]], OPEN, "shape=(1, 1, 3)"),
    ],
)
def test_everything_else_is_a_400(value, spec, word):
    with pytest.raises(ServeError) as caught:
        to_array(value, spec, "instances[0]", batched=False if spec is not OPEN else True)
    assert caught.value.status == 400
    assert caught.value.message.startswith("Expected numbers in instances[0]")
    assert word in caught.value.message
