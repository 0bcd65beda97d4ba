"""Keras's binary elementwise ops a..h on torch: arithmetic, comparisons, bitwise ops.

Operands broadcast; Python scalars are weak (an int8 tensor plus 1 stays int8), as on
Keras's torch backend, whose result dtypes these reproduce.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import config
from lamina.ops.conversion import convert_to_tensor
from lamina.ops.core.casting import cast
from lamina.ops.dtypes import dtype_of, result_type, standardize_dtype

__all__ = [
    "add",
    "allclose",
    "arctan2",
    "bitwise_and",
    "bitwise_invert",
    "bitwise_left_shift",
    "bitwise_not",
    "bitwise_or",
    "bitwise_right_shift",
    "bitwise_xor",
    "clip",
    "divide",
    "divide_no_nan",
    "equal",
    "floor_divide",
    "fmax",
    "fmin",
    "fmod",
    "gcd",
    "greater",
    "greater_equal",
    "heaviside",
    "hypot",
]

_SMALL_INTS = ("int8", "int16", "int32", "uint8", "uint16", "uint32")


def _pair(x1: Any, x2: Any) -> tuple[torch.Tensor, torch.Tensor]:
    return convert_to_tensor(x1), convert_to_tensor(x2)


def _scalar_or_tensor(x: Any) -> Any:
    """Python numbers stay Python numbers (torch treats them as weak); the rest become tensors."""
    return x if isinstance(x, (int, float)) else convert_to_tensor(x)


def add(x1: Any, x2: Any) -> torch.Tensor:
    """`x1 + x2`, elementwise with broadcasting."""
    return torch.add(*_pair(x1, x2))


def arctan2(x1: Any, x2: Any) -> torch.Tensor:
    """The angle of the point `(x2, x1)`, in the quadrant its signs give."""
    x1, x2 = _pair(x1, x2)
    target = result_type(x1.dtype, x2.dtype, float)
    compute = "float32" if target == "float16" else target
    return cast(torch.arctan2(cast(x1, compute), cast(x2, compute)), target)


def bitwise_and(x: Any, y: Any) -> torch.Tensor:
    """`x & y` on ints and bools."""
    return torch.bitwise_and(*_pair(x, y))


def bitwise_or(x: Any, y: Any) -> torch.Tensor:
    """`x | y` on ints and bools."""
    return torch.bitwise_or(*_pair(x, y))


def bitwise_xor(x: Any, y: Any) -> torch.Tensor:
    """`x ^ y` on ints and bools."""
    return torch.bitwise_xor(*_pair(x, y))


def bitwise_invert(x: Any) -> torch.Tensor:
    """`~x` on ints and bools."""
    return torch.bitwise_not(convert_to_tensor(x))


def bitwise_not(x: Any) -> torch.Tensor:
    """`~x`: an alias of `bitwise_invert`."""
    return bitwise_invert(x)


def bitwise_left_shift(x: Any, y: Any) -> torch.Tensor:
    """`x << y` on ints (a Python int `y` keeps `x`'s dtype)."""
    x = convert_to_tensor(x)
    return torch.bitwise_left_shift(x, y if isinstance(y, int) else convert_to_tensor(y))


def bitwise_right_shift(x: Any, y: Any) -> torch.Tensor:
    """`x >> y` on ints (a Python int `y` keeps `x`'s dtype)."""
    x = convert_to_tensor(x)
    return torch.bitwise_right_shift(x, y if isinstance(y, int) else convert_to_tensor(y))


def clip(x: Any, x_min: Any, x_max: Any) -> torch.Tensor:
    """`x` limited to `[x_min, x_max]`, elementwise (bool becomes int32)."""
    x = convert_to_tensor(x)
    low, high = convert_to_tensor(x_min), convert_to_tensor(x_max)
    if x.dtype == torch.float16:
        return torch.clip(x.float(), min=low, max=high).to(torch.float16)
    if x.dtype == torch.bool:
        x = x.to(torch.int32)
    return torch.clip(x, min=low, max=high)


def divide(x1: Any, x2: Any) -> torch.Tensor:
    """True division `x1 / x2` (ints give floats)."""
    x1, x2 = _scalar_or_tensor(x1), _scalar_or_tensor(x2)
    if not isinstance(x1, torch.Tensor):
        x1 = convert_to_tensor(x1) if not isinstance(x2, torch.Tensor) else torch.as_tensor(x1)
    return torch.divide(x1, x2)


def divide_no_nan(x1: Any, x2: Any) -> torch.Tensor:
    """`x1 / x2`, but 0 wherever `x2` is 0."""
    target = result_type(dtype_of(x1), dtype_of(x2), float)
    x1, x2 = convert_to_tensor(x1, target), convert_to_tensor(x2, target)
    zero = x2 == 0
    safe = torch.where(zero, torch.ones_like(x2), x2)
    return torch.where(zero, 0, torch.divide(x1, safe))


def floor_divide(x1: Any, x2: Any) -> torch.Tensor:
    """`x1 // x2`, rounding toward minus infinity."""
    target = result_type(dtype_of(x1), dtype_of(x2))
    x1, x2 = _scalar_or_tensor(x1), _scalar_or_tensor(x2)
    if not isinstance(x1, torch.Tensor):
        x1 = torch.as_tensor(x1) if isinstance(x2, torch.Tensor) else convert_to_tensor(x1)
    return cast(torch.floor_divide(x1, x2), target)


def equal(x1: Any, x2: Any) -> torch.Tensor:
    """`x1 == x2`, elementwise (bool)."""
    return torch.eq(*_pair(x1, x2))


def greater(x1: Any, x2: Any) -> torch.Tensor:
    """`x1 > x2`, elementwise (bool)."""
    return torch.greater(*_pair(x1, x2))


def greater_equal(x1: Any, x2: Any) -> torch.Tensor:
    """`x1 >= x2`, elementwise (bool)."""
    return torch.greater_equal(*_pair(x1, x2))


def _promoted(x1: Any, x2: Any) -> tuple[torch.Tensor, torch.Tensor]:
    target = result_type(dtype_of(x1), dtype_of(x2))
    return convert_to_tensor(x1, target), convert_to_tensor(x2, target)


def fmax(x1: Any, x2: Any) -> torch.Tensor:
    """Elementwise maximum that ignores NaN (NaN only where both are NaN)."""
    return torch.fmax(*_promoted(x1, x2))


def fmin(x1: Any, x2: Any) -> torch.Tensor:
    """Elementwise minimum that ignores NaN (NaN only where both are NaN)."""
    return torch.fmin(*_promoted(x1, x2))


def fmod(x1: Any, x2: Any) -> torch.Tensor:
    """The remainder of `x1 / x2` with the sign of `x1` (C's fmod)."""
    x1, x2 = _pair(x1, x2)
    if result_type(x1.dtype, x2.dtype) == "bool":
        x1, x2 = x1.to(torch.int32), x2.to(torch.int32)
    return torch.fmod(x1, x2)


def gcd(x1: Any, x2: Any) -> torch.Tensor:
    """The greatest common divisor of integers, elementwise."""
    return torch.gcd(*_pair(x1, x2))


def _float_of_ints(x1: torch.Tensor, x2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Both cast to their promoted dtype, ints widened to floats (int64 to float64)."""
    target = result_type(x1.dtype, x2.dtype)
    if target in _SMALL_INTS:
        target = config.floatx()
    elif target == "int64":
        target = "float64"
    return cast(x1, target), cast(x2, target)


def heaviside(x1: Any, x2: Any) -> torch.Tensor:
    """The step function: 0 where `x1 < 0`, 1 where `x1 > 0`, `x2` where `x1 == 0`."""
    return torch.heaviside(*_float_of_ints(*_pair(x1, x2)))


def hypot(x1: Any, x2: Any) -> torch.Tensor:
    """`sqrt(x1**2 + x2**2)`, elementwise without overflow."""
    return torch.hypot(*_float_of_ints(*_pair(x1, x2)))


def allclose(
    x1: Any, x2: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False
) -> torch.Tensor:
    """Whether all `|x1 - x2| <= atol + rtol * |x2|` (exact equality for non-floats), as a bool tensor."""
    x1, x2 = _pair(x1, x2)
    target = result_type(x1.dtype, x2.dtype)
    x1, x2 = cast(x1, target), cast(x2, target)
    if "float" in standardize_dtype(target):
        return torch.all(torch.isclose(x1, x2, rtol=rtol, atol=atol, equal_nan=equal_nan))
    return torch.all(torch.eq(x1, x2))
