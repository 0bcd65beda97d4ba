"""Image files (or their bytes) fitted to what a model reads: `lamina predict` and
`lamina serve` share this, so a picture gets the same pixels from either.

An input shape says the image it wants (`ImageLayout`): `(h, w, c)` with 1, 3 or 4
channels, `(h, w)`, or `(h * w * c,)` flattened square pixels. An image is read with
Pillow (`lamina.utils.load_img`): converted to those channels (grayscale, RGB or RGBA),
resized with bilinear interpolation to the input size when the model fixes one, then
scaled: 'unit' divides by 255 (pixels in [0, 1], as the examples train), 'signed' maps
to [-1, 1], 'raw' keeps 0..255 (for models that rescale inside).
"""

from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np

Scale = Literal["unit", "signed", "raw"]
SCALES: tuple[str, ...] = get_args(Scale)
COLOR_MODES = {1: "grayscale", 3: "rgb", 4: "rgba"}


class ImageTooLarge(ValueError):
    """An image with more pixels than the caller allows (checked before decoding)."""


@dataclass(frozen=True)
class ImageLayout:
    """The image a model reads: size (None where the model takes any), channels, and the
    shape one sample has inside the model (`(h, w, c)`, `(h, w)` or `(h * w * c,)`)."""

    height: int | None
    width: int | None
    channels: int
    sample_shape: tuple[int | None, ...]

    def arrange(self, images: np.ndarray) -> np.ndarray:
        """(n, h, w, c) float images -> the batch the model takes."""
        n, h, w, c = images.shape
        if len(self.sample_shape) == 3:
            return images
        if len(self.sample_shape) == 2:
            return images[..., 0]
        return images.reshape(n, h * w * c)


def layout_for_shape(shape: tuple[Any, ...]) -> ImageLayout | None:
    """The image an input of sample shape `shape` (no batch axis) reads, or None when
    the shape is not an image's."""
    shape = tuple(shape)
    if len(shape) == 3 and shape[2] in (1, 3, 4):
        return ImageLayout(shape[0], shape[1], int(shape[2]), shape)
    if len(shape) == 2:
        return ImageLayout(shape[0], shape[1], 1, shape)
    if len(shape) == 1 and shape[0] is not None:
        n = int(shape[0])
        for channels in (1, 3):
            side = math.isqrt(n // channels)
            if n % channels == 0 and side * side * channels == n:
                return ImageLayout(side, side, channels, shape)
    return None


def scale_pixels(pixels: np.ndarray, scale: str) -> np.ndarray:
    """0..255 pixels -> float32 in the range `scale` names."""
    pixels = pixels.astype(np.float32)
    if scale == "unit":
        return pixels / np.float32(255)
    if scale == "signed":
        return pixels / np.float32(127.5) - np.float32(1)
    if scale == "raw":
        return pixels
    raise ValueError(f"Expected a scale in {', '.join(SCALES)}, received: scale={scale!r}")


def read_image(
    source: str | os.PathLike | bytes | io.BytesIO,
    layout: ImageLayout,
    scale: str = "unit",
    invert: bool = False,
    max_pixels: int | None = None,
) -> np.ndarray:
    """One image (a file path or the file's bytes) as an (h, w, c) float32 array the
    model can read. `max_pixels` refuses larger images before decoding them, so a small
    compressed file cannot unpack into gigabytes."""
    from lamina.utils import img_to_array, load_img

    if isinstance(source, (bytes, bytearray, memoryview)):
        source = io.BytesIO(bytes(source))
    if max_pixels is not None:
        _check_pixels(source, max_pixels)
    size = (layout.height, layout.width)
    image = load_img(
        source,
        color_mode=COLOR_MODES[layout.channels],
        target_size=size if None not in size else None,
        interpolation="bilinear",
    )
    pixels = img_to_array(image, dtype="float32")
    if invert:
        pixels = 255 - pixels
    return scale_pixels(pixels, scale)


def _check_pixels(source: str | os.PathLike | io.BytesIO, max_pixels: int) -> None:
    """Read only the header (Pillow opens lazily) and refuse images over `max_pixels`."""
    from PIL import Image

    try:
        with Image.open(source) as probe:
            width, height = probe.size
    except Exception as err:
        raise ValueError(
            f"Expected a readable image file, received: {type(err).__name__}: {err}"
        ) from err
    finally:
        if isinstance(source, io.BytesIO):
            source.seek(0)
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"Expected an image of at most {max_pixels:,} pixels, received: size={width}x{height}"
        )
