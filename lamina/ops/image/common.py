"""Shared argument handling for `lamina.ops.image`: data formats, ranks and error text."""

from __future__ import annotations

from typing import Any

import torch

from lamina import config
from lamina.ops.conversion import convert_to_tensor

DATA_FORMATS = ("channels_last", "channels_first")


def error(op: str, expected: str, **received: Any) -> ValueError:
    """A ValueError reading "ops.image.<op>: Expected ..., received: name=value"."""
    got = ", ".join(f"{k}={v!r}" for k, v in received.items())
    return ValueError(f"ops.image.{op}: Expected {expected}, received: {got}")


def data_format(op: str, value: str | None) -> str:
    """`value`, or `config.image_data_format()` when None, checked."""
    value = config.image_data_format() if value is None else str(value).lower()
    if value not in DATA_FORMATS:
        raise error(op, f"data_format one of {DATA_FORMATS}", data_format=value)
    return value


def images_tensor(op: str, images: Any, name: str = "images") -> torch.Tensor:
    """`images` as a tensor of rank 3 (one image) or 4 (a batch)."""
    x = convert_to_tensor(images)
    if x.dim() not in (3, 4):
        raise error(
            op,
            "rank 3 (one image) or rank 4 (batch of images)",
            **{f"{name}.shape": tuple(x.shape)},
        )
    return x


def to_nhwc(x: torch.Tensor, fmt: str) -> tuple[torch.Tensor, bool]:
    """A rank-3/4 image tensor as a (B, H, W, C) view, and whether it was unbatched."""
    unbatched = x.dim() == 3
    if unbatched:
        x = x.unsqueeze(0)
    if fmt == "channels_first":
        x = x.permute(0, 2, 3, 1)
    return x, unbatched


def from_nhwc(x: torch.Tensor, fmt: str, unbatched: bool) -> torch.Tensor:
    """Undo `to_nhwc` on a (B, H, W, C) result."""
    if fmt == "channels_first":
        x = x.permute(0, 3, 1, 2)
    return x[0] if unbatched else x
