"""Element-wise unary math of `keras.ops.numpy` (i..z): logs, trig, rounding, predicates.

Integer and boolean inputs to the float functions give torch's default float (float32),
as on Keras's torch backend; float16/bfloat16/float64 inputs keep their dtype.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.ops.numpy.common_iz import as_tensor, cast, floatx, is_intlike, name_of

__all__ = [
    "i0",
    "imag",
    "isfinite",
    "isinf",
    "isnan",
    "isneginf",
    "isposinf",
    "isreal",
    "log",
    "log10",
    "log1p",
    "log2",
    "logical_not",
    "nan_to_num",
    "negative",
    "rad2deg",
    "real",
    "reciprocal",
    "round",
    "sign",
    "signbit",
    "sin",
    "sinc",
    "sinh",
    "sqrt",
    "square",
    "tan",
    "tanh",
    "trunc",
]


def i0(x: Any) -> torch.Tensor:
    """Modified Bessel function of the first kind, order 0 (int64/float64 compute in float64)."""
    x = as_tensor(x)
    name = name_of(x)
    if name in ("int64", "float64"):
        target = "float64"
    elif name in ("bfloat16", "float16"):
        target = name
    else:
        target = floatx()
    return torch.i0(cast(x, target))


def imag(x: Any) -> torch.Tensor:
    """The imaginary part; zeros for a real input."""
    x = as_tensor(x)
    return torch.imag(x) if x.is_complex() else torch.zeros_like(x)


def real(x: Any) -> torch.Tensor:
    """The real part; a real input is returned as is."""
    x = as_tensor(x)
    return torch.real(x)


def isfinite(x: Any) -> torch.Tensor:
    return torch.isfinite(as_tensor(x))


def isinf(x: Any) -> torch.Tensor:
    return torch.isinf(as_tensor(x))


def isnan(x: Any) -> torch.Tensor:
    return torch.isnan(as_tensor(x))


def isneginf(x: Any) -> torch.Tensor:
    return torch.isneginf(as_tensor(x))


def isposinf(x: Any) -> torch.Tensor:
    return torch.isposinf(as_tensor(x))


def isreal(x: Any) -> torch.Tensor:
    return torch.isreal(as_tensor(x))


def log(x: Any) -> torch.Tensor:
    return torch.log(as_tensor(x))


def log10(x: Any) -> torch.Tensor:
    return torch.log10(as_tensor(x))


def log1p(x: Any) -> torch.Tensor:
    return torch.log1p(as_tensor(x))


def log2(x: Any) -> torch.Tensor:
    return torch.log2(as_tensor(x))


def logical_not(x: Any) -> torch.Tensor:
    return torch.logical_not(as_tensor(x))


def nan_to_num(
    x: Any, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
) -> torch.Tensor:
    """NaN to `nan`, +-inf to `posinf`/`neginf` (the dtype's extremes by default)."""
    return torch.nan_to_num(as_tensor(x), nan=nan, posinf=posinf, neginf=neginf)


def negative(x: Any) -> torch.Tensor:
    return torch.negative(as_tensor(x))


def rad2deg(x: Any) -> torch.Tensor:
    """Radians to degrees; int64 input gives float64, as on Keras's torch backend."""
    x = as_tensor(x)
    if name_of(x) == "int64":
        return torch.rad2deg(x).to(torch.float64)
    return torch.rad2deg(x)


def reciprocal(x: Any) -> torch.Tensor:
    return torch.reciprocal(as_tensor(x))


def round(x: Any, decimals: int = 0) -> torch.Tensor:  # noqa: A001 - Keras's name
    """Round half to even to `decimals` places; integer inputs keep their dtype."""
    x = as_tensor(x)
    if is_intlike(x) and x.dtype != torch.bool:
        return torch.round(cast(x, floatx()), decimals=decimals).to(x.dtype)
    return torch.round(x, decimals=decimals)


def sign(x: Any) -> torch.Tensor:
    return torch.sign(as_tensor(x))


def signbit(x: Any) -> torch.Tensor:
    return torch.signbit(as_tensor(x))


def sin(x: Any) -> torch.Tensor:
    return torch.sin(as_tensor(x))


def sinc(x: Any) -> torch.Tensor:
    """The normalized sinc, sin(pi x) / (pi x)."""
    return torch.sinc(as_tensor(x))


def sinh(x: Any) -> torch.Tensor:
    return torch.sinh(as_tensor(x))


def sqrt(x: Any) -> torch.Tensor:
    x = as_tensor(x)
    if name_of(x) == "int64":
        x = cast(x, floatx())
    return torch.sqrt(x)


def square(x: Any) -> torch.Tensor:
    """x * x; booleans square as int32."""
    x = as_tensor(x)
    if x.dtype == torch.bool:
        x = x.to(torch.int32)
    return torch.square(x)


def tan(x: Any) -> torch.Tensor:
    return torch.tan(as_tensor(x))


def tanh(x: Any) -> torch.Tensor:
    return torch.tanh(as_tensor(x))


def trunc(x: Any) -> torch.Tensor:
    """Round toward zero; integers and booleans pass through."""
    x = as_tensor(x)
    if is_intlike(x):
        return x
    return torch.trunc(x)
