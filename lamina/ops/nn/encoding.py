"""Label encodings of `keras.ops.nn`: one_hot and multi_hot (dense tensors only)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina import config
from lamina.ops.conversion import convert_to_tensor
from lamina.ops.dtypes import to_torch_dtype

__all__ = ["multi_hot", "one_hot"]


def _dense_only(sparse: bool) -> None:
    if sparse:
        raise ValueError("Expected sparse=False (torch tensors are dense), received: sparse=True")


def one_hot(
    x: Any, num_classes: int, axis: int = -1, dtype: Any = None, sparse: bool = False
) -> torch.Tensor:
    """A new axis of length `num_classes` at `axis`, 1 at each label; negative labels give
    all zeros."""
    _dense_only(sparse)
    x = convert_to_tensor(x).long()
    out = F.one_hot(x.clamp(min=0), num_classes) * (x >= 0).unsqueeze(-1)
    out = out.to(to_torch_dtype(dtype or config.floatx()))
    if axis not in (-1, out.ndim - 1):
        out = torch.movedim(out, -1, axis)
    return out


def multi_hot(
    inputs: Any,
    num_classes: int | None = None,
    axis: int = -1,
    dtype: Any = None,
    sparse: bool = False,
    **kwargs: Any,
) -> torch.Tensor:
    """For each sample (row of a 2-D input), 1 at every label it holds; a 1-D input is one
    sample. `num_tokens` is accepted as the old name of `num_classes`."""
    if "num_tokens" in kwargs:
        num_classes = kwargs.pop("num_tokens")
    if kwargs:
        raise TypeError(f"Expected no other keyword arguments, received: {sorted(kwargs)}")
    if num_classes is None:
        raise ValueError("Expected num_classes, received: num_classes=None")
    _dense_only(sparse)
    x = convert_to_tensor(inputs)
    reduce_axis = 1 if x.ndim > 1 else 0
    return torch.amax(one_hot(x.to(torch.int32), num_classes, axis, dtype), dim=reduce_axis)
