"""Reductions of `keras.ops.numpy` (i..z): max, min, sum, prod, mean, var, quantiles, trace.

Dtypes follow Keras's torch backend: `sum`/`prod`/`trace` widen bool and narrow integers
to int32, `mean`/`var`/`quantile` give a float (floatx for integers), `std` float32 for
integers. `axis=()` reduces nothing, as in NumPy.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from lamina import config
from lamina.ops.conversion import convert_to_tensor
from lamina.ops.dtypes import result_type, standardize_dtype, to_torch_dtype
from lamina.ops.numpy.common_iz import (
    as_tensor,
    axes_tuple,
    cast,
    is_empty_axis,
    name_of,
    promote,
)

__all__ = [
    "max",
    "mean",
    "median",
    "min",
    "percentile",
    "prod",
    "ptp",
    "quantile",
    "std",
    "sum",
    "trace",
    "var",
]

_SMALL_INTS = ("bool", "uint8", "int8", "int16")


def _stacked(x: Any) -> torch.Tensor:
    if isinstance(x, (list, tuple)) and any(isinstance(v, torch.Tensor) for v in x):
        return torch.stack([as_tensor(v) for v in x])
    return as_tensor(x)


def _extreme(x: Any, axis: Any, keepdims: bool, initial: Any, largest: bool) -> torch.Tensor:
    x = as_tensor(x)
    if x.numel() == 0:
        if initial is None:
            kind = "max" if largest else "min"
            raise ValueError(
                f"Expected a non-empty tensor for {kind}, received: shape={tuple(x.shape)}"
            )
        shape = (1,) * x.ndim if keepdims else ()
        return torch.full(shape, initial)
    reduce = torch.amax if largest else torch.amin
    if axis is None:
        out = reduce(x, dim=tuple(range(x.ndim)), keepdim=keepdims) if keepdims else reduce(x)
    elif is_empty_axis(axis):
        out = x
    else:
        out = reduce(x, dim=axes_tuple(axis, x.ndim), keepdim=keepdims)
    if initial is not None:
        bound = torch.full(out.shape, initial, dtype=out.dtype, device=out.device)
        out = torch.maximum(out, bound) if largest else torch.minimum(out, bound)
    return out


def max(x: Any, axis: Any = None, keepdims: bool = False, initial: Any = None) -> torch.Tensor:  # noqa: A001
    """The largest element along `axis` (all axes by default), at least `initial`."""
    return _extreme(x, axis, keepdims, initial, largest=True)


def min(x: Any, axis: Any = None, keepdims: bool = False, initial: Any = None) -> torch.Tensor:  # noqa: A001
    """The smallest element along `axis` (all axes by default), at most `initial`."""
    return _extreme(x, axis, keepdims, initial, largest=False)


def _dims(x: torch.Tensor, axis: Any) -> tuple[int, ...]:
    return tuple(range(x.ndim)) if axis is None else axes_tuple(axis, x.ndim)


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:  # noqa: A001
    """Sum along `axis`; bool and 8/16-bit integers sum as int32."""
    x = _stacked(x)
    if is_empty_axis(axis):
        return x
    dtype = name_of(x)
    if dtype in _SMALL_INTS:
        dtype = "int32"
    if axis is None and not keepdims:
        return cast(torch.sum(x), dtype)
    return cast(torch.sum(x, dim=_dims(x, axis), keepdim=keepdims), dtype)


def prod(x: Any, axis: Any = None, keepdims: bool = False, dtype: Any = None) -> torch.Tensor:
    """Product along `axis`; bool and 8/16-bit integers multiply as int32 unless `dtype` is given."""
    x = as_tensor(x)
    if dtype is None:
        dtype = result_type(x.dtype)
        if dtype in _SMALL_INTS:
            dtype = "int32"
    else:
        dtype = standardize_dtype(dtype)
    compute = "float32" if dtype == "float16" and x.device.type == "cpu" else dtype
    if axis is None:
        out = torch.prod(x, dtype=to_torch_dtype(compute))
        if keepdims:
            out = out.reshape((1,) * x.ndim)
        return cast(out, dtype)
    for a in sorted(axes_tuple(axis, x.ndim), reverse=True):
        x = cast(torch.prod(x, dim=a, keepdim=keepdims, dtype=to_torch_dtype(compute)), dtype)
    return x


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Arithmetic mean; integer and bool inputs average in (and return) a float dtype."""
    x = _stacked(x)
    if is_empty_axis(axis):
        return x
    compute = promote(x, "float32")
    original = name_of(x)
    out_dtype = compute if ("int" in original or original == "bool") else original
    out = torch.mean(cast(x, compute), dim=_dims(x, axis), keepdim=keepdims)
    return cast(out, out_dtype)


