"""Array creation of `keras.ops.numpy` (i..z): ones, zeros, identity, tri, linspace, logspace,
meshgrid, vander and the Kaiser window. Dtypes default to floatx, as in Keras."""

from __future__ import annotations

from typing import Any

import torch

from lamina import config
from lamina.ops.dtypes import result_type, to_torch_dtype
from lamina.ops.numpy.common_iz import as_tensor, cast

__all__ = [
    "identity",
    "kaiser",
    "linspace",
    "logspace",
    "meshgrid",
    "ones",
    "ones_like",
    "tri",
    "vander",
    "zeros",
    "zeros_like",
]


def _dtype(dtype: Any) -> torch.dtype:
    return to_torch_dtype(dtype or config.floatx())


def _shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, int):
        return (shape,)
    if isinstance(shape, torch.Tensor):
        return tuple(int(v) for v in shape.reshape(-1).tolist())
    return tuple(int(v) for v in shape)


def ones(shape: Any, dtype: Any = None) -> torch.Tensor:
    return torch.ones(_shape(shape), dtype=_dtype(dtype))


def zeros(shape: Any, dtype: Any = None) -> torch.Tensor:
    return torch.zeros(_shape(shape), dtype=_dtype(dtype))


def ones_like(x: Any, dtype: Any = None) -> torch.Tensor:
    x = as_tensor(x)
    return torch.ones_like(x, dtype=to_torch_dtype(dtype) if dtype else x.dtype)


def zeros_like(x: Any, dtype: Any = None) -> torch.Tensor:
    x = as_tensor(x)
    return torch.zeros_like(x, dtype=to_torch_dtype(dtype) if dtype else x.dtype)


def identity(n: int, dtype: Any = None) -> torch.Tensor:
    """The n x n identity matrix."""
    target = _dtype(dtype)
    if target == torch.bfloat16:
        return torch.eye(n, dtype=torch.float32).to(target)
    return torch.eye(n, dtype=target)


def tri(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> torch.Tensor:
    """An N x M matrix with ones at and below the k-th diagonal."""
    return torch.tril(torch.ones((N, M or N), dtype=_dtype(dtype)), diagonal=k)


def kaiser(x: Any, beta: float) -> torch.Tensor:
    """The Kaiser window of `x` points with shape parameter `beta` (symmetric, floatx)."""
    length = int(x.item() if isinstance(x, torch.Tensor) else x)
    return torch.signal.windows.kaiser(length, beta=beta, dtype=_dtype(None))


def _span_dtype(start: Any, stop: Any, dtype: Any) -> torch.dtype:
    if dtype is None:
        dtype = result_type(
            getattr(start, "dtype", type(start)), getattr(stop, "dtype", type(stop)), float
        )
    return to_torch_dtype(dtype)


def _ramp(start: Any, stop: Any, num: int, endpoint: bool, dtype: torch.dtype) -> torch.Tensor:
    """`num` evenly spaced points from start to stop, broadcast over array bounds (axis 0)."""
    a = as_tensor(start).to(dtype)
    b = as_tensor(stop).to(dtype)
    if a.ndim == 0 and b.ndim == 0:
        if not endpoint and num > 0:
            b = b - (b - a) / num
        return torch.linspace(float(a), float(b), num, dtype=dtype)
    if not endpoint:
        b = b - (b - a) / num
    steps = torch.arange(num, dtype=dtype) / (num - 1)
    steps = steps.reshape(num, *([1] * max(a.ndim, b.ndim)))
    return a[None] + steps * (b - a)[None]


def linspace(
    start: Any,
    stop: Any,
    num: int = 50,
    endpoint: bool = True,
    retstep: bool = False,
    dtype: Any = None,
    axis: int = 0,
) -> Any:
    """`num` evenly spaced samples over [start, stop] (or [start, stop) without `endpoint`)."""
    target = _span_dtype(start, stop, dtype)
    out = _ramp(start, stop, num, endpoint, target)
    if axis != 0:
        out = torch.moveaxis(out, 0, axis)
    if not retstep:
        return out
    span = as_tensor(stop) - as_tensor(start)
    if endpoint:
        step = span / (num - 1) if num > 1 else torch.tensor(float("nan"))
    else:
        step = span / num if num > 0 else torch.tensor(float("nan"))
    return out, step


def logspace(
    start: Any,
    stop: Any,
    num: int = 50,
    endpoint: bool = True,
    base: float = 10,
    dtype: Any = None,
    axis: int = 0,
) -> torch.Tensor:
    """`num` samples evenly spaced on a log scale: base**linspace(start, stop)."""
    target = _span_dtype(start, stop, dtype)
    compute = torch.float32 if target == torch.float16 else target
    if not (hasattr(start, "__len__") and hasattr(stop, "__len__")):
        a, b = float(as_tensor(start)), float(as_tensor(stop))
        if not endpoint:
            b = b - (b - a) / num
        out = torch.logspace(a, b, num, base=base, dtype=compute).to(target)
    else:
        out = base ** _ramp(start, stop, num, endpoint, target)
    if axis != 0:
        out = torch.moveaxis(out, 0, axis)
    return out


def meshgrid(*x: Any, indexing: str = "xy") -> tuple[torch.Tensor, ...]:
    """Coordinate matrices from coordinate vectors ('xy' Cartesian or 'ij' matrix indexing)."""
    return tuple(torch.meshgrid(*[as_tensor(v) for v in x], indexing=indexing))


def vander(x: Any, N: int | None = None, increasing: bool = False) -> torch.Tensor:
    """The Vandermonde matrix of a 1-D `x`: columns are powers of `x`."""
    x = as_tensor(x)
    if x.ndim != 1:
        raise ValueError(f"Expected a 1-D input, received: x.shape={tuple(x.shape)}")
    if N is not None and N < 0:
        raise ValueError(f"Expected N >= 0, received: N={N}")
    return cast(torch.vander(x, N=N, increasing=increasing), result_type(x.dtype))
