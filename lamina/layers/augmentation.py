"""Keras 3's image augmentation layers: random flips, rotations, translations, zooms, crops,
contrast and brightness.

They change images only when called with training=True (as `fit` does) and are the
identity otherwise, except RandomCrop, which always returns its target size. Inputs are
NHWC batches or single HWC images; each image of a batch draws its own random transform,
and the geometric layers warp the whole batch in one `warp_affine` call on the input's
device. `seed=` gives the layer its own generator, so its draws are reproducible.

    Sequential([Input((28, 28, 1)), RandomRotation(0.05), RandomZoom(0.1), Conv2D(...)])
"""

from __future__ import annotations

import math
from typing import Any

import torch

from lamina import registry
from lamina.layers.base import Layer
from lamina.layers.preprocessing import resize_images
from lamina.ops import warp as image_ops

_FILL_MODES = ("reflect", "wrap", "constant", "nearest")  # Keras's layers take no 'mirror'
_INTERPOLATIONS = ("nearest", "bilinear")


def _error(layer: Layer, expected: str, **received: Any) -> ValueError:
    got = ", ".join(f"{k}={v!r}" for k, v in received.items())
    return ValueError(
        f"Layer '{layer.name}' ({type(layer).__name__}) expected {expected}, received: {got}"
    )


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _range(layer: Layer, name: str, factor: Any, low: float, high: float) -> tuple[float, float]:
    """Keras's factor rule: a number f gives (-|f|, |f|) (or (0, f) when low is 0);
    a pair (a, b) gives (min, max). Every number must lie in [low, high]."""
    expected = f"{name} a number or a pair of numbers in [{low}, {high}]"
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or not all(_is_number(f) and low <= f <= high for f in factor):
            raise _error(layer, expected, **{name: factor})
        a, b = sorted(float(f) for f in factor)
        return a, b
    if not _is_number(factor) or not low <= factor <= high:
        raise _error(layer, expected, **{name: factor})
    f = abs(float(factor))
    return max(-f, low), f


