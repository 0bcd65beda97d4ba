"""Images sent to a model that reads pictures: TF Serving's `{"b64": "..."}` binary form
inside a JSON request, or the raw bytes of a multipart/form-data file upload.

The bytes are decoded with Pillow and fitted to the input as `lamina predict` fits an
image file (`lamina.preprocessing.image_files.read_image`): the model's channels, its
input size (bilinear), the server's pixel scaling, flattened when the model reads pixel
rows. Images larger than the server's pixel limit are refused before decoding.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import numpy as np

from lamina.preprocessing.image_files import ImageTooLarge, read_image
from lamina.serve.errors import ServeError
from lamina.serve.signature import TensorSpec


def is_b64(value: Any) -> bool:
    """Whether `value` is TF Serving's binary form, an object whose one key is 'b64'."""
    return isinstance(value, dict) and len(value) == 1 and "b64" in value


def b64_bytes(value: dict[str, Any], where: str) -> bytes:
    """The bytes of a `{"b64": "..."}` value (standard or URL-safe alphabet)."""
    text = value["b64"]
    if not isinstance(text, str):
        raise ServeError(
            400, f"Expected a base64 string in {where}.b64, received: {type(text).__name__}"
        )
    try:
        return base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError) as err:
        raise ServeError(
            400, f"Expected base64 text in {where}.b64, received: invalid base64 ({err})"
        ) from err


def image_sample(data: bytes, spec: TensorSpec, scale: str, max_pixels: int, where: str) -> Any:
    """An encoded image's bytes -> one sample of `spec` (float32, the input's shape)."""
    layout = spec.image
    if layout is None:
        raise ServeError(
            400,
            f"Expected numbers for input {spec.name!r} (it does not read images), received: "
            f"an image in {where}",
        )
    if spec.numpy_dtype.kind != "f":
        raise ServeError(
            400,
            f"Expected numbers for input {spec.name!r} ({spec.dtype}), received: an image in "
            f"{where}",
        )
    try:
        pixels = read_image(data, layout, scale=scale, max_pixels=max_pixels)
    except ImageTooLarge as err:
        raise ServeError(400, f"{err} in {where}") from err
    except (ValueError, OSError) as err:
        cause = type(err.__cause__ or err).__name__
        raise ServeError(
            400,
            f"Expected an encoded image (PNG, JPEG, ...) in {where}, received: {len(data)} "
            f"bytes Pillow cannot read ({cause})",
        ) from err
    sample = layout.arrange(pixels[None])[0]
    return np.ascontiguousarray(sample, dtype=spec.numpy_dtype)
