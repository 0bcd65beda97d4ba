"""NaN-ignoring reductions of `keras.ops.numpy`: nansum, nanmean, nanvar, nanargmax, ...

NaNs are skipped; a slice that is all NaN gives NaN (nanmax/nanmin/nanmean) or -1
(nanargmax/nanargmin), as in NumPy. Integer inputs have no NaNs and reduce plainly.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import config
from lamina.ops.conversion import convert_to_tensor
from lamina.ops.dtypes import result_type, to_torch_dtype
from lamina.ops.numpy.common_iz import as_tensor, axes_tuple, cast, is_empty_axis, name_of
from lamina.ops.numpy.reduce_iz import prod, quantile_impl

__all__ = [
    "nanargmax",
    "nanargmin",
    "nancumprod",
    "nancumsum",
    "nanmax",
    "nanmean",
    "nanmedian",
    "nanmin",
    "nanpercentile",
    "nanprod",
    "nanquantile",
    "nanstd",
    "nansum",
    "nanvar",
]


def _dims(x: torch.Tensor, axis: Any) -> Any:
    return tuple(range(x.ndim)) if axis is None else axes_tuple(axis, x.ndim)


def _all_nan(x: torch.Tensor, axis: Any, keepdims: bool) -> torch.Tensor:
    nan = torch.isnan(x)
    if axis is None and not keepdims:
        return nan.all()
    return nan.all(dim=_dims(x, axis), keepdim=keepdims)


def _arg(x: Any, axis: Any, keepdims: bool, largest: bool) -> torch.Tensor:
    x = as_tensor(x)
    if x.dtype == torch.bool:
        x = x.to(torch.uint8)
    fill = float("-inf") if largest else float("inf")
    clean = torch.where(torch.isnan(x), fill, x) if x.is_floating_point() else x
    fn = torch.argmax if largest else torch.argmin
    index = fn(clean, dim=axis, keepdim=keepdims).to(torch.int32)
    if not x.is_floating_point():
        return index
    minus_one = torch.tensor(-1, dtype=torch.int32, device=x.device)
    nan = torch.isnan(x)
    all_nan = nan.all() if axis is None else nan.all(dim=axis, keepdim=keepdims)
    if axis is None and keepdims:
        all_nan = all_nan.reshape(index.shape)
    return torch.where(all_nan, minus_one, index)


def nanargmax(x: Any, axis: int | None = None, keepdims: bool = False) -> torch.Tensor:
    """Index of the largest non-NaN element (-1 where a slice is all NaN), int32."""
    return _arg(x, axis, keepdims, largest=True)


def nanargmin(x: Any, axis: int | None = None, keepdims: bool = False) -> torch.Tensor:
    """Index of the smallest non-NaN element (-1 where a slice is all NaN), int32."""
    return _arg(x, axis, keepdims, largest=False)


def _cumulative(x: torch.Tensor, axis: Any, dtype: Any, fn: Any) -> torch.Tensor:
    if axis is None:
        x = x.reshape(-1)
        axis = 0
    target = result_type(dtype if dtype is not None else x.dtype)
    if target == "bool":
        target = "int32"
    if target == "float16" and x.device.type == "cpu":
        return fn(x, dim=axis, dtype=torch.float32).to(torch.float16)
    return fn(x, dim=axis, dtype=to_torch_dtype(target))


def nancumsum(x: Any, axis: int | None = None, dtype: Any = None) -> torch.Tensor:
    """Cumulative sum treating NaN as 0 (flattened when `axis` is None)."""
    return _cumulative(torch.nan_to_num(as_tensor(x), nan=0.0), axis, dtype, torch.cumsum)


def nancumprod(x: Any, axis: int | None = None, dtype: Any = None) -> torch.Tensor:
    """Cumulative product treating NaN as 1 (flattened when `axis` is None)."""
    return _cumulative(torch.nan_to_num(as_tensor(x), nan=1.0), axis, dtype, torch.cumprod)


def _nan_extreme(x: Any, axis: Any, keepdims: bool, largest: bool) -> torch.Tensor:
    x = as_tensor(x)
    reduce = torch.amax if largest else torch.amin
    if not x.is_floating_point():
        return reduce(x, dim=_dims(x, axis), keepdim=keepdims)
    if is_empty_axis(axis):
        return x
    fill = float("-inf") if largest else float("inf")
    out = reduce(torch.where(torch.isnan(x), fill, x), dim=_dims(x, axis), keepdim=keepdims)
    nan = torch.tensor(float("nan"), dtype=x.dtype, device=x.device)
    return torch.where(_all_nan(x, axis, keepdims), nan, out)


def nanmax(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """The largest non-NaN element along `axis` (NaN where a slice is all NaN)."""
    return _nan_extreme(x, axis, keepdims, largest=True)


def nanmin(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """The smallest non-NaN element along `axis` (NaN where a slice is all NaN)."""
    return _nan_extreme(x, axis, keepdims, largest=False)


def nanmean(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Mean of the non-NaN elements, in a float dtype."""
    x = as_tensor(x)
    if is_empty_axis(axis):
        return x
    x = cast(x, result_type(x.dtype, float))
    return torch.nanmean(x, dim=_dims(x, axis), keepdim=keepdims)


