"""Products and integrals of `keras.ops.numpy` (i..z): matmul, inner, outer, vdot, kron,
tensordot, slogdet, trapezoid.

Integer products compute in a float dtype where torch lacks integer kernels and are cast
back to the Keras result dtype (int8 @ int8 gives int32, as on Keras's torch backend).
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import config
from lamina.ops.dtypes import result_type
from lamina.ops.numpy.common_iz import as_tensor, cast

__all__ = ["inner", "kron", "matmul", "outer", "slogdet", "tensordot", "trapezoid", "vdot"]


def _float_compute(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, str]:
    """Operands cast to a float compute dtype; the Keras result dtype alongside."""
    out = result_type(a.dtype, b.dtype)
    compute = result_type(out, float)
    if compute == "float16" and a.device.type == "cpu":
        compute = "float32"
    return cast(a, compute), cast(b, compute), out


def matmul(x1: Any, x2: Any) -> torch.Tensor:
    """Matrix product with NumPy's broadcasting and 1-D promotion rules."""
    a, b = as_tensor(x1), as_tensor(x2)
    if a.dtype == torch.int8 and b.dtype == torch.int8:
        out = "int32"
    else:
        out = result_type(a.dtype, b.dtype)
    compute = config.floatx() if out == "bool" else out
    if compute == "float16" and a.device.type == "cpu":
        compute = "float32"
    return cast(torch.matmul(cast(a, compute), cast(b, compute)), out)


def inner(x1: Any, x2: Any) -> torch.Tensor:
    """Sum product over the last axes."""
    a, b, out = _float_compute(as_tensor(x1), as_tensor(x2))
    return cast(torch.inner(a, b), out)


def vdot(x1: Any, x2: Any) -> torch.Tensor:
    """Dot product of two vectors (the first conjugated)."""
    a, b, out = _float_compute(as_tensor(x1), as_tensor(x2))
    return cast(torch.vdot(a.reshape(-1), b.reshape(-1)), out)


def tensordot(x1: Any, x2: Any, axes: Any = 2) -> torch.Tensor:
    """Sum products over `axes` (an int: the last/first n axes; or two axis lists)."""
    a, b, out = _float_compute(as_tensor(x1), as_tensor(x2))
    if isinstance(axes, (list, tuple)):
        first, second = axes
        first = list(first) if isinstance(first, (list, tuple)) else [first]
        second = list(second) if isinstance(second, (list, tuple)) else [second]
        axes = (first, second)
    return cast(torch.tensordot(a, b, dims=axes), out)


def outer(x1: Any, x2: Any) -> torch.Tensor:
    """Outer product of the flattened inputs."""
    a, b = as_tensor(x1), as_tensor(x2)
    return torch.outer(a.reshape(-1), b.reshape(-1))


def kron(x1: Any, x2: Any) -> torch.Tensor:
    """Kronecker product."""
    return torch.kron(as_tensor(x1), as_tensor(x2))


def slogdet(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """(sign, log|det|) of square matrices."""
    sign, logabsdet = torch.linalg.slogdet(as_tensor(x))
    return sign, logabsdet


def trapezoid(y: Any, x: Any = None, dx: float = 1.0, axis: int = -1) -> torch.Tensor:
    """Integral of `y` along `axis` by the trapezoidal rule (samples at `x`, or spaced `dx`)."""
    y = as_tensor(y)
    if y.dtype == torch.bool:
        y = y.to(torch.float32 if config.floatx() == "float32" else y.dtype)
    if x is not None:
        return torch.trapezoid(y, x=as_tensor(x), dim=axis)
    return torch.trapezoid(y, dx=dx if not isinstance(dx, torch.Tensor) else dx.item(), dim=axis)