def var(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Population variance (no Bessel correction, as NumPy)."""
    x = as_tensor(x)
    compute = promote(x, "float32")
    out_dtype = promote(x, float)
    if is_empty_axis(axis):
        return torch.zeros_like(x, dtype=to_torch_dtype(out_dtype))
    out = torch.var(cast(x, compute), dim=_dims(x, axis), keepdim=keepdims, correction=0)
    return cast(out, out_dtype)


def std(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Population standard deviation; integer and bool inputs give float32."""
    x = as_tensor(x)
    if "int" in name_of(x) or x.dtype == torch.bool:
        x = x.to(torch.float32)
    return torch.std(x, dim=_dims(x, axis), keepdim=keepdims, correction=0)


def ptp(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Peak to peak: max - min along `axis`."""
    x = as_tensor(x)
    if axis is None:
        return x.max() - x.min()
    if is_empty_axis(axis):
        return torch.zeros_like(x)
    dims = axes_tuple(axis, x.ndim)
    return torch.amax(x, dim=dims, keepdim=keepdims) - torch.amin(x, dim=dims, keepdim=keepdims)


def quantile_impl(
    x: Any, q: Any, axis: Any, method: str, keepdims: bool, ignore_nan: bool
) -> torch.Tensor:
    """`quantile`/`nanquantile`: the reduced axes move last and flatten into one."""
    x = as_tensor(x)
    q = as_tensor(q)
    compute = promote(x, "float32")
    out_dtype = promote(x, float)
    x = cast(x, compute)
    q = cast(q, x.dtype)
    dims = None if axis is None else axes_tuple(axis, x.ndim)
    if dims is None:
        flat = x.reshape(-1)
    else:
        others = [d for d in range(x.ndim) if d not in dims]
        moved = x.permute((*others, *dims))
        flat = moved.reshape((*[x.shape[d] for d in others], math.prod(x.shape[d] for d in dims)))
    fn = torch.nanquantile if ignore_nan else torch.quantile
    out = fn(flat, q, dim=-1, interpolation=method)
    if keepdims:
        if dims is None:
            out = out.reshape((*out.shape, *([1] * x.ndim)))
        else:
            for d in dims:
                out = out.unsqueeze(d + 1 if q.ndim > 0 else d)
    return cast(out, out_dtype)


def quantile(
    x: Any, q: Any, axis: Any = None, method: str = "linear", keepdims: bool = False
) -> torch.Tensor:
    """The `q`-th quantiles (q in [0, 1]) along `axis`; a vector `q` adds a leading axis."""
    return quantile_impl(x, q, axis, method, keepdims, ignore_nan=False)


def percentile(
    x: Any, q: Any, axis: Any = None, method: str = "linear", keepdims: bool = False
) -> torch.Tensor:
    """`quantile` with `q` in percent."""
    q = convert_to_tensor(q, config.floatx()) / 100.0
    return quantile_impl(x, q, axis, method, keepdims, ignore_nan=False)


def median(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """The median along `axis`, averaging the two middle values of an even count."""
    return quantile_impl(x, 0.5, axis, "linear", keepdims, ignore_nan=False)


def trace(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> torch.Tensor:
    """Sum along a diagonal; bool and 8/16-bit integers sum as int32."""
    x = as_tensor(x)
    dtype = name_of(x)
    if dtype in _SMALL_INTS:
        dtype = "int32"
    diagonal = torch.diagonal(x, offset, axis1, axis2)
    return torch.sum(diagonal, dim=-1, dtype=to_torch_dtype(dtype))
