"""Resizing, cropping and padding of images (Keras's `resize`, `crop_images`, `pad_images`).

`resize` samples half-pixel centres with F.interpolate (TF2/Keras convention, no
antialiasing unless asked); it can first crop or pad to the target's aspect ratio.
Integer images are resized in float32 and rounded back; half precision goes through
float32 too, as Keras's torch backend does.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina.ops.image.common import data_format as _data_format
from lamina.ops.image.common import error, images_tensor

# Keras interpolation name -> F.interpolate mode ('nearest' is TF's half-pixel nearest)
_MODES = {"bilinear": "bilinear", "nearest": "nearest-exact", "bicubic": "bicubic"}


def _to_nchw(x: torch.Tensor, fmt: str) -> tuple[torch.Tensor, bool]:
    unbatched = x.dim() == 3
    if unbatched:
        x = x.unsqueeze(0)
    return (x.permute(0, 3, 1, 2) if fmt == "channels_last" else x), unbatched


def _from_nchw(x: torch.Tensor, fmt: str, unbatched: bool) -> torch.Tensor:
    if fmt == "channels_last":
        x = x.permute(0, 2, 3, 1)
    return x[0] if unbatched else x


def resize(
    images: Any,
    size: tuple[int, int],
    interpolation: str = "bilinear",
    antialias: bool = False,
    crop_to_aspect_ratio: bool = False,
    pad_to_aspect_ratio: bool = False,
    fill_mode: str = "constant",
    fill_value: float = 0.0,
    data_format: str | None = None,
) -> torch.Tensor:
    """Resize rank-3 or rank-4 images to `size` = (height, width)."""
    fmt = _data_format("resize", data_format)
    if interpolation not in _MODES:
        raise error("resize", f"interpolation one of {sorted(_MODES)}", interpolation=interpolation)
    if fill_mode != "constant":
        raise error("resize", "fill_mode='constant'", fill_mode=fill_mode)
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise error(
            "resize",
            "at most one of crop_to_aspect_ratio and pad_to_aspect_ratio",
            crop_to_aspect_ratio=crop_to_aspect_ratio,
            pad_to_aspect_ratio=pad_to_aspect_ratio,
        )
    if len(size) != 2 or not all(int(s) > 0 for s in size):
        raise error("resize", "size a pair of positive integers (height, width)", size=size)
    th, tw = int(size[0]), int(size[1])
    x = images_tensor("resize", images)
    out_dtype = x.dtype
    x, unbatched = _to_nchw(x, fmt)
    if x.dtype not in (torch.float32, torch.float64):
        x = x.to(torch.float32)
    h, w = x.shape[-2], x.shape[-1]
    if crop_to_aspect_ratio:
        ch = max(min(h, int(w * th / tw)), 1)
        cw = max(min(w, int(h * tw / th)), 1)
        top, left = (h - ch) // 2, (w - cw) // 2
        x = x[:, :, top : top + ch, left : left + cw]
    elif pad_to_aspect_ratio:
        ph = (max(h, int(w * th / tw)) - h) // 2
        pw = (max(w, int(h * tw / th)) - w) // 2
        if ph > 0 or pw > 0:
            x = F.pad(x, (pw, pw, ph, ph), value=float(fill_value))
    mode = _MODES[interpolation]
    smooth = mode in ("bilinear", "bicubic")
    out = F.interpolate(
        x,
        size=(th, tw),
        mode=mode,
        align_corners=False if smooth else None,
        antialias=bool(antialias) and smooth,
    )
    if out_dtype != out.dtype:
        if not out_dtype.is_floating_point:
            if interpolation == "bicubic" and out_dtype == torch.uint8:
                out = out.clamp(0, 255)
            out = torch.round(out)
        out = out.to(out_dtype)
    return _from_nchw(out, fmt, unbatched)


def _resolve(
    op: str,
    size: int,
    start: int | None,
    end: int | None,
    target: int | None,
    names: tuple[str, str, str],
    grow: bool,
) -> tuple[int, int]:
    """(start, end) amounts from exactly two of start, end and target."""
    if [start, end, target].count(None) != 1:
        raise error(
            op,
            f"exactly two of {', '.join(names)}",
            **{n: v for n, v in zip(names, (start, end, target))},
        )
    for n, v in zip(names, (start, end, target)):
        if v is not None and v < 0:
            raise error(op, f"{n} >= 0", **{n: v})
    sign = 1 if grow else -1
    if start is None:
        start = sign * (target - size) - end
    if end is None:
        end = sign * (target - size) - start
    for n, v in zip(names[:2], (start, end)):
        if v < 0:
            raise error(op, f"{n} >= 0 (from the others and the image size {size})", **{n: v})
    return int(start), int(end)


def _spatial_axes(x: torch.Tensor, fmt: str) -> tuple[int, int]:
    return (x.dim() - 3, x.dim() - 2) if fmt == "channels_last" else (x.dim() - 2, x.dim() - 1)


def pad_images(
    images: Any,
    top_padding: int | None = None,
    left_padding: int | None = None,
    bottom_padding: int | None = None,
    right_padding: int | None = None,
    target_height: int | None = None,
    target_width: int | None = None,
    data_format: str | None = None,
) -> torch.Tensor:
    """Zero-pad images; per axis give two of the two paddings and the target size."""
    fmt = _data_format("pad_images", data_format)
    x = images_tensor("pad_images", images)
    hax, wax = _spatial_axes(x, fmt)
    names_h = ("top_padding", "bottom_padding", "target_height")
    names_w = ("left_padding", "right_padding", "target_width")
    top, bottom = _resolve(
        "pad_images", x.shape[hax], top_padding, bottom_padding, target_height, names_h, True
    )
    left, right = _resolve(
        "pad_images", x.shape[wax], left_padding, right_padding, target_width, names_w, True
    )
    pad = [0, 0] * (x.dim() - 1 - wax) + [left, right, top, bottom]
    return F.pad(x, pad)


def crop_images(
    images: Any,
    top_cropping: int | None = None,
    left_cropping: int | None = None,
    bottom_cropping: int | None = None,
    right_cropping: int | None = None,
    target_height: int | None = None,
    target_width: int | None = None,
    data_format: str | None = None,
) -> torch.Tensor:
    """Crop images; per axis give two of the two croppings and the target size."""
    fmt = _data_format("crop_images", data_format)
    x = images_tensor("crop_images", images)
    hax, wax = _spatial_axes(x, fmt)
    names_h = ("top_cropping", "bottom_cropping", "target_height")
    names_w = ("left_cropping", "right_cropping", "target_width")
    h, w = x.shape[hax], x.shape[wax]
    top, bottom = _resolve(
        "crop_images", h, top_cropping, bottom_cropping, target_height, names_h, False
    )
    left, right = _resolve(
        "crop_images", w, left_cropping, right_cropping, target_width, names_w, False
    )
    return x.narrow(hax, top, h - top - bottom).narrow(wax, left, w - left - right)


__all__ = ["crop_images", "pad_images", "resize"]
