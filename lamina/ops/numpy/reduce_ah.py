"""Keras's reductions, scans, sorts and counts a..h on torch (all, amax, argmax, cumsum, histogram, ...)."""

from __future__ import annotations

from typing import Any

import torch

from lamina import config
from lamina.ops.conversion import convert_to_tensor
from lamina.ops.core.casting import cast
from lamina.ops.dtypes import dtype_of, result_type, to_torch_dtype

__all__ = [
    "all",
    "amax",
    "amin",
    "any",
    "argmax",
    "argmin",
    "argpartition",
    "argsort",
    "average",
    "bincount",
    "corrcoef",
    "correlate",
    "count_nonzero",
    "cumprod",
    "cumsum",
    "diff",
    "digitize",
    "histogram",
]


def _axes(axis: Any) -> Any:
    """Keras's axis argument as torch's `dim`: None, an int, or a tuple."""
    return tuple(axis) if isinstance(axis, list) else axis


def _empty_axes(axis: Any) -> bool:
    return isinstance(axis, (list, tuple)) and len(axis) == 0


def all(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:  # noqa: A001 - Keras's name
    """Whether all elements over `axis` are true (nonzero)."""
    x = convert_to_tensor(x)
    if _empty_axes(axis):
        return x.to(torch.bool)
    return torch.all(x, dim=_axes(axis), keepdim=keepdims).to(torch.bool)


def any(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:  # noqa: A001 - Keras's name
    """Whether any element over `axis` is true (nonzero)."""
    x = convert_to_tensor(x)
    if _empty_axes(axis):
        return x.to(torch.bool)
    return torch.any(x, dim=_axes(axis), keepdim=keepdims).to(torch.bool)


def amax(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """The maximum over `axis` (all axes when None)."""
    x = convert_to_tensor(x)
    if axis is None:
        return (
            torch.amax(x, dim=tuple(range(x.dim())), keepdim=keepdims)
            if keepdims
            else torch.amax(x)
        )
    if _empty_axes(axis):
        return x
    return torch.amax(x, dim=axis, keepdim=keepdims)


def amin(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """The minimum over `axis` (all axes when None)."""
    x = convert_to_tensor(x)
    if axis is None:
        return (
            torch.amin(x, dim=tuple(range(x.dim())), keepdim=keepdims)
            if keepdims
            else torch.amin(x)
        )
    if _empty_axes(axis):
        return x
    return torch.amin(x, dim=axis, keepdim=keepdims)


def _orderable(x: Any) -> torch.Tensor:
    x = convert_to_tensor(x)
    return x.to(torch.uint8) if x.dtype == torch.bool else x


def argmax(x: Any, axis: int | None = None, keepdims: bool = False) -> torch.Tensor:
    """The (int32) index of the first maximum along `axis` (of the flattened input when None)."""
    return torch.argmax(_orderable(x), dim=axis, keepdim=keepdims).to(torch.int32)


def argmin(x: Any, axis: int | None = None, keepdims: bool = False) -> torch.Tensor:
    """The (int32) index of the first minimum along `axis` (of the flattened input when None)."""
    return torch.argmin(_orderable(x), dim=axis, keepdim=keepdims).to(torch.int32)


def argsort(x: Any, axis: int | None = -1) -> torch.Tensor:
    """The (int32) indices that sort `x` along `axis` (stable; the flattened input when None)."""
    x = _orderable(x)
    if axis is None:
        x, axis = x.reshape(-1), -1
    return torch.argsort(x, dim=axis, stable=True).to(torch.int32)


def argpartition(x: Any, kth: int, axis: int | None = -1) -> torch.Tensor:
    """(int32) indices putting `x`'s `kth` smallest element at position `kth` along `axis`.

    Smaller elements come before it and the others after; any such order is a valid
    partition, and this one is the stable sort order.
    """
    x = _orderable(x)
    if axis is None:
        x, axis = x.reshape(-1), -1
    return torch.argsort(x, dim=axis, stable=True).to(torch.int32)


def average(x: Any, axis: Any = None, weights: Any = None) -> torch.Tensor:
    """The mean over `axis`, or the `weights`-weighted mean (float)."""
    x = convert_to_tensor(x)
    kinds = [x.dtype, float]
    if weights is not None:
        weights = convert_to_tensor(weights)
        kinds.append(weights.dtype)
    target = result_type(*kinds)
    x = cast(x, target)
    if _empty_axes(axis):
        return x
    if weights is None:
        return torch.mean(x) if axis is None else torch.mean(x, dim=axis)
    weights = cast(weights, target)
    if axis is None:
        return torch.sum(x * weights) / torch.sum(weights)
    if weights.dim() == 1 and x.dim() > 1:
        shape = [1] * x.dim()
        shape[axis] = -1
        weights = weights.reshape(shape)
    return torch.sum(x * weights, dim=axis) / torch.sum(weights, dim=axis)


def bincount(x: Any, weights: Any = None, minlength: int = 0, sparse: bool = False) -> torch.Tensor:
    """Counts (or summed `weights`) of each non-negative int in `x`; rows of a 2-D `x` separately."""
    if sparse:
        raise ValueError(
            f"Expected sparse=False (torch tensors are dense), received: sparse={sparse}"
        )
    x = convert_to_tensor(x)
    if weights is None:
        target = "int32"
    else:
        weights = convert_to_tensor(weights)
        target = result_type(x.dtype, weights.dtype)
    if x.dim() == 2:
        if weights is None:
            rows = [torch.bincount(row, minlength=minlength) for row in x]
        else:
            rows = [
                torch.bincount(row, weights=w, minlength=minlength) for row, w in zip(x, weights)
            ]
        length = max(r.shape[0] for r in rows)
        rows = [torch.nn.functional.pad(r, (0, length - r.shape[0])) for r in rows]
        return cast(torch.stack(rows), target)
    return cast(torch.bincount(x, weights, minlength), target)


def count_nonzero(x: Any, axis: Any = None) -> torch.Tensor:
    """The (int32) number of nonzero elements over `axis` (all axes when None)."""
    x = convert_to_tensor(x)
    if _empty_axes(axis):
        return torch.ne(x, 0).to(torch.int32)
    return torch.count_nonzero(x, dim=_axes(axis)).to(torch.int32)


def _scan_dtype(x: torch.Tensor, dtype: Any) -> torch.dtype:
    name = result_type(dtype if dtype is not None else x.dtype)
    return to_torch_dtype("int32" if name == "bool" else name)


def cumsum(x: Any, axis: int | None = None, dtype: Any = None) -> torch.Tensor:
    """Running sums along `axis` (of the flattened input when None); bool sums as int32."""
    x = convert_to_tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    target = _scan_dtype(x, dtype)
    if target == torch.float16:
        return torch.cumsum(x, dim=axis, dtype=torch.float32).to(target)
    return torch.cumsum(x, dim=axis, dtype=target)


def cumprod(x: Any, axis: int | None = None, dtype: Any = None) -> torch.Tensor:
    """Running products along `axis` (of the flattened input when None); bool multiplies as int32."""
    x = convert_to_tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    target = _scan_dtype(x, dtype)
    if target == torch.float16:
        return torch.cumprod(x, dim=axis, dtype=torch.float32).to(target)
    return torch.cumprod(x, dim=axis, dtype=target)


def diff(a: Any, n: int = 1, axis: int = -1) -> torch.Tensor:
    """The `n`-th discrete difference along `axis`."""
    return torch.diff(convert_to_tensor(a), n=n, dim=axis)


def digitize(x: Any, bins: Any) -> torch.Tensor:
    """The (int32) index of the bin of `bins` (increasing edges) each element falls in."""
    x = _orderable(x)
    return torch.bucketize(x, convert_to_tensor(bins), right=True).to(torch.int32)


def histogram(
    x: Any, bins: int = 10, range: tuple[float, float] | None = None
) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: A002
    """Counts of a 1-D `x` in `bins` equal bins over `range` (x's min..max when None), and the edges."""
    if not isinstance(bins, int) or bins < 0:
        raise ValueError(f"Expected a non-negative int bins, received: bins={bins!r}")
    if range is not None and (
        not isinstance(range, tuple) or len(range) != 2 or range[1] < range[0]
    ):
        raise ValueError(
            f"Expected range as a (low, high) tuple with low <= high, received: range={range!r}"
        )
    x = convert_to_tensor(x)
    if x.dim() > 1:
        raise ValueError(f"Expected a 1-D input, received: x.shape={tuple(x.shape)}")
    result = torch.histogram(x, bins=bins, range=range)
    return result.hist, result.bin_edges


def corrcoef(x: Any) -> torch.Tensor:
    """Pearson correlation coefficients between the rows of `x`."""
    x = convert_to_tensor(x)
    if x.dtype == torch.bool:
        x = cast(x, config.floatx())
    elif x.dtype == torch.int64:
        x = x.to(torch.float64)
    return torch.corrcoef(x)


def correlate(x1: Any, x2: Any, mode: str = "valid") -> torch.Tensor:
    """Cross-correlation of two 1-D sequences (`mode` 'valid', 'same' or 'full'), as float."""
    target = result_type(dtype_of(x1), dtype_of(x2))
    if target == "int64":
        target = "float64"
    elif target not in ("bfloat16", "float16", "float64"):
        target = "float32"
    x1, x2 = cast(convert_to_tensor(x1), target), cast(convert_to_tensor(x2), target)
    n1, n2 = x1.shape[-1], x2.shape[-1]
    batch = torch.broadcast_shapes(x1.shape[:-1], x2.shape[:-1])
    x1 = x1.broadcast_to(*batch, n1).reshape(-1, n1)
    x2 = x2.broadcast_to(*batch, n2).reshape(-1, n2)
    full = torch.nn.functional.conv1d(x1, x2.unsqueeze(1), groups=x1.shape[0], padding=n2 - 1)
    full = full.reshape(*batch, -1)
    if mode == "valid":
        keep = max(n1, n2) - min(n1, n2) + 1
    elif mode == "same":
        keep = n1
    elif mode == "full":
        keep = full.shape[-1]
    else:
        raise ValueError(f"Expected mode 'valid', 'same' or 'full', received: mode={mode!r}")
    start = (full.shape[-1] - keep) // 2
    return torch.squeeze(full[..., start : start + keep])
