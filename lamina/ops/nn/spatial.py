"""Shared helpers of the spatial nn ops: layouts, per-axis tuples and Keras's 'same' padding.

Keras ops take channels_last tensors by default and kernels as (*spatial, in, out); torch
wants channels_first and (out, in, *spatial). These helpers convert between the two.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from lamina import config


def data_format_of(data_format: str | None) -> str:
    """'channels_last' or 'channels_first' (Keras's image_data_format when None)."""
    fmt = data_format or config.image_data_format()
    fmt = fmt.lower()
    if fmt not in ("channels_last", "channels_first"):
        raise ValueError(
            "Expected data_format 'channels_last' or 'channels_first', "
            f"received: data_format={data_format!r}"
        )
    return fmt


def tuple_of(value: Any, n: int, name: str) -> tuple[int, ...]:
    """An int or n ints as an n-tuple of ints."""
    if isinstance(value, int):
        return (value,) * n
    out = tuple(int(v) for v in value)
    if len(out) != n:
        raise ValueError(f"Expected an int or {n} ints, received: {name}={value!r}")
    return out


def spatial_rank(x: torch.Tensor, op: str) -> int:
    n = x.ndim - 2
    if n not in (1, 2, 3):
        raise ValueError(
            f"Expected a 3D, 4D or 5D input to {op} (batch, spatial..., channels), "
            f"received: inputs.shape={tuple(x.shape)}"
        )
    return n


def to_channels_first(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, x.ndim - 1, *range(1, x.ndim - 1))


def to_channels_last(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, *range(2, x.ndim), 1)


def torch_kernel(kernel: torch.Tensor) -> torch.Tensor:
    """A Keras (*spatial, in, out) kernel as torch's (out, in, *spatial)."""
    n = kernel.ndim - 2
    return kernel.permute(n + 1, n, *range(n))


def same_pads(
    sizes: Sequence[int], kernel: Sequence[int], strides: Sequence[int], dilation: Sequence[int]
) -> list[tuple[int, int]]:
    """(before, after) padding per spatial axis for TensorFlow's 'same' (extra pixel after)."""
    pads = []
    for size, k, s, d in zip(sizes, kernel, strides, dilation):
        effective = (k - 1) * d + 1
        out = -(-size // s)
        total = max(0, (out - 1) * s + effective - size)
        pads.append((total // 2, total - total // 2))
    return pads


def torch_pad_order(pads: Sequence[tuple[int, int]]) -> list[int]:
    """F.pad's flat list: the last axis first."""
    flat: list[int] = []
    for before, after in reversed(pads):
        flat += [before, after]
    return flat


def pad_same(
    x: torch.Tensor, pads: Sequence[tuple[int, int]], mode: str = "constant"
) -> tuple[torch.Tensor, Any]:
    """Symmetric pads go to the torch kernel's `padding`; asymmetric ones are applied here."""
    if all(before == after for before, after in pads):
        return x, [before for before, _ in pads]
    return F.pad(x, torch_pad_order(pads), mode=mode), 0