class _Augment(Layer):
    """Shared plumbing: seed and generator, training gate, HWC or NHWC inputs."""

    def __init__(self, seed: int | None = None, data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise _error(self, "an integer seed or None", seed=seed)
        if data_format not in (None, "channels_last"):
            raise _error(
                self,
                "data_format='channels_last' (Lamina images are NHWC)",
                data_format=data_format,
            )
        self.seed = seed
        self.data_format = "channels_last"
        self._generator: torch.Generator | None = None

    def _gen(self, device: torch.device) -> torch.Generator | None:
        """The layer's own generator; None (torch's global one) inside a compiled step,
        where Inductor draws random numbers in its kernels and takes no generator."""
        if self.seed is None or torch.compiler.is_compiling():
            return None
        if self._generator is None or self._generator.device != device:
            self._generator = torch.Generator(device=device).manual_seed(self.seed)
        return self._generator

    def _uniform(self, n: int, low: float, high: float, device: torch.device) -> torch.Tensor:
        """(n,) float32 draws, uniform on [low, high)."""
        u = torch.rand(n, generator=self._gen(device), device=device, dtype=torch.float32)
        return u * (high - low) + low

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        if inputs.dim() not in (3, 4):
            raise _error(
                self,
                "images of shape (batch, height, width, channels) or (height, width, channels)",
                inputs_shape=tuple(inputs.shape),
            )
        x = inputs if inputs.dim() == 4 else inputs.unsqueeze(0)
        out = self._augment(x, bool(training))
        return out if inputs.dim() == 4 else out[0]

    def _augment(self, x: torch.Tensor, training: bool) -> torch.Tensor:
        return self._transform(x) if training else x

    def _transform(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "seed": self.seed, "data_format": self.data_format}


@registry.register("layer", "RandomFlip")
class RandomFlip(_Augment):
    """Flip each image with probability 1/2: 'horizontal' mirrors columns, 'vertical' rows.

    'horizontal_and_vertical' (the default) flips both axes together or neither, one draw
    per image, as Keras 3 does (so it is a random 180-degree turn).
    """

    _MODES = ("horizontal", "vertical", "horizontal_and_vertical")

    def __init__(
        self, mode: str = "horizontal_and_vertical", seed: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(seed=seed, **kwargs)
        if mode not in self._MODES:
            raise _error(self, f"mode one of {self._MODES}", mode=mode)
        self.mode = mode

    def _transform(self, x: torch.Tensor) -> torch.Tensor:
        flips = (self._uniform(x.shape[0], 0.0, 1.0, x.device) <= 0.5).view(-1, 1, 1, 1)
        axes = {"horizontal": (2,), "vertical": (1,), "horizontal_and_vertical": (1, 2)}
        return torch.where(flips, x.flip(axes[self.mode]), x)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mode": self.mode}


class _Affine(_Augment):
    """A layer whose per-image transforms are matrices for one batched `warp_affine`."""

    def __init__(
        self,
        fill_mode: str = "reflect",
        interpolation: str = "bilinear",
        seed: int | None = None,
        fill_value: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(seed=seed, **kwargs)
        if fill_mode not in _FILL_MODES:
            raise _error(self, f"fill_mode one of {_FILL_MODES}", fill_mode=fill_mode)
        if interpolation not in _INTERPOLATIONS:
            raise _error(
                self, f"interpolation one of {_INTERPOLATIONS}", interpolation=interpolation
            )
        if not _is_number(fill_value):
            raise _error(self, "a number fill_value", fill_value=fill_value)
        self.fill_mode, self.interpolation, self.fill_value = fill_mode, interpolation, fill_value

    def _matrices(self, batch: int, height: int, width: int, device: torch.device):
        raise NotImplementedError

    def _transform(self, x: torch.Tensor) -> torch.Tensor:
        m = self._matrices(x.shape[0], x.shape[1], x.shape[2], x.device)
        return image_ops.warp_affine(
            x, m, self.fill_mode, float(self.fill_value), self.interpolation
        )

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "fill_mode": self.fill_mode,
            "interpolation": self.interpolation,
            "fill_value": self.fill_value,
        }


@registry.register("layer", "RandomRotation")
class RandomRotation(_Affine):
    """Rotate each image by a random fraction of a full turn, drawn from `factor`.

    factor 0.2 draws from [-0.2, 0.2] (-72 to +72 degrees); (a, b) from [a, b]. Positive
    angles turn content counter-clockwise: (0.25, 0.25) is np.rot90.
    """

    def __init__(
        self,
        factor: float | tuple[float, float],
        fill_mode: str = "reflect",
        interpolation: str = "bilinear",
        seed: int | None = None,
        fill_value: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.factor = factor
        self._low, self._high = _range(self, "factor", factor, -1.0, 1.0)

    def _matrices(self, batch: int, height: int, width: int, device: torch.device):
        turns = self._uniform(batch, self._low, self._high, device)
        return image_ops.rotation(turns * (2.0 * math.pi), height, width)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor}


@registry.register("layer", "RandomTranslation")
class RandomTranslation(_Affine):
    """Shift each image by random fractions of its height and width.

    height_factor 0.2 draws a shift in [-20%, +20%] of the height (positive = down);
    width_factor likewise (positive = right). Pairs (a, b) give [a, b]; values in [-1, 1].
    """

    def __init__(
        self,
        height_factor: float | tuple[float, float],
        width_factor: float | tuple[float, float],
        fill_mode: str = "reflect",
        interpolation: str = "bilinear",
        seed: int | None = None,
        fill_value: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._h = _range(self, "height_factor", height_factor, -1.0, 1.0)
        self._w = _range(self, "width_factor", width_factor, -1.0, 1.0)

    def _matrices(self, batch: int, height: int, width: int, device: torch.device):
        dy = self._uniform(batch, *self._h, device) * height
        dx = self._uniform(batch, *self._w, device) * width
        return image_ops.translation(dx, dy)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "height_factor": self.height_factor,
            "width_factor": self.width_factor,
        }


@registry.register("layer", "RandomZoom")
class RandomZoom(_Affine):
    """Zoom each image about its centre by a random amount.

    The zoom is 1 + u, u drawn from height_factor (a number f gives [-f, f], a pair
    [a, b]; values in (-1, 1]): positive u zooms OUT (content smaller), negative zooms IN.
    width_factor=None uses the height's zoom for the width too (aspect kept).
    """

    def __init__(
        self,
        height_factor: float | tuple[float, float],
        width_factor: float | tuple[float, float] | None = None,
        fill_mode: str = "reflect",
        interpolation: str = "bilinear",
        seed: int | None = None,
        fill_value: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._h = self._zoom_range("height_factor", height_factor)
        self._w = None if width_factor is None else self._zoom_range("width_factor", width_factor)

    def _zoom_range(self, name: str, factor: Any) -> tuple[float, float]:
        low, high = _range(self, name, factor, -1.0, 1.0)
        if low <= -1.0:  # a zoom of 0 would read a single point
            raise _error(self, f"{name} values in (-1, 1]", **{name: factor})
        return low, high

    def _matrices(self, batch: int, height: int, width: int, device: torch.device):
        zy = 1.0 + self._uniform(batch, *self._h, device)
        zx = zy if self._w is None else 1.0 + self._uniform(batch, *self._w, device)
        return image_ops.zoom(zx, zy, height, width)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "height_factor": self.height_factor,
            "width_factor": self.width_factor,
        }


def _value_range(layer: Layer, value_range: Any) -> tuple[float, float]:
    if (
        not isinstance(value_range, (tuple, list))
        or len(value_range) != 2
        or not all(_is_number(v) for v in value_range)
    ):
        raise _error(layer, "value_range a pair of numbers (low, high)", value_range=value_range)
    low, high = sorted(float(v) for v in value_range)
    return low, high


@registry.register("layer", "RandomContrast")
class RandomContrast(_Augment):
    """Scale each image's contrast by a random c, per channel: (x - mean) * c + mean.

    The mean is over each image's pixels, per channel. c is drawn from [1 - lower,
    1 + upper]: a number f gives lower = upper = f (in [0, 1]), a pair (lower, upper)
    those bounds. Outputs are clipped to value_range. (This is Keras's documented rule and
    Keras 2's; Keras 3.15's code turns a number f into [1, 1 + f], raising contrast only.)
    """

    def __init__(
        self,
        factor: float | tuple[float, float],
        value_range: tuple[float, float] = (0, 255),
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(seed=seed, **kwargs)
        if isinstance(factor, (tuple, list)):
            low, high = _range(self, "factor", factor, 0.0, math.inf)
            if low > 1.0:
                raise _error(self, "factor's lower bound in [0, 1]", factor=factor)
            self._lower, self._upper = low, high
        else:
            self._lower = self._upper = _range(self, "factor", factor, 0.0, 1.0)[1]
        self.factor = factor
        self.value_range = value_range
        self._vr = _value_range(self, value_range)

    def _transform(self, x: torch.Tensor) -> torch.Tensor:
        c = self._uniform(x.shape[0], 1.0 - self._lower, 1.0 + self._upper, x.device)
        c = c.to(x.dtype).view(-1, 1, 1, 1)
        mean = x.mean(dim=(1, 2), keepdim=True)
        return ((x - mean) * c + mean).clamp(*self._vr)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range}


@registry.register("layer", "RandomBrightness")
class RandomBrightness(_Augment):
    """Add a random delta to each image: u * (high - low) of value_range, u from `factor`.

    factor 0.2 draws u in [-0.2, 0.2]; a pair (a, b) in [a, b]; values in [-1, 1] (-1 makes
    the image black, +1 white). Outputs are clipped to value_range.
    """

    def __init__(
        self,
        factor: float | tuple[float, float],
        value_range: tuple[float, float] = (0, 255),
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(seed=seed, **kwargs)
        self.factor = factor
        self._low, self._high = _range(self, "factor", factor, -1.0, 1.0)
        self.value_range = value_range
        self._vr = _value_range(self, value_range)

    def _transform(self, x: torch.Tensor) -> torch.Tensor:
        u = self._uniform(x.shape[0], self._low, self._high, x.device)
        delta = (u * (self._vr[1] - self._vr[0])).to(x.dtype).view(-1, 1, 1, 1)
        return (x + delta).clamp(*self._vr)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range}


@registry.register("layer", "RandomCrop")
class RandomCrop(_Augment):
    """Crop (height, width) windows: at a random place in training, one place per batch
    (as Keras does). At inference, or when an image is not larger than the target in both
    dimensions, the largest central window of the target's aspect ratio is cropped and
    resized (bilinear) to (height, width), as Keras documents (Keras 3.15's code returns
    inference inputs uncropped, so its output shape then disagrees with its own
    compute_output_shape)."""

    def __init__(self, height: int, width: int, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        for arg, value in (("height", height), ("width", width)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise _error(self, f"a positive integer {arg}", **{arg: value})
        self.height, self.width = height, width

    def _augment(self, x: torch.Tensor, training: bool) -> torch.Tensor:
        h, w = x.shape[1], x.shape[2]
        if not (training and h > self.height and w > self.width):
            return resize_images(x, self.height, self.width, crop_to_aspect_ratio=True)
        g = self._gen(x.device)
        top = torch.randint(0, h - self.height + 1, (1,), generator=g, device=x.device)
        left = torch.randint(0, w - self.width + 1, (1,), generator=g, device=x.device)
        rows = top + torch.arange(self.height, device=x.device)
        cols = left + torch.arange(self.width, device=x.device)
        return x.index_select(1, rows).index_select(2, cols)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (*tuple(input_shape)[:-3], self.height, self.width, input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height": self.height, "width": self.width}
