"""Pooling of `keras.ops.nn`: max_pool, average_pool and their adaptive forms.

'same' padding follows TensorFlow: a window never picks a padded cell for the max, and
the average divides by the number of real cells in the window.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina.ops.conversion import convert_to_tensor
from lamina.ops.nn.spatial import (
    data_format_of,
    same_pads,
    spatial_rank,
    to_channels_first,
    to_channels_last,
    torch_pad_order,
    tuple_of,
)

__all__ = ["adaptive_average_pool", "adaptive_max_pool", "average_pool", "max_pool"]

_MAX = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVG = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}
_ADAPTIVE_MAX = {1: F.adaptive_max_pool1d, 2: F.adaptive_max_pool2d, 3: F.adaptive_max_pool3d}
_ADAPTIVE_AVG = {1: F.adaptive_avg_pool1d, 2: F.adaptive_avg_pool2d, 3: F.adaptive_avg_pool3d}


def _pool(
    inputs: Any, pool_size: Any, strides: Any, padding: str, data_format: Any, kind: str
) -> torch.Tensor:
    x = convert_to_tensor(inputs)
    n = spatial_rank(x, f"{kind}_pool")
    pool = tuple_of(pool_size, n, "pool_size")
    step = pool if strides is None else tuple_of(strides, n, "strides")
    mode = padding.lower()
    if mode not in ("valid", "same"):
        raise ValueError(f"Expected padding 'valid' or 'same', received: padding={padding!r}")
    fmt = data_format_of(data_format)
    if fmt == "channels_last":
        x = to_channels_first(x)
    pads = [(0, 0)] * n
    if mode == "same":
        pads = same_pads(x.shape[2:], pool, step, (1,) * n)
    flat = torch_pad_order(pads)
    if kind == "max":
        if any(flat):
            x = F.pad(x, flat, value=float("-inf"))
        out = _MAX[n](x, pool, step)
    elif not any(flat):
        out = _AVG[n](x, pool, step)
    else:
        # (window sum / window size) / (real cells / window size).
        means = _AVG[n](F.pad(x, flat), pool, step)
        real = _AVG[n](F.pad(x.new_ones((1, 1, *x.shape[2:])), flat), pool, step)
        out = means / real
    return to_channels_last(out) if fmt == "channels_last" else out


def max_pool(
    inputs: Any,
    pool_size: Any,
    strides: Any = None,
    padding: str = "valid",
    data_format: str | None = None,
) -> torch.Tensor:
    """The maximum over each `pool_size` window (strides default to the pool size)."""
    return _pool(inputs, pool_size, strides, padding, data_format, "max")


def average_pool(
    inputs: Any,
    pool_size: Any,
    strides: Any = None,
    padding: str = "valid",
    data_format: str | None = None,
) -> torch.Tensor:
    """The mean over each `pool_size` window (strides default to the pool size)."""
    return _pool(inputs, pool_size, strides, padding, data_format, "average")


def _adaptive(inputs: Any, output_size: Any, data_format: Any, table: dict) -> torch.Tensor:
    x = convert_to_tensor(inputs)
    n = spatial_rank(x, "adaptive pooling")
    size = tuple_of(output_size, n, "output_size")
    fmt = data_format_of(data_format)
    if fmt == "channels_last":
        x = to_channels_first(x)
    out = table[n](x, size if n > 1 else size[0])
    if isinstance(out, tuple):
        out = out[0]
    return to_channels_last(out) if fmt == "channels_last" else out


def adaptive_max_pool(
    inputs: Any, output_size: Any, data_format: str | None = None
) -> torch.Tensor:
    """Max pooling to a fixed `output_size` whatever the input size (windows may overlap)."""
    return _adaptive(inputs, output_size, data_format, _ADAPTIVE_MAX)


def adaptive_average_pool(
    inputs: Any, output_size: Any, data_format: str | None = None
) -> torch.Tensor:
    """Average pooling to a fixed `output_size` whatever the input size."""
    return _adaptive(inputs, output_size, data_format, _ADAPTIVE_AVG)
