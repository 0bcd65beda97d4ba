"""Keras 3's random colour augmentations: RandomColorDegeneration, RandomGrayscale,
RandomHue, RandomSaturation, RandomInvert and RandomColorJitter.

Each image of a batch draws its own parameters (see augmentation_base for the protocol).
Colour-space work goes through `lamina.ops.image` (rgb_to_grayscale, rgb_to_hsv, hsv_to_rgb).
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import config, random, registry
from lamina.layers.augmentation_base import (
    ImageAugmentation,
    batch_size,
    factor_range,
    layer_error,
    rescale,
    value_range,
)
from lamina.ops import image as image_ops


def _draw(shape: Any, low: float, high: float, seed: Any, like: torch.Tensor) -> torch.Tensor:
    """Uniform draws on [low, high) (Keras's order of draws), on the images' device."""
    return random.uniform(shape, low, high, seed=seed).to(like.device)


def _channel_axis(layer: ImageAugmentation) -> int:
    return -1 if layer.data_format == "channels_last" else -3


class _ColorLayer(ImageAugmentation):
    """factor + value_range + seed: the arguments most colour layers share."""

    _BOUNDS = (-1.0, 1.0)

    def __init__(
        self,
        factor: Any,
        value_range: Any = (0, 255),
        data_format: str | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_range(self, "factor", factor, self._BOUNDS)
        self.value_range = value_range_arg(self, value_range)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "factor": self.factor,
            "value_range": self.value_range,
            "seed": self.seed,
        }


def value_range_arg(layer: ImageAugmentation, values: Any) -> list[float]:
    return value_range(layer, values)


@registry.register("layer", "RandomColorDegeneration")
class RandomColorDegeneration(_ColorLayer):
    """Blend each image towards its grayscale version by a random factor from `factor`
    (a number f gives [-f, f]; negative factors move away from gray)."""

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None):
        images = data["images"] if isinstance(data, dict) else data
        n = batch_size(images)
        return {"factor": _draw((n, 1, 1, 1), *self.factor, self._seeds(seed)(), images)}

    def transform_images(self, images, transformation, training=True):
        if not training:
            return images
        factor = transformation["factor"].to(images.dtype)
        gray = image_ops.rgb_to_grayscale(images, data_format=self.data_format)
        return (images + factor * (gray - images)).clamp(*self.value_range)


@registry.register("layer", "RandomGrayscale")
class RandomGrayscale(ImageAugmentation):
    """Turn each image gray with probability `factor` (channels kept)."""

    def __init__(
        self, factor: float = 0.5, data_format: str | None = None, seed: int | None = None, **kw
    ):
        super().__init__(seed=seed, data_format=data_format, **kw)
        if not isinstance(factor, (int, float)) or not 0 <= factor <= 1:
            raise layer_error(self, "factor between 0 and 1", factor=factor)
        self.factor = factor

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None):
        images = data["images"] if isinstance(data, dict) else data
        u = _draw((batch_size(images),), 0.0, 1.0, self._seeds(seed)(), images)
        return (u < self.factor).view(-1, 1, 1, 1)

    def transform_images(self, images, transformation, training=True):
        if not training:
            return images
        gray = image_ops.rgb_to_grayscale(images, data_format=self.data_format)
        return torch.where(transformation, gray, images)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor}


@registry.register("layer", "RandomHue")
class RandomHue(_ColorLayer):
    """Rotate each image's hue by up to half a turn: +-u/2 turns, u drawn from `factor`
    (a number f gives [0, f]; 1.0 allows any hue)."""

    _BOUNDS = (0.0, 1.0)

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None):
        images = data["images"] if isinstance(data, dict) else data
        n, s = batch_size(images), self._seeds(seed)
        sign = torch.where(_draw((n,), 0.0, 1.0, s(), images) > 0.5, -1.0, 1.0)
        return {"factor": sign * _draw((n,), *self.factor, s(), images) * 0.5}

    def transform_images(self, images, transformation, training=True):
        if not training:
            return images
        axis = _channel_axis(self)
        x = rescale(images, self.value_range, (0, 1))
        hsv = image_ops.rgb_to_hsv(x, data_format=self.data_format)
        shift = transformation["factor"].to(x.dtype).view(-1, 1, 1)
        hue = hsv.select(axis, 0) + shift
        hue = torch.where(hue > 1.0, hue - 1.0, hue)
        hue = torch.where(hue < 0.0, hue + 1.0, hue)
        hsv = torch.stack([hue, hsv.select(axis, 1), hsv.select(axis, 2)], dim=axis)
        rgb = image_ops.hsv_to_rgb(hsv, data_format=self.data_format).clamp(0, 1)
        return rescale(rgb, (0, 1), self.value_range)


@registry.register("layer", "RandomSaturation")
class RandomSaturation(_ColorLayer):
    """Scale each image's saturation by u / (1 - u), u drawn from `factor` (0.5 keeps the
    image, 0 makes it gray, 1 fully saturated). The scaled saturation is clipped to
    [0, 1] (Keras 3.15 clips it to value_range, so pixels can leave the range)."""

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None):
        images = data["images"] if isinstance(data, dict) else data
        u = _draw((batch_size(images),), *self.factor, self._seeds(seed)(), images)
        return {"factor": u / (1 - u + config.epsilon())}

    def transform_images(self, images, transformation, training=True):
        if not training:
            return images
        axis = _channel_axis(self)
        scale = transformation["factor"].to(images.dtype).view(-1, 1, 1)
        hsv = image_ops.rgb_to_hsv(images, data_format=self.data_format)
        sat = (hsv.select(axis, 1) * scale).clamp(0.0, 1.0)
        hsv = torch.stack([hsv.select(axis, 0), sat, hsv.select(axis, 2)], dim=axis)
        return image_ops.hsv_to_rgb(hsv, data_format=self.data_format)


@registry.register("layer", "RandomInvert")
class RandomInvert(_ColorLayer):
    """Invert each image (value_range[1] - x) with a probability drawn from `factor`."""

    _BOUNDS = (0.0, 1.0)

    def __init__(
        self,
        factor: Any = 1.0,
        value_range: Any = (0, 255),
        seed: int | None = None,
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(factor, value_range, data_format=data_format, seed=seed, **kwargs)

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None):
        if not training:
            return None
        images = data["images"] if isinstance(data, dict) else data
        n, s = batch_size(images), self._seeds(seed)
        probability = _draw((n,), *self.factor, s(), images)
        threshold = _draw((n,), 0.0, 1.0, s(), images)
        return {"apply_inversion": threshold < probability}

    def transform_images(self, images, transformation, training=True):
        if not training:
            return images
        apply = transformation["apply_inversion"].view(-1, 1, 1, 1)
        return torch.where(apply, self.value_range[1] - images, images)


def adjust_brightness(images: torch.Tensor, delta: torch.Tensor, vr: Any) -> torch.Tensor:
    """Add a per-image delta (B, 1, 1, 1), clip to value range."""
    return (images + delta.to(images.dtype)).clamp(*vr)


def adjust_contrast(
    images: torch.Tensor, factor: torch.Tensor, vr: Any, channels_first: bool
) -> torch.Tensor:
    """(x - mean) * c + mean per image and channel, clipped to the value range."""
    dims = (-2, -1) if channels_first else (-3, -2)
    mean = images.mean(dim=dims, keepdim=True)
    return ((images - mean) * factor.to(images.dtype) + mean).clamp(*vr)


@registry.register("layer", "RandomColorJitter")
class RandomColorJitter(ImageAugmentation):
    """Random brightness, contrast, saturation and hue, in that order; each factor
    (None skips it) is read as by RandomBrightness, RandomContrast, RandomSaturation and
    RandomHue."""

    def __init__(
        self,
        value_range: Any = (0, 255),
        brightness_factor: Any = None,
        contrast_factor: Any = None,
        saturation_factor: Any = None,
        hue_factor: Any = None,
        seed: int | None = None,
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.value_range = value_range
        self._vr = value_range_arg(self, value_range)
        self.brightness_factor = brightness_factor
        self.contrast_factor = contrast_factor
        self.saturation_factor = saturation_factor
        self.hue_factor = hue_factor
        self._brightness = (
            None
            if brightness_factor is None
            else factor_range(self, "brightness_factor", brightness_factor, (-1, 1))
        )
        self._contrast = None
        if contrast_factor is not None:  # Lamina's RandomContrast rule: f -> [1 - f, 1 + f]
            if isinstance(contrast_factor, (tuple, list)):
                self._contrast = factor_range(self, "contrast_factor", contrast_factor, (0, 1e9))
            else:
                f = factor_range(self, "contrast_factor", contrast_factor, (0, 1))[1]
                self._contrast = (f, f)
        fmt = self.data_format
        self._saturation = (
            None
            if saturation_factor is None
            else RandomSaturation(saturation_factor, self._vr, data_format=fmt)
        )
        self._hue = None if hue_factor is None else RandomHue(hue_factor, self._vr, data_format=fmt)

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None):
        return None  # drawn step by step in transform_images, as Keras does

    def transform_images(self, images, transformation, training=True):
        if not training:
            return images
        n, gen = batch_size(images), self._seeds(None)
        if self._brightness is not None:
            delta = _draw((n, 1, 1, 1), *self._brightness, gen(), images)
            images = adjust_brightness(images, delta * (self._vr[1] - self._vr[0]), self._vr)
        if self._contrast is not None:
            c = _draw((n, 1, 1, 1), 1.0 - self._contrast[0], 1.0 + self._contrast[1], gen(), images)
            images = adjust_contrast(images, c, self._vr, self.data_format == "channels_first")
        for layer in (self._saturation, self._hue):
            if layer is not None:
                t = layer.get_random_transformation(images, seed=gen)
                images = layer.transform_images(images, t)
        return images

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "value_range": self.value_range,
            "brightness_factor": self.brightness_factor,
            "contrast_factor": self.contrast_factor,
            "saturation_factor": self.saturation_factor,
            "hue_factor": self.hue_factor,
            "seed": self.seed,
        }
