"""Keras's unary elementwise ops a..h on torch (abs, arccos, cbrt, ceil, exp, floor, ...).

Integer and bool inputs of the transcendental ops give float results with the dtype
Keras's torch backend gives (mostly floatx; torch's own promotion elsewhere).
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import config
from lamina.ops.conversion import convert_to_tensor
from lamina.ops.core.casting import cast
from lamina.ops.dtypes import result_type, standardize_dtype

__all__ = [
    "abs",
    "absolute",
    "angle",
    "arccos",
    "arccosh",
    "arcsin",
    "arcsinh",
    "arctan",
    "arctanh",
    "cbrt",
    "ceil",
    "conj",
    "conjugate",
    "copy",
    "cos",
    "cosh",
    "deg2rad",
    "exp",
    "exp2",
    "expm1",
    "fabs",
    "floor",
]


def _float_if_int(x: Any) -> torch.Tensor:
    """`x` as a tensor, with int and bool inputs cast to floatx."""
    x = convert_to_tensor(x)
    name = standardize_dtype(x.dtype)
    return cast(x, config.floatx()) if "int" in name or name == "bool" else x


def absolute(x: Any) -> torch.Tensor:
    """`|x|`, elementwise (bool stays bool)."""
    x = convert_to_tensor(x)
    return x if x.dtype == torch.bool else torch.abs(x)


def abs(x: Any) -> torch.Tensor:  # noqa: A001 - Keras's name
    """`|x|`, elementwise: an alias of `absolute`."""
    return absolute(x)


def fabs(x: Any) -> torch.Tensor:
    """`|x|` as floats (int and bool inputs become floatx)."""
    return torch.abs(_float_if_int(x))


def angle(x: Any) -> torch.Tensor:
    """The argument (phase) of complex `x`; 0 or pi for reals."""
    return torch.angle(convert_to_tensor(x))


def arccos(x: Any) -> torch.Tensor:
    """Inverse cosine, elementwise."""
    return torch.arccos(convert_to_tensor(x))


def arccosh(x: Any) -> torch.Tensor:
    """Inverse hyperbolic cosine, elementwise."""
    return torch.arccosh(convert_to_tensor(x))


def arcsin(x: Any) -> torch.Tensor:
    """Inverse sine, elementwise."""
    return torch.arcsin(convert_to_tensor(x))


def arcsinh(x: Any) -> torch.Tensor:
    """Inverse hyperbolic sine, elementwise."""
    return torch.arcsinh(convert_to_tensor(x))


def arctan(x: Any) -> torch.Tensor:
    """Inverse tangent, elementwise."""
    return torch.arctan(convert_to_tensor(x))


def arctanh(x: Any) -> torch.Tensor:
    """Inverse hyperbolic tangent, elementwise."""
    return torch.arctanh(convert_to_tensor(x))


def cbrt(x: Any) -> torch.Tensor:
    """The real cube root, elementwise (negative inputs give negative roots)."""
    x = convert_to_tensor(x)
    name = standardize_dtype(x.dtype)
    if name == "bool":
        x = cast(x, "int32")
    elif name == "int64":
        x = cast(x, "float64")
    return torch.sign(x) * torch.abs(x) ** (1.0 / 3.0)


def ceil(x: Any) -> torch.Tensor:
    """The smallest integer-valued float not below `x`, elementwise."""
    x = convert_to_tensor(x)
    name = standardize_dtype(x.dtype)
    target = config.floatx() if name == "int64" else result_type(name, float)
    if name == "bool":
        x = cast(x, "uint8")
    elif name == "float16":
        x = cast(x, "float32")
    return cast(torch.ceil(x), target)


def floor(x: Any) -> torch.Tensor:
    """The largest integer-valued float not above `x`, elementwise."""
    x = convert_to_tensor(x)
    name = standardize_dtype(x.dtype)
    target = config.floatx() if name == "int64" else result_type(name, float)
    return torch.floor(cast(x, target))


def conjugate(x: Any) -> torch.Tensor:
    """The complex conjugate, elementwise (reals are returned unchanged)."""
    return torch.conj(convert_to_tensor(x)).resolve_conj()


def conj(x: Any) -> torch.Tensor:
    """The complex conjugate: an alias of `conjugate`."""
    return conjugate(x)


def copy(x: Any) -> torch.Tensor:
    """A new tensor with `x`'s values (gradients still flow through it)."""
    return torch.clone(convert_to_tensor(x))


def cos(x: Any) -> torch.Tensor:
    """Cosine, elementwise."""
    return torch.cos(convert_to_tensor(x))


def cosh(x: Any) -> torch.Tensor:
    """Hyperbolic cosine, elementwise."""
    return torch.cosh(convert_to_tensor(x))


def deg2rad(x: Any) -> torch.Tensor:
    """Degrees to radians, elementwise (int64 gives float64)."""
    x = convert_to_tensor(x)
    if x.dtype == torch.int64:
        return torch.deg2rad(x).to(torch.float64)
    return torch.deg2rad(x)


def exp(x: Any) -> torch.Tensor:
    """`e ** x`, elementwise."""
    return torch.exp(_float_if_int(x))


def exp2(x: Any) -> torch.Tensor:
    """`2 ** x`, elementwise."""
    return torch.exp2(_float_if_int(x))


def expm1(x: Any) -> torch.Tensor:
    """`exp(x) - 1`, accurate near 0."""
    return torch.expm1(_float_if_int(x))
