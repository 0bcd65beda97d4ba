"""Colour-space conversions of images: RGB to grayscale, RGB to HSV and back.

Channels sit on the last axis ('channels_last') or the third from last ('channels_first').
HSV values are all in [0, 1] (hue as a fraction of a turn), as in Keras and dm_pix.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.ops.dtypes import standardize_dtype
from lamina.ops.image.common import data_format, error, images_tensor

# ITU-R 601 luma weights (as torchvision and Keras's torch backend use)
_LUMA = (0.2989, 0.587, 0.114)


def rgb_to_grayscale(images: Any, data_format: str | None = None) -> torch.Tensor:
    """Luma of RGB images, keeping a channel axis of size 1 (1-channel input is copied)."""
    fmt = _fmt("rgb_to_grayscale", data_format)
    x = images_tensor("rgb_to_grayscale", images)
    axis = -1 if fmt == "channels_last" else -3
    if x.shape[axis] not in (1, 3):
        raise error("rgb_to_grayscale", "1 or 3 channels", **{"images.shape": tuple(x.shape)})
    if x.shape[axis] == 1:
        return x.clone()
    r, g, b = x.unbind(dim=axis)
    return (_LUMA[0] * r + _LUMA[1] * g + _LUMA[2] * b).to(x.dtype).unsqueeze(axis)


def _fmt(op: str, value: str | None) -> str:
    return data_format(op, value)


def _float_images(op: str, images: Any) -> torch.Tensor:
    x = images_tensor(op, images)
    if not x.is_floating_point():
        raise error(op, "floating-point images", **{"images.dtype": standardize_dtype(x.dtype)})
    return x


def rgb_to_hsv(images: Any, data_format: str | None = None) -> torch.Tensor:
    """RGB images in [0, 1] to (hue, saturation, value), each in [0, 1]."""
    axis = -1 if _fmt("rgb_to_hsv", data_format) == "channels_last" else -3
    x = _float_images("rgb_to_hsv", images)
    x = torch.where(x.abs() < torch.finfo(x.dtype).eps, 0.0, x)
    r, g, b = x.unbind(dim=axis)
    value = torch.maximum(torch.maximum(r, g), b)
    spread = value - torch.minimum(torch.minimum(r, g), b)
    saturation = torch.where(value > 0, spread / torch.where(value > 0, value, 1.0), 0.0)
    norm = 1.0 / (6.0 * torch.where(spread > 0, spread, 1.0))
    hue = torch.where(value == g, norm * (b - r) + 2.0 / 6.0, norm * (r - g) + 4.0 / 6.0)
    hue = torch.where(value == r, norm * (g - b), hue)
    hue = torch.where(spread > 0, hue, 0.0) + (hue < 0.0).to(hue.dtype)
    return torch.stack((hue, saturation, value), dim=axis)


def hsv_to_rgb(images: Any, data_format: str | None = None) -> torch.Tensor:
    """(hue, saturation, value) images, each in [0, 1], back to RGB."""
    axis = -1 if _fmt("hsv_to_rgb", data_format) == "channels_last" else -3
    x = _float_images("hsv_to_rgb", images)
    hue, saturation, value = x.unbind(dim=axis)
    sector = torch.remainder(hue, 1.0) * 6.0
    planes = (
        torch.clamp((sector - 3.0).abs() - 1.0, 0.0, 1.0),
        torch.clamp(2.0 - (sector - 2.0).abs(), 0.0, 1.0),
        torch.clamp(2.0 - (sector - 4.0).abs(), 0.0, 1.0),
    )
    grey = 1.0 - saturation
    return torch.stack([value * (grey + saturation * p) for p in planes], dim=axis)


__all__ = ["hsv_to_rgb", "rgb_to_grayscale", "rgb_to_hsv"]
