"""Element-wise binary ops of `keras.ops.numpy` (i..z): comparisons, logic, arithmetic.

Operands broadcast. Python scalars are weak (`int8 tensor * 2` stays int8): they become
0-d tensors, which torch's promotion treats like Keras's weak types. Ops that Keras
promotes explicitly (`maximum`, `logaddexp`, `ldexp`, ...) compute the Keras result
dtype first.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.ops.conversion import convert_to_tensor
from lamina.ops.dtypes import INT_TYPES, dtype_of, result_type
from lamina.ops.numpy.common_iz import as_tensor, cast, name_of

__all__ = [
    "isclose",
    "isin",
    "lcm",
    "ldexp",
    "left_shift",
    "less",
    "less_equal",
    "logaddexp",
    "logaddexp2",
    "logical_and",
    "logical_or",
    "logical_xor",
    "maximum",
    "minimum",
    "mod",
    "multiply",
    "nextafter",
    "not_equal",
    "power",
    "right_shift",
    "subtract",
    "true_divide",
]


def _pair(x1: Any, x2: Any) -> tuple[torch.Tensor, torch.Tensor]:
    return as_tensor(x1), as_tensor(x2)


def _promoted(x1: Any, x2: Any, *extra: Any) -> tuple[torch.Tensor, torch.Tensor, str]:
    """Both operands cast to their Keras result dtype (with `extra`, e.g. `float`)."""
    dtype = result_type(dtype_of(x1), dtype_of(x2), *extra)
    return convert_to_tensor(x1, dtype), convert_to_tensor(x2, dtype), dtype


def isclose(
    x1: Any, x2: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False
) -> torch.Tensor:
    """|x1 - x2| <= atol + rtol * |x2|, element-wise (exact equality for integers)."""
    a, b = _pair(x1, x2)
    dtype = result_type(a.dtype, b.dtype)
    a, b = cast(a, dtype), cast(b, dtype)
    if "float" in dtype:
        return torch.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)
    return torch.eq(a, b)


def isin(x1: Any, x2: Any, assume_unique: bool = False, invert: bool = False) -> torch.Tensor:
    """Whether each element of `x1` occurs in `x2`."""
    a, b = _pair(x1, x2)
    if a.dtype == torch.bool and b.dtype == torch.bool:
        a, b = a.to(torch.int32), b.to(torch.int32)
    elif a.dtype == torch.bool:
        a = a.to(b.dtype)
    elif b.dtype == torch.bool:
        b = b.to(a.dtype)
    return torch.isin(a, b, assume_unique=assume_unique, invert=invert)


def lcm(x1: Any, x2: Any) -> torch.Tensor:
    """Least common multiple of integers."""
    return torch.lcm(*_pair(x1, x2))


def ldexp(x1: Any, x2: Any) -> torch.Tensor:
    """x1 * 2**x2 for an integer exponent `x2`, in a float dtype."""
    a, b = _pair(x1, x2)
    if name_of(b) not in INT_TYPES:
        raise TypeError(f"Expected an integer exponent, received: x2.dtype={name_of(b)}")
    dtype = result_type(a.dtype, b.dtype, float)
    a = a.expand(torch.broadcast_shapes(a.shape, b.shape))  # torch resizes a 0-d x1 otherwise
    return cast(torch.ldexp(a, b), dtype)


def left_shift(x: Any, y: Any) -> torch.Tensor:
    """Bitwise shift of integers to the left by `y` bits."""
    x = as_tensor(x)
    return torch.bitwise_left_shift(x, y if isinstance(y, int) else as_tensor(y))


def right_shift(x: Any, y: Any) -> torch.Tensor:
    """Bitwise shift of integers to the right by `y` bits."""
    x = as_tensor(x)
    return torch.bitwise_right_shift(x, y if isinstance(y, int) else as_tensor(y))


def less(x1: Any, x2: Any) -> torch.Tensor:
    return torch.less(*_pair(x1, x2))


def less_equal(x1: Any, x2: Any) -> torch.Tensor:
    return torch.less_equal(*_pair(x1, x2))


def not_equal(x1: Any, x2: Any) -> torch.Tensor:
    return torch.not_equal(*_pair(x1, x2))


def logaddexp(x1: Any, x2: Any) -> torch.Tensor:
    """log(exp(x1) + exp(x2)) without overflow; float16 computes in float32 on the CPU."""
    a, b = _pair(x1, x2)  # Keras converts Python scalars before promoting here: not weak
    dtype = result_type(a.dtype, b.dtype, float)
    a, b = cast(a, dtype), cast(b, dtype)
    if dtype == "float16" and a.device.type == "cpu":
        return torch.logaddexp(a.float(), b.float()).to(torch.float16)
    return torch.logaddexp(a, b)


def logaddexp2(x1: Any, x2: Any) -> torch.Tensor:
    """log2(2**x1 + 2**x2) without overflow."""
    a, b = _pair(x1, x2)
    dtype = result_type(a.dtype, b.dtype, float)
    a, b = cast(a, dtype), cast(b, dtype)
    return torch.logaddexp2(a, b)


def logical_and(x1: Any, x2: Any) -> torch.Tensor:
    return torch.logical_and(*_pair(x1, x2))


def logical_or(x1: Any, x2: Any) -> torch.Tensor:
    return torch.logical_or(*_pair(x1, x2))


def logical_xor(x1: Any, x2: Any) -> torch.Tensor:
    return torch.logical_xor(*_pair(x1, x2))


def maximum(x1: Any, x2: Any) -> torch.Tensor:
    """Element-wise maximum (NaN propagates), in the operands' Keras result dtype."""
    a, b, _ = _promoted(x1, x2)
    return torch.maximum(a, b)


def minimum(x1: Any, x2: Any) -> torch.Tensor:
    """Element-wise minimum (NaN propagates), in the operands' Keras result dtype."""
    a, b, _ = _promoted(x1, x2)
    return torch.minimum(a, b)


def mod(x1: Any, x2: Any) -> torch.Tensor:
    """Remainder with the sign of the divisor (NumPy's `mod`); booleans compute as int32."""
    a, b = _pair(x1, x2)
    if result_type(a.dtype, b.dtype) == "bool":
        a, b = a.to(torch.int32), b.to(torch.int32)
    return torch.remainder(a, b)


def multiply(x1: Any, x2: Any) -> torch.Tensor:
    return torch.multiply(*_pair(x1, x2))


def nextafter(x1: Any, x2: Any) -> torch.Tensor:
    """The next float after `x1` toward `x2`, found in float64, returned in the result float dtype."""
    a, b = _pair(x1, x2)
    dtype = result_type(a.dtype, b.dtype, float)
    return cast(torch.nextafter(a.to(torch.float64), b.to(torch.float64)), dtype)


def power(x1: Any, x2: Any) -> torch.Tensor:
    return torch.pow(*_pair(x1, x2))


def subtract(x1: Any, x2: Any) -> torch.Tensor:
    """x1 - x2; a boolean operand takes the other operand's dtype."""
    a, b = _pair(x1, x2)
    if a.dtype == torch.bool:
        a = a.to(b.dtype)
    if b.dtype == torch.bool:
        b = b.to(a.dtype)
    return torch.subtract(a, b)


def true_divide(x1: Any, x2: Any) -> torch.Tensor:
    """x1 / x2 in a float dtype (Python scalars stay weak)."""
    a = x1 if isinstance(x1, (int, float)) else as_tensor(x1)
    b = x2 if isinstance(x2, (int, float)) else as_tensor(x2)
    return torch.divide(a, b)
