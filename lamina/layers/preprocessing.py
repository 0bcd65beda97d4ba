"""Preprocessing layers: Rescaling, Normalization (with adapt), Resizing, CenterCrop.

They put input scaling inside the model, so a saved model accepts raw data.
Resizing matches Keras 3 / TensorFlow 2 resizing: half-pixel centres, no
antialiasing unless `antialias=True` (then downsampling low-pass filters first).

    Rescaling(1 / 255)                       # uint8 pixels -> [0, 1]
    norm = Normalization(); norm.adapt(x_train)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from lamina import config, registry
from lamina.layers.base import Layer
from lamina.layers.input_spec import InputSpec


def _error(layer: Layer, expected: str, **received: Any) -> ValueError:
    got = ", ".join(f"{k}={v!r}" for k, v in received.items())
    return ValueError(
        f"Layer '{layer.name}' ({type(layer).__name__}) expected {expected}, received: {got}"
    )


def _jsonable(value: Any) -> Any:
    """Numbers stay numbers; arrays and tensors become (nested) lists."""
    if value is None or isinstance(value, (int, float)):
        return value
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.asarray(value).tolist()


def _float(layer: Layer, x: torch.Tensor) -> torch.Tensor:
    return x if x.is_floating_point() else x.to(layer._dtype)


@registry.register("layer", "Rescaling")
class Rescaling(Layer):
    """inputs * scale + offset, e.g. Rescaling(1/255) or Rescaling(1/127.5, offset=-1)."""

    supports_masking = True

    def __init__(self, scale: Any, offset: Any = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        try:
            scale_t = torch.as_tensor(np.asarray(scale, dtype=np.float64), dtype=self._dtype)
            offset_t = torch.as_tensor(np.asarray(offset, dtype=np.float64), dtype=self._dtype)
        except (TypeError, ValueError) as err:
            raise _error(
                self,
                "numbers (or per-channel lists) for scale and offset",
                scale=scale,
                offset=offset,
            ) from err
        self.scale = _jsonable(scale)
        self.offset = _jsonable(offset)
        self.register_buffer("_scale", scale_t, persistent=False)
        self.register_buffer("_offset", offset_t, persistent=False)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return _float(self, inputs) * self._scale + self._offset

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


@registry.register("layer", "Normalization")
class Normalization(Layer):
    """(x - mean) / sqrt(variance) per feature on `axis` (None: one scalar mean/variance).

    Give `mean` and `variance`, or call `adapt(data)` to compute them from data.
    `invert=True` maps normalized values back. Adaptable layers hold Keras 3's
    non-trainable weights (mean, variance, count); like Keras 3, adapt leaves count at 0.
    """

    supports_masking = True

    def __init__(
        self,
        axis: int | Sequence[int] | None = -1,
        mean: Any = None,
        variance: Any = None,
        invert: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, int):
            axis = (axis,)
        if not all(isinstance(a, int) for a in axis):
            raise _error(self, "axis None, an int or a tuple of ints", axis=axis)
        self.axis = tuple(axis)
        if (mean is None) != (variance is None):
            raise _error(self, "both mean and variance, or neither", mean=mean, variance=variance)
        if mean is not None and np.shape(mean) != np.shape(variance):
            raise _error(self, "mean and variance of the same shape", mean=mean, variance=variance)
        self.input_mean = _jsonable(mean)
        self.input_variance = _jsonable(variance)
        self.invert = bool(invert)

    def build(self, input_shape: tuple) -> None:
        ndim = len(input_shape)
        if any(not -ndim <= a < ndim for a in self.axis):
            raise _error(self, f"axis values in [-{ndim}, {ndim})", axis=self.axis)
        keep = tuple(sorted(a % ndim for a in self.axis))
        if any(input_shape[d] is None for d in keep):
            raise _error(self, f"known sizes on axis={self.axis}", input_shape=tuple(input_shape))
        self._keep = keep
        self._reduce = tuple(d for d in range(ndim) if d not in keep)
        self._broadcast = tuple(input_shape[d] if d in keep else 1 for d in range(ndim))
        shape = tuple(input_shape[d] for d in keep)
        if self.input_mean is None:
            self.mean = self.add_weight("mean", shape, "zeros", trainable=False)
            self.variance = self.add_weight("variance", shape, "ones", trainable=False)
            self.count = self.add_weight("count", (), "zeros", trainable=False)
        else:
            self.register_buffer("mean", self._expand(self.input_mean), persistent=False)
            self.register_buffer("variance", self._expand(self.input_variance), persistent=False)

    def _expand(self, value: Any) -> torch.Tensor:
        """Align a given mean/variance with the kept axes (right to left), then broadcast."""
        t = torch.as_tensor(np.asarray(value, dtype=np.float64), dtype=self._dtype)
        view = [1] * len(self._broadcast)
        for i in range(1, t.dim() + 1):
            view[self._keep[-i]] = t.shape[-i]
        try:
            return t.reshape(view).expand(self._broadcast).clone()
        except RuntimeError as err:
            raise _error(
                self, f"mean/variance broadcastable to {self._broadcast}", mean=self.input_mean
            ) from err

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = _float(self, inputs)
        mean = self.mean.reshape(self._broadcast)
        std = torch.sqrt(self.variance.reshape(self._broadcast)).clamp_min(config.epsilon())
        if self.invert:
            return mean + x * std
        return (x - mean) / std

    def adapt(self, data: Any) -> None:
        """Set mean and variance from an array, a tensor, or an iterable of batches."""
        if self.input_mean is not None:
            raise _error(
                self, "adapt() only on a layer built without mean/variance", mean=self.input_mean
            )
        batches: Iterable[Any] = [data] if isinstance(data, (np.ndarray, torch.Tensor)) else data
        count, mean, m2 = 0.0, None, None
        for batch in batches:
            if isinstance(batch, (tuple, list)) and not isinstance(batch, np.ndarray):
                batch = batch[0]  # (x, y) pairs: adapt on x
            arr = (
                batch.detach().cpu().numpy()
                if isinstance(batch, torch.Tensor)
                else np.asarray(batch)
            )
            arr = arr.astype(np.float64)
            if not self.built:
                self._maybe_build((None, *arr.shape[1:]))
            n = float(np.prod([arr.shape[d] for d in self._reduce]))
            b_mean = arr.mean(axis=self._reduce)
            b_m2 = ((arr - arr.mean(axis=self._reduce, keepdims=True)) ** 2).sum(axis=self._reduce)
            if mean is None:
                count, mean, m2 = n, b_mean, b_m2
            else:  # Chan et al.'s pairwise update
                delta = b_mean - mean
                total = count + n
                mean = mean + delta * n / total
                m2 = m2 + b_m2 + delta**2 * count * n / total
                count = total
        if mean is None:
            raise _error(self, "non-empty data for adapt()", data=type(data).__name__)
        with torch.no_grad():
            self.mean.copy_(torch.as_tensor(mean))
            self.variance.copy_(torch.as_tensor(m2 / count))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "axis": self.axis,
            "invert": self.invert,
            "mean": self.input_mean,
            "variance": self.input_variance,
        }


_MODES = {"bilinear": "bilinear", "nearest": "nearest-exact", "area": "area"}


def resize_images(
    images: torch.Tensor,
    height: int,
    width: int,
    interpolation: str = "bilinear",
    crop_to_aspect_ratio: bool = False,
    pad_to_aspect_ratio: bool = False,
    fill_value: float = 0.0,
    antialias: bool = False,
) -> torch.Tensor:
    """Resize NHWC images as keras.ops.image.resize does (half-pixel centres)."""
    h, w = images.shape[1], images.shape[2]
    if crop_to_aspect_ratio:
        ch = max(min(h, int(w * height / width)), 1)
        cw = max(min(w, int(h * width / height)), 1)
        top, left = (h - ch) // 2, (w - cw) // 2
        images = images[:, top : top + ch, left : left + cw, :]
    elif pad_to_aspect_ratio:
        ph = (max(h, int(w * height / width)) - h) // 2
        pw = (max(w, int(h * width / height)) - w) // 2
        if ph or pw:
            images = F.pad(images, (0, 0, pw, pw, ph, ph), value=fill_value)
    if tuple(images.shape[1:3]) == (height, width):
        return images
    x = images.permute(0, 3, 1, 2)
    mode = _MODES[interpolation]
    extra: dict[str, Any] = {}
    if mode == "bilinear":
        extra = {"align_corners": False, "antialias": antialias}
    return F.interpolate(x, size=(height, width), mode=mode, **extra).permute(0, 2, 3, 1)


def _check_size(layer: Layer, height: Any, width: Any) -> None:
    for arg, value in (("height", height), ("width", width)):
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise _error(layer, f"a positive integer {arg}", **{arg: value})


@registry.register("layer", "Resizing")
class Resizing(Layer):
    """Resize NHWC images to (height, width): 'bilinear' (default), 'nearest' or 'area'."""

    def __init__(
        self,
        height: int,
        width: int,
        interpolation: str = "bilinear",
        crop_to_aspect_ratio: bool = False,
        pad_to_aspect_ratio: bool = False,
        fill_mode: str = "constant",
        fill_value: float = 0.0,
        antialias: bool = False,
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        _check_size(self, height, width)
        if interpolation not in _MODES:
            raise _error(self, f"interpolation in {sorted(_MODES)}", interpolation=interpolation)
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise _error(
                self,
                "at most one of crop_to_aspect_ratio and pad_to_aspect_ratio",
                crop_to_aspect_ratio=crop_to_aspect_ratio,
                pad_to_aspect_ratio=pad_to_aspect_ratio,
            )
        if fill_mode != "constant":
            raise _error(self, "fill_mode='constant'", fill_mode=fill_mode)
        if data_format not in (None, "channels_last"):
            raise _error(
                self,
                "data_format='channels_last' (Lamina images are NHWC)",
                data_format=data_format,
            )
        self.height, self.width = height, width
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_mode = fill_mode
        self.fill_value = float(fill_value)
        self.antialias = bool(antialias)
        self.data_format = "channels_last"
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return resize_images(
            _float(self, inputs),
            self.height,
            self.width,
            self.interpolation,
            self.crop_to_aspect_ratio,
            self.pad_to_aspect_ratio,
            self.fill_value,
            self.antialias,
        )

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], self.height, self.width, input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "height": self.height,
            "width": self.width,
            "interpolation": self.interpolation,
            "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
            "pad_to_aspect_ratio": self.pad_to_aspect_ratio,
            "fill_mode": self.fill_mode,
            "fill_value": self.fill_value,
            "antialias": self.antialias,
            "data_format": self.data_format,
        }


@registry.register("layer", "CenterCrop")
class CenterCrop(Layer):
    """Crop the central (height, width) window of NHWC images.

    Images smaller than the target are cropped to its aspect ratio and resized
    (bilinear), as Keras does.
    """

    def __init__(
        self, height: int, width: int, data_format: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        _check_size(self, height, width)
        if data_format not in (None, "channels_last"):
            raise _error(
                self,
                "data_format='channels_last' (Lamina images are NHWC)",
                data_format=data_format,
            )
        self.height, self.width = height, width
        self.data_format = "channels_last"
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = _float(self, inputs)
        h, w = x.shape[1], x.shape[2]
        if h >= self.height and w >= self.width:
            top, left = (h - self.height) // 2, (w - self.width) // 2
            return x[:, top : top + self.height, left : left + self.width, :]
        return resize_images(x, self.height, self.width, crop_to_aspect_ratio=True)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], self.height, self.width, input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "height": self.height,
            "width": self.width,
            "data_format": self.data_format,
        }
