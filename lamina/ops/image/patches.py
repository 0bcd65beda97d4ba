"""Patch extraction: every (dilated, strided) window of 2-D images or 3-D volumes,
flattened into the channel axis in (window rows, window cols, [depth,] channels) order.

Windows are taken with Tensor.unfold (a view, exact for any value, inf and NaN included),
with 'valid' or 'same' padding (zeros, the extra one at the end, as Keras's conv does).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina.ops.conversion import convert_to_tensor
from lamina.ops.image.common import data_format as _data_format
from lamina.ops.image.common import error


def _tuple(op: str, name: str, value: Any, n: int) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * n
    value = tuple(int(v) for v in value)
    if len(value) != n:
        raise error(op, f"{name} an int or a tuple of {n} ints", **{name: value})
    return value


def _patches(
    op: str,
    x: torch.Tensor,
    n: int,
    size: Any,
    strides: Any,
    dilation_rate: Any,
    padding: str,
    fmt: str,
) -> torch.Tensor:
    sizes = _tuple(op, "size", size, n)
    steps = sizes if not strides else _tuple(op, "strides", strides, n)
    dilations = _tuple(op, "dilation_rate", dilation_rate, n)
    padding = str(padding).lower()
    if padding not in ("valid", "same"):
        raise error(op, "padding 'valid' or 'same'", padding=padding)
    unbatched = x.dim() == n + 1
    if x.dim() not in (n + 1, n + 2):
        raise error(op, f"rank {n + 1} or {n + 2} inputs", **{"images.shape": tuple(x.shape)})
    if unbatched:
        x = x.unsqueeze(0)
    if fmt == "channels_first":
        x = x.movedim(1, -1)
    spatial = x.shape[1:-1]
    if padding == "same":
        pads = []
        for length, k, s, d in zip(spatial, sizes, steps, dilations):
            out = -(-length // s)
            total = max((out - 1) * s + (k - 1) * d + 1 - length, 0)
            pads.append((total // 2, total - total // 2))
        flat = [p for pair in reversed(pads) for p in pair]
        x = F.pad(x, [0, 0, *flat])
    for axis, (k, s, d) in enumerate(zip(sizes, steps, dilations), start=1):
        span = (k - 1) * d + 1
        x = x.unfold(axis, span, s)
        if d > 1:
            x = x[..., ::d]
    # (B, *out_spatial, C, k1, ..., kn) -> (B, *out_spatial, k1, ..., kn, C) -> flat
    x = x.movedim(n + 1, -1).flatten(n + 1)
    if fmt == "channels_first":
        x = x.movedim(-1, 1)
    return x[0] if unbatched else x


def extract_patches(
    images: Any,
    size: int | tuple[int, int] | tuple[int, int, int],
    strides: Any = None,
    dilation_rate: Any = 1,
    padding: str = "valid",
    data_format: str | None = None,
) -> torch.Tensor:
    """Patches of 2-D images (size of 2) or of 3-D volumes (size of 3)."""
    if not isinstance(size, int) and len(size) == 3:
        return extract_patches_3d(images, size, strides, dilation_rate, padding, data_format)
    if not isinstance(size, int) and len(size) != 2:
        raise error("extract_patches", "size an int or a tuple of 2 or 3 ints", size=size)
    fmt = _data_format("extract_patches", data_format)
    x = convert_to_tensor(images)
    return _patches("extract_patches", x, 2, size, strides, dilation_rate, padding, fmt)


def extract_patches_3d(
    volumes: Any,
    size: int | tuple[int, int, int],
    strides: Any = None,
    dilation_rate: Any = 1,
    padding: str = "valid",
    data_format: str | None = None,
) -> torch.Tensor:
    """Patches of 3-D volumes (rank 4, or rank 5 batches)."""
    fmt = _data_format("extract_patches_3d", data_format)
    x = convert_to_tensor(volumes)
    return _patches("extract_patches_3d", x, 3, size, strides, dilation_rate, padding, fmt)


__all__ = ["extract_patches", "extract_patches_3d"]
