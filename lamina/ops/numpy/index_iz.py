"""Indexing, sorting and selection of `keras.ops.numpy` (i..z): where, select, take,
take_along_axis, sort, searchsorted, nonzero, unique, unravel_index."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina.ops.dtypes import result_type
from lamina.ops.numpy.common_iz import as_tensor, cast

__all__ = [
    "nonzero",
    "searchsorted",
    "select",
    "sort",
    "take",
    "take_along_axis",
    "unique",
    "unravel_index",
    "where",
]


def where(condition: Any, x1: Any = None, x2: Any = None) -> Any:
    """`x1` where `condition` holds, else `x2`; with one argument, the indices where it holds
    stacked as a (ndim, count) int64 tensor."""
    if (x1 is None) != (x2 is None):
        raise ValueError(
            "Expected x1 and x2 both None or both given, received: "
            f"x1={'None' if x1 is None else 'a value'}, x2={'None' if x2 is None else 'a value'}"
        )
    condition = as_tensor(condition).to(torch.bool)
    if x1 is None:
        return torch.stack(torch.where(condition), dim=0)
    return torch.where(condition, as_tensor(x1), as_tensor(x2))


def select(condlist: Any, choicelist: Any, default: Any = 0) -> torch.Tensor:
    """The choice of the first true condition, element-wise, else `default`."""
    if not isinstance(condlist, (list, tuple)) or not isinstance(choicelist, (list, tuple)):
        raise ValueError(
            "Expected lists for condlist and choicelist, received: "
            f"condlist={type(condlist).__name__}, choicelist={type(choicelist).__name__}"
        )
    if not condlist or not choicelist:
        raise ValueError(
            "Expected non-empty condlist and choicelist, received: "
            f"len(condlist)={len(condlist)}, len(choicelist)={len(choicelist)}"
        )
    out = as_tensor(default)
    for cond, choice in reversed(list(zip(condlist, choicelist))):
        out = torch.where(as_tensor(cond), as_tensor(choice), out)
    return out


def _fill_negative(indices: torch.Tensor, length: int) -> torch.Tensor:
    return torch.where(indices < 0, indices + length, indices)


def take(x: Any, indices: Any, axis: int | None = None) -> torch.Tensor:
    """Elements of `x` at `indices` along `axis` (of the flattened `x` when None); negative
    indices count from the end."""
    x = as_tensor(x)
    indices = as_tensor(indices).long()
    if axis is None:
        x = x.reshape(-1)
        axis = 0
    axis = axis % x.ndim
    indices = _fill_negative(indices, x.shape[axis])
    out = torch.index_select(x, axis, indices.reshape(-1))
    return out.reshape((*x.shape[:axis], *indices.shape, *x.shape[axis + 1 :]))


def take_along_axis(x: Any, indices: Any, axis: int | None = None) -> torch.Tensor:
    """Elements of `x` at per-position `indices` along `axis` (indices broadcast against x)."""
    x = as_tensor(x)
    indices = as_tensor(indices).long()
    if axis is None:
        return torch.take_along_dim(x, _fill_negative(indices, x.numel()))
    indices = _fill_negative(indices, x.shape[axis])
    return torch.take_along_dim(x, indices, dim=axis)


def sort(x: Any, axis: int | None = -1) -> torch.Tensor:
    """Sorted ascending along `axis` (flattened when None)."""
    x = as_tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    return torch.sort(x, dim=axis).values


def searchsorted(sorted_sequence: Any, values: Any, side: str = "left") -> torch.Tensor:
    """Insertion indices of `values` into a 1-D ascending `sorted_sequence` (int32)."""
    sequence = as_tensor(sorted_sequence)
    values = as_tensor(values)
    if sequence.ndim != 1:
        raise ValueError(f"Expected a 1-D sorted_sequence, received: shape={tuple(sequence.shape)}")
    if side not in ("left", "right"):
        raise ValueError(f"Expected side 'left' or 'right', received: side={side!r}")
    dtype = result_type(sequence.dtype, values.dtype)
    return torch.searchsorted(cast(sequence, dtype), cast(values, dtype), side=side, out_int32=True)


def nonzero(x: Any) -> torch.Tensor:
    """The indices of the non-zero elements as an int32 (ndim, count) tensor: one row per
    axis, so `rows, cols = nonzero(x)` unpacks as with NumPy's tuple."""
    return torch.nonzero(as_tensor(x)).T.to(torch.int32)


def unravel_index(indices: Any, shape: Any) -> tuple[torch.Tensor, ...]:
    """Flat indices into coordinates of an array of `shape`."""
    indices = as_tensor(indices)
    dtype = result_type(indices.dtype)
    return tuple(cast(i, dtype) for i in torch.unravel_index(indices, tuple(shape)))


def unique(
    x: Any,
    sorted: bool = True,  # noqa: A002 - Keras's name
    return_index: bool = False,
    return_inverse: bool = False,
    return_counts: bool = False,
    axis: int | None = None,
    size: int | None = None,
    fill_value: Any = None,
) -> Any:
    """The unique elements (rows along `axis`), optionally with first indices, the inverse
    map and counts; `size` truncates or pads the result to a fixed length."""
    x = as_tensor(x)
    values, inverse, counts = torch.unique(
        x, sorted=sorted, return_inverse=True, return_counts=True, dim=axis
    )
    dim = 0 if axis is None else axis % x.ndim
    first = None
    if return_index:
        positions = torch.arange(inverse.numel(), dtype=inverse.dtype)
        first = torch.full((values.shape[dim],), inverse.numel(), dtype=inverse.dtype)
        first = first.scatter_reduce(0, inverse.reshape(-1), positions, reduce="amin")
    if size is not None:
        count = values.shape[dim]
        if count > size:
            values = values.narrow(dim, 0, size)
            counts = counts[:size]
            first = first[:size] if first is not None else None
        elif count < size:
            extra = size - count
            widths = [0, 0] * (values.ndim - 1 - dim) + [0, extra]
            values = F.pad(values, widths, value=0 if fill_value is None else fill_value)
            counts = F.pad(counts, [0, extra], value=0)
            first = F.pad(first, [0, extra], value=1) if first is not None else None
    out: list[torch.Tensor] = [values]
    if return_index:
        out.append(first)
    if return_inverse:
        out.append(inverse)
    if return_counts:
        out.append(counts)
    return out[0] if len(out) == 1 else tuple(out)
