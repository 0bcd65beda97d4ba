"""lamina.ops.dtypes against Keras 3's own promotion rules (torch backend) and conversion rules."""

from __future__ import annotations

import itertools
import os

import numpy as np
import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

from lamina.ops.conversion import convert_to_numpy, convert_to_tensor  # noqa: E402
from lamina.ops.dtypes import result_type, standardize_dtype  # noqa: E402

TYPES = [
    "bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16",
    "float32", "float64", "complex64", int, float,
]  # fmt: skip


@pytest.mark.parametrize(("a", "b"), list(itertools.product(TYPES, repeat=2)))
def test_result_type_matches_keras_for_every_pair(a: object, b: object) -> None:
    try:
        expected = keras.backend.result_type(a, b)
    except ValueError:
        with pytest.raises(ValueError, match="Expected"):
            result_type(a, b)
        return
    assert result_type(a, b) == expected


def test_result_type_of_three_and_of_none() -> None:
    for combo in [("int8", "uint8", float), ("int32", int, "float16"), (None, "int64")]:
        assert result_type(*combo) == keras.backend.result_type(*combo)
    assert result_type() == keras.backend.result_type()


@pytest.mark.parametrize(
    "value",
    [
        1, 2**40, 1.5, True, 1 + 2j, [1, 2, 3], [1, 2.5], [[True, False]],
        np.arange(4, dtype=np.int16), np.ones(3, np.float64), np.ones(2, np.uint32),
        np.float64(2.0), np.int64(3), np.float32(1.0),
    ],
)  # fmt: skip
def test_convert_to_tensor_gives_keras_dtype_and_value(value: object) -> None:
    expected = keras.ops.convert_to_tensor(value)
    got = convert_to_tensor(value)
    assert isinstance(got, torch.Tensor)
    assert standardize_dtype(got.dtype) == standardize_dtype(expected.dtype)
    np.testing.assert_array_equal(convert_to_numpy(got), keras.ops.convert_to_numpy(expected))


def test_convert_to_tensor_casts_and_keeps_tensors() -> None:
    t = torch.arange(3)
    assert convert_to_tensor(t) is t
    assert convert_to_tensor(t, "float16").dtype == torch.float16
    assert convert_to_tensor([1, 2], dtype="float32").dtype == torch.float32


def test_bad_inputs_name_what_was_expected() -> None:
    with pytest.raises(ValueError, match="received: dtype='float7'"):
        standardize_dtype("float7")
    with pytest.raises(ValueError, match="Expected numeric data"):
        convert_to_tensor(np.array(["a", "b"]))
    with pytest.raises(ValueError, match="sparse"):
        convert_to_tensor([1], sparse=True)
