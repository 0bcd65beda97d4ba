"""Patch rearrangements of `keras.ops.nn`: unfold/fold (im2col/col2im on NCHW tensors) and
depth_to_space/space_to_depth (TensorFlow's block orders)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina.ops.conversion import convert_to_tensor

__all__ = ["depth_to_space", "fold", "space_to_depth", "unfold"]


def unfold(
    x: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1
) -> torch.Tensor:
    """Sliding blocks of an (N, C, H, W) tensor as (N, C * kh * kw, blocks)."""
    return F.unfold(
        convert_to_tensor(x), kernel_size, dilation=dilation, padding=padding, stride=stride
    )


def fold(
    x: Any,
    output_size: Any,
    kernel_size: Any,
    dilation: Any = 1,
    padding: Any = 0,
    stride: Any = 1,
) -> torch.Tensor:
    """The inverse arrangement of `unfold`: blocks summed back into (N, C, H, W)."""
    return F.fold(
        convert_to_tensor(x),
        output_size,
        kernel_size,
        dilation=dilation,
        padding=padding,
        stride=stride,
    )


def _check(x: torch.Tensor, block_size: int, data_format: str) -> None:
    if x.ndim != 4:
        raise ValueError(f"Expected a 4D input, received: x.shape={tuple(x.shape)}")
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            "Expected data_format 'channels_last' or 'channels_first', "
            f"received: data_format={data_format!r}"
        )
    if block_size < 2:
        raise ValueError(f"Expected block_size >= 2, received: block_size={block_size}")


def depth_to_space(x: Any, block_size: int, data_format: str = "channels_last") -> torch.Tensor:
    """Move channel blocks into block_size x block_size spatial tiles."""
    x = convert_to_tensor(x)
    _check(x, block_size, data_format)
    b = block_size
    if data_format == "channels_last":
        n, h, w, c = x.shape
        x = x.reshape(n, h, w, b, b, c // (b * b)).permute(0, 1, 3, 2, 4, 5)
        return x.reshape(n, h * b, w * b, c // (b * b))
    n, c, h, w = x.shape
    x = x.reshape(n, c // (b * b), b, b, h, w).permute(0, 1, 4, 2, 5, 3)
    return x.reshape(n, c // (b * b), h * b, w * b)


def space_to_depth(x: Any, block_size: int, data_format: str = "channels_last") -> torch.Tensor:
    """Move block_size x block_size spatial tiles into the channels."""
    x = convert_to_tensor(x)
    _check(x, block_size, data_format)
    b = block_size
    if data_format == "channels_last":
        n, h, w, c = x.shape
        x = x.reshape(n, h // b, b, w // b, b, c).permute(0, 1, 3, 2, 4, 5)
        return x.reshape(n, h // b, w // b, c * b * b)
    n, c, h, w = x.shape
    x = x.reshape(n, c, h // b, b, w // b, b).permute(0, 1, 3, 5, 2, 4)
    return x.reshape(n, c * b * b, h // b, w // b)