def nansum(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Sum treating NaN as 0; bool and 8/16-bit integers sum as int32."""
    if isinstance(x, (list, tuple)) and any(isinstance(v, torch.Tensor) for v in x):
        x = torch.stack([as_tensor(v) for v in x])
    x = as_tensor(x)
    dtype = name_of(x)
    if dtype in ("bool", "uint8", "int8", "int16"):
        dtype = "int32"
    if is_empty_axis(axis):
        return cast(torch.nan_to_num(x, nan=0.0), dtype)
    return cast(torch.nansum(x, dim=_dims(x, axis), keepdim=keepdims), dtype)


def nanprod(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Product treating NaN as 1."""
    x = as_tensor(x)
    if is_empty_axis(axis):
        return torch.nan_to_num(x, nan=1.0)
    if x.is_floating_point():
        x = torch.where(torch.isnan(x), torch.ones((), dtype=x.dtype, device=x.device), x)
    return prod(x, axis=axis, keepdims=keepdims)


def nanvar(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Population variance of the non-NaN elements."""
    x = as_tensor(x)
    x = cast(x, result_type(x.dtype, float))
    if is_empty_axis(axis):
        return torch.where(torch.isnan(x), x, torch.zeros((), dtype=x.dtype, device=x.device))
    dims = _dims(x, axis)
    valid = ~torch.isnan(x)
    centered = torch.where(valid, x - torch.nanmean(x, dim=dims, keepdim=True), 0.0)
    squares = centered.real**2 + centered.imag**2 if centered.is_complex() else centered**2
    count = valid.sum(dim=dims, keepdim=keepdims)
    return squares.sum(dim=dims, keepdim=keepdims) / count


def nanstd(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Population standard deviation of the non-NaN elements."""
    return torch.sqrt(nanvar(x, axis=axis, keepdims=keepdims))


def nanquantile(
    x: Any, q: Any, axis: Any = None, method: str = "linear", keepdims: bool = False
) -> torch.Tensor:
    """`quantile` ignoring NaNs."""
    return quantile_impl(x, q, axis, method, keepdims, ignore_nan=True)


def nanpercentile(
    x: Any, q: Any, axis: Any = None, method: str = "linear", keepdims: bool = False
) -> torch.Tensor:
    """`percentile` ignoring NaNs."""
    q = convert_to_tensor(q, config.floatx()) / 100.0
    return quantile_impl(x, q, axis, method, keepdims, ignore_nan=True)


def nanmedian(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """The median of the non-NaN elements."""
    x = as_tensor(x)
    if is_empty_axis(axis):
        return x
    return quantile_impl(x, 0.5, axis, "linear", keepdims, ignore_nan=True)
