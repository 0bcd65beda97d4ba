"""Image files to arrays and back, as `keras.utils.load_img` and friends (NHWC, Pillow).

img = load_img("cat.jpg", target_size=(150, 150))
x = img_to_array(img) / 255.0        # (150, 150, 3) float32
save_img("out.png", x)
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from lamina.config import floatx
from lamina.io_utils import atomic_write

_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")


def _pil() -> Any:
    try:
        from PIL import Image
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Expected Pillow for image files, received: not installed. pip install pillow"
        ) from err
    return Image


def load_img(
    path: str | os.PathLike | io.BytesIO,
    color_mode: str = "rgb",
    target_size: tuple[int, int] | None = None,
    interpolation: str = "nearest",
    keep_aspect_ratio: bool = False,
) -> Any:
    """Open an image as a PIL Image in `color_mode` ('rgb', 'rgba', 'grayscale').

    `target_size=(height, width)` resizes; `keep_aspect_ratio=True` centre-crops
    to the target's aspect ratio first, so nothing is stretched.
    """
    image_mod = _pil()
    if color_mode not in ("rgb", "rgba", "grayscale"):
        raise ValueError(
            f"Expected color_mode in 'rgb', 'rgba', 'grayscale', received: color_mode={color_mode!r}"
        )
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(
            f"Expected interpolation in {_INTERPOLATIONS}, received: interpolation={interpolation!r}"
        )
    if isinstance(path, (str, os.PathLike)) and not Path(path).is_file():
        raise FileNotFoundError(
            f"Expected an image file, received: path={str(path)!r} (no such file)"
        )
    try:
        img = image_mod.open(path)
        img.load()
    except Exception as err:
        raise ValueError(
            f"Expected a readable image file, received: path={str(path)!r} "
            f"({type(err).__name__}: {err})"
        ) from err
    mode = {"rgb": "RGB", "rgba": "RGBA", "grayscale": "L"}[color_mode]
    if img.mode != mode:
        if img.mode in ("I;16", "I;16B", "I", "F") and mode != "L":
            arr = np.asarray(img, dtype=np.float64)
            top = arr.max() or 1.0
            img = image_mod.fromarray((arr / top * 255).astype(np.uint8))
        img = img.convert(mode)
    if target_size is not None:
        height, width = int(target_size[0]), int(target_size[1])
        if keep_aspect_ratio:
            w, h = img.size
            crop_w, crop_h = min(w, round(h * width / height)), min(h, round(w * height / width))
            left, top = (w - crop_w) // 2, (h - crop_h) // 2
            img = img.crop((left, top, left + crop_w, top + crop_h))
        if img.size != (width, height):
            resample = getattr(image_mod.Resampling, interpolation.upper())
            img = img.resize((width, height), resample)
    return img


def _data_format(data_format: str | None) -> str:
    data_format = data_format or "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            "Expected data_format 'channels_last' or 'channels_first', received: "
            f"data_format={data_format!r}"
        )
    return data_format


def img_to_array(img: Any, data_format: str | None = None, dtype: str | None = None) -> np.ndarray:
    """A PIL Image as an (H, W, C) array (grayscale gets C=1); (C, H, W) for
    'channels_first'. `dtype` defaults to floatx."""
    arr = np.asarray(img, dtype=dtype or floatx())
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3:
        raise ValueError(f"Expected an image of rank 2 or 3, received: shape={arr.shape}")
    return arr.transpose(2, 0, 1) if _data_format(data_format) == "channels_first" else arr


def array_to_img(
    x: Any, data_format: str | None = None, scale: bool = True, dtype: str | None = None
) -> Any:
    """An (H, W, C) array ((C, H, W) for 'channels_first') as a PIL Image; `scale=True`
    maps its range to 0..255."""
    image_mod = _pil()
    arr = np.asarray(x, dtype=dtype or floatx())
    if arr.ndim == 3 and _data_format(data_format) == "channels_first":
        arr = arr.transpose(1, 2, 0)
    if arr.ndim != 3 or arr.shape[-1] not in (1, 3, 4):
        raise ValueError(f"Expected an (height, width, 1|3|4) array, received: shape={arr.shape}")
    if scale:
        arr = arr - arr.min()
        top = arr.max()
        if top > 0:
            arr = arr / top
        arr = arr * 255.0
    arr = np.clip(arr, 0, 255).astype(np.uint8)
    if arr.shape[-1] == 1:
        return image_mod.fromarray(arr[:, :, 0], "L")
    return image_mod.fromarray(arr, "RGB" if arr.shape[-1] == 3 else "RGBA")


def save_img(
    path: str | os.PathLike,
    x: Any,
    data_format: str | None = None,
    file_format: str | None = None,
    scale: bool = True,
    **kwargs: Any,
) -> None:
    """Write an array (or PIL Image) to `path`, atomically (temp file, then rename);
    `kwargs` go to PIL's `Image.save`."""
    img = (
        x
        if hasattr(x, "save") and not isinstance(x, np.ndarray)
        else array_to_img(x, data_format=data_format, scale=scale)
    )
    path = Path(path)
    fmt = file_format or (path.suffix.lstrip(".").upper() or "PNG")
    fmt = "JPEG" if fmt == "JPG" else fmt
    if fmt == "JPEG" and img.mode == "RGBA":
        img = img.convert("RGB")
    with atomic_write(path) as f:
        img.save(f, format=fmt, **kwargs)
