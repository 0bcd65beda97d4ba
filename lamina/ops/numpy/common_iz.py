"""Small helpers shared by the i..z NumPy ops: tensor conversion, casts and axis handling."""

from __future__ import annotations

from typing import Any

import torch

from lamina import config
from lamina.ops.conversion import convert_to_tensor
from lamina.ops.dtypes import result_type, standardize_dtype, to_torch_dtype


def as_tensor(x: Any, dtype: Any = None) -> torch.Tensor:
    """`x` as a tensor (lists of tensors are stacked), cast to `dtype` when given."""
    return convert_to_tensor(x, dtype)


def cast(x: torch.Tensor, dtype: Any) -> torch.Tensor:
    """`x` in `dtype` (a Keras name or torch dtype); no copy when it already is."""
    target = dtype if isinstance(dtype, torch.dtype) else to_torch_dtype(dtype)
    return x if x.dtype == target else x.to(target)


def name_of(x: torch.Tensor) -> str:
    """The Keras dtype name of a tensor."""
    return standardize_dtype(x.dtype)


def is_intlike(x: torch.Tensor) -> bool:
    """Whether `x` holds integers or booleans (the dtypes float-only torch kernels refuse)."""
    return not (x.is_floating_point() or x.is_complex())


def floatx() -> str:
    return config.floatx()


def promote(x: torch.Tensor, *others: Any) -> str:
    """The Keras result dtype of `x` with the other dtypes (Python `float` is weak)."""
    return result_type(x.dtype, *others)


def axes_tuple(axis: Any, ndim: int) -> tuple[int, ...] | None:
    """`axis` (None, int or sequence) as a sorted tuple of non-negative axes, or None."""
    if axis is None:
        return None
    if isinstance(axis, int):
        axis = (axis,)
    out = []
    for a in axis:
        a = int(a)
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise ValueError(
                f"Expected an axis in [-{ndim}, {ndim}), received: axis={a} for ndim={ndim}"
            )
        out.append(a % max(ndim, 1))
    return tuple(sorted(out))


def is_empty_axis(axis: Any) -> bool:
    """Whether `axis` is `()` or `[]` (reduce nothing: NumPy returns the input)."""
    return isinstance(axis, (tuple, list)) and len(axis) == 0
