"""Decode one image file to a uint8 (height, width, channels) array at a fixed size (Pillow).

Used by `ImageFolder` in the main process and in DataLoader workers, so it works on a
path and returns plain NumPy (cheap to send between processes).

- Big JPEGs are decoded in draft mode (libjpeg's DCT scaling by 1/2, 1/4 or 1/8) when the
  region that becomes the output is at least twice the target in both directions; the
  draft image is never smaller than the target, so the final resize still filters.
- Colour: grayscale, palette, CMYK, RGBA/LA and 16-bit ('I;16', 'I') files convert to the
  requested color_mode; 16-bit values are scaled to 8 bits (65535 -> 255), not clipped.
  Alpha is dropped for 'rgb' (as `keras.utils.load_img` does: PIL's convert, no compositing).
- Images smaller than the target are upscaled with the same interpolation.
- Any failure (not an image, truncated, zero bytes) raises `ImageDecodeError` naming the file.
- `probe_image` reads only the header (format, size): it finds files that are not images at
  all for a small fraction of a decode's cost; a truncated body is found only by decoding.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

# Keras's load_img names (PIL filters) plus the tf.image names image_dataset_from_directory takes
PIL_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")
_ALIASES = {"area": "box", "lanczos3": "lanczos", "lanczos5": "lanczos", "mitchellcubic": "bicubic"}
COLOR_MODES = {"grayscale": ("L", 1), "rgb": ("RGB", 3), "rgba": ("RGBA", 4)}
_SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N")


class ImageDecodeError(ValueError):
    """A file with an image extension that Pillow cannot decode (the message names it)."""


def pil_interpolation(name: str) -> str:
    """The PIL filter name for a Keras interpolation name ('area' -> 'box', ...)."""
    key = _ALIASES.get(name, name)
    if key not in PIL_INTERPOLATIONS:
        allowed = PIL_INTERPOLATIONS + tuple(_ALIASES)
        raise ValueError(f"Expected interpolation in {allowed}, received: interpolation={name!r}")
    return key


def channels(color_mode: str) -> int:
    """Channels of a color_mode ('grayscale' 1, 'rgb' 3, 'rgba' 4)."""
    if color_mode not in COLOR_MODES:
        raise ValueError(
            f"Expected color_mode in {tuple(COLOR_MODES)}, received: color_mode={color_mode!r}"
        )
    return COLOR_MODES[color_mode][1]


def _region(w: int, h: int, tw: int, th: int, fit: str) -> tuple[int, int, int, int]:
    """(left, top, width, height) of the part of a w x h image that becomes the output.

    'crop': the centred box of the target's aspect ratio (Keras smart_resize, floor
    division); 'pad': a larger centred box (negative offsets) padded with zeros.
    """
    if fit == "crop":
        rw, rh = min(w, (h * tw) // th), min(h, (w * th) // tw)
        return (w - rw) // 2, (h - rh) // 2, rw, rh
    if fit == "pad":
        rw, rh = max(w, (h * tw) // th), max(h, (w * th) // tw)
        return -((rw - w) // 2), -((rh - h) // 2), rw, rh
    return 0, 0, w, h


def _draft(img: Any, color_mode: str, tw: int, th: int, fit: str) -> None:
    """Let libjpeg decode at 1/2, 1/4 or 1/8 scale when that still covers the target."""
    if getattr(img, "format", None) != "JPEG":
        return
    w, h = img.size
    _, _, rw, rh = _region(w, h, tw, th, fit)
    if rw < 2 * tw or rh < 2 * th:
        return
    # the region shrinks with the image: ask for an image whose region is >= the target
    need = (-(-w * tw // rw), -(-h * th // rh))
    img.draft("L" if color_mode == "grayscale" else "RGB", need)


def _to_eight_bit(arr: np.ndarray, mode: str) -> np.ndarray:
    """16-bit (and 32-bit int or float) grey values as uint8, scaled rather than clipped."""
    low, high = float(arr.min(initial=0.0)), float(arr.max(initial=0.0))
    if mode in _SIXTEEN_BIT or (mode == "I" and low >= 0 and high <= 65535):
        scaled = arr / 257.0  # 65535 -> 255
    elif mode == "F" and low >= 0 and high <= 1.0:
        scaled = arr * 255.0
    else:  # other ranges: stretch min..max to 0..255
        scaled = (arr - low) * (255.0 / ((high - low) or 1.0))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def _to_mode(img: Any, color_mode: str) -> Any:
    """Convert any Pillow mode to 'L', 'RGB' or 'RGBA', scaling 16/32-bit values to 8 bits."""
    from PIL import Image

    mode = COLOR_MODES[color_mode][0]
    if img.mode in _SIXTEEN_BIT or img.mode in ("I", "F"):
        img = Image.fromarray(_to_eight_bit(np.asarray(img, dtype=np.float64), img.mode), "L")
    elif img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")  # keeps the transparent index as alpha
    if img.mode != mode:
        img = img.convert(mode)
    return img


def _error(path: str | os.PathLike, err: Exception) -> ImageDecodeError:
    return ImageDecodeError(
        f"Expected a readable image file, received: path={os.fspath(path)!r} "
        f"({type(err).__name__}: {err})"
    )


def probe_image(path: str | os.PathLike) -> None:
    """Raise `ImageDecodeError` unless Pillow recognises the file's header (no pixels read)."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            width, height = img.size
        if width < 1 or height < 1:
            raise ValueError(f"empty image of size {width}x{height}")
    except Exception as err:  # PIL raises many types (OSError, SyntaxError, ValueError, ...)
        raise _error(path, err) from None


def decode_image(
    path: str | os.PathLike,
    target_size: tuple[int, int],
    color_mode: str = "rgb",
    interpolation: str = "bilinear",
    fit: str = "stretch",
) -> np.ndarray:
    """The image at `path` as uint8 (height, width, channels) of `target_size`.

    fit: 'stretch' (plain resize), 'crop' (centre-crop to the target aspect ratio first:
    Keras's keep_aspect_ratio / crop_to_aspect_ratio) or 'pad' (zero-pad to it first:
    pad_to_aspect_ratio).
    """
    from PIL import Image

    th, tw = int(target_size[0]), int(target_size[1])
    resample = getattr(Image.Resampling, pil_interpolation(interpolation).upper())
    channels(color_mode)
    try:
        with Image.open(path) as img:
            _draft(img, color_mode, tw, th, fit)
            img.load()
            img = _to_mode(img, color_mode)
            left, top, rw, rh = _region(img.size[0], img.size[1], tw, th, fit)
            if fit == "pad" and (rw, rh) != img.size:
                canvas = Image.new(img.mode, (rw, rh), 0)
                canvas.paste(img, (-left, -top))
                img = canvas
            elif (left, top, rw, rh) != (0, 0, *img.size):
                img = img.crop((left, top, left + rw, top + rh))
            if img.size != (tw, th):
                img = img.resize((tw, th), resample)
            arr = np.asarray(img, dtype=np.uint8)
    except Exception as err:  # PIL raises many types (OSError, SyntaxError, ValueError, ...)
        raise _error(path, err) from None
    return arr[:, :, None] if arr.ndim == 2 else arr
