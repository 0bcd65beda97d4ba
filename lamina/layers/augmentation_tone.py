"""Keras 3's tone augmentations: RandomPosterization, RandomSharpness, Solarization and
AutoContrast (the last one deterministic and applied at inference too, as in Keras).

Values are mapped from `value_range` to [0, 255] where Keras's rule is stated in 8-bit
terms (posterize bits, solarize thresholds) and back afterwards.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina import random, registry
from lamina.layers.augmentation_base import (
    ImageAugmentation,
    batch_size,
    factor_range,
    is_number,
    layer_error,
    rescale,
    value_range,
)


@registry.register("layer", "RandomPosterization")
class RandomPosterization(ImageAugmentation):
    """Keep only the top `bits` bits of each 8-bit channel value, bits drawn per image
    from [1, factor) (a number) or [a, b) (a pair); equal bounds give exactly that many."""

    def __init__(
        self,
        factor: Any,
        value_range: Any = (0, 255),
        data_format: str | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_range(self, "factor", factor, (1, 8))
        self.value_range = value_range_list(self, value_range)

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None):
        images = data["images"] if isinstance(data, dict) else data
        n = batch_size(images)
        low, high = self.factor
        if low != high:
            bits = random.randint((n,), low, high, dtype="uint8", seed=self._seeds(seed)())
        else:
            bits = torch.full((n,), int(low), dtype=torch.uint8)
        return {"shift_factor": (8 - bits).to(images.device)}

    def transform_images(self, images, transformation, training=True):
        if not training:
            return images
        shift = transformation["shift_factor"].view(-1, 1, 1, 1).to(torch.uint8)
        x = rescale(images.to(self._dtype), self.value_range, (0, 255)).to(torch.uint8)
        x = torch.bitwise_left_shift(torch.bitwise_right_shift(x, shift), shift)
        return rescale(x.to(self._dtype), (0, 255), self.value_range)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "factor": self.factor,
            "value_range": self.value_range,
            "seed": self.seed,
        }


def value_range_list(layer: ImageAugmentation, values: Any) -> list[float]:
    return value_range(layer, values)


@registry.register("layer", "RandomSharpness")
class RandomSharpness(ImageAugmentation):
    """Blend each image with a smoothed copy: sharpness s = 2u, u drawn from `factor`
    (a number f gives [0, f]); s < 1 blurs, s = 1 keeps, s > 1 sharpens."""

    def __init__(
        self,
        factor: Any,
        value_range: Any = (0, 255),
        data_format: str | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_range(self, "factor", factor, (0, 1))
        self.value_range = value_range_list(self, value_range)

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None):
        images = data["images"] if isinstance(data, dict) else data
        u = random.uniform((batch_size(images),), *self.factor, seed=self._seeds(seed)())
        return {"factor": u.to(images.device)}

    def transform_images(self, images, transformation, training=True):
        images = images.to(self._dtype)
        if not training:
            return images
        nchw = images if self.data_format == "channels_first" else images.permute(0, 3, 1, 2)
        channels = nchw.shape[1]
        a, b = 1.0 / 13.0, 5.0 / 13.0
        kernel = torch.full((3, 3), a, dtype=nchw.dtype, device=nchw.device)
        kernel[1, 1] = b
        smooth = F.conv2d(nchw, kernel.expand(channels, 1, 3, 3), padding=1, groups=channels)
        s = (transformation["factor"] * 2).to(nchw.dtype).view(-1, 1, 1, 1)
        out = (nchw + (1.0 - s) * (smooth - nchw)).clamp(*self.value_range)
        return out if self.data_format == "channels_first" else out.permute(0, 2, 3, 1)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "factor": self.factor,
            "value_range": self.value_range,
            "seed": self.seed,
        }


def _solarize_factor(layer: ImageAugmentation, name: str, factor: Any) -> tuple[float, float]:
    expected = f"{name} a number or a pair of numbers in [0, 1]"
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or not all(is_number(f) and 0 <= f <= 1 for f in factor):
            raise layer_error(layer, expected, **{name: factor})
        low, high = sorted(factor)
        return low, high
    if not is_number(factor) or not 0 <= factor <= 1:
        raise layer_error(layer, expected, **{name: factor})
    return 0, factor


@registry.register("layer", "Solarization")
class Solarization(ImageAugmentation):
    """Add a random amount to each image, then invert (255 - x) every value at or above a
    random threshold, on the [0, 255] scale. addition_factor and threshold_factor give
    the draws' ranges as fractions of 255 (a number f: [0, f * 255])."""

    def __init__(
        self,
        addition_factor: Any = 0.0,
        threshold_factor: Any = 0.0,
        value_range: Any = (0, 255),
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(seed=seed, **kwargs)
        self.addition_factor = _solarize_factor(self, "addition_factor", addition_factor)
        self.threshold_factor = _solarize_factor(self, "threshold_factor", threshold_factor)
        self.value_range = value_range_list(self, value_range)

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None):
        if not training:
            return None
        images = data["images"] if isinstance(data, dict) else data
        shape = (images.shape[0], 1, 1, 1) if images.dim() == 4 else (1, 1, 1)
        s = self._seeds(seed)
        add = random.uniform(
            shape, self.addition_factor[0], self.addition_factor[1] * 255, seed=s()
        )
        thr = random.uniform(
            shape, self.threshold_factor[0], self.threshold_factor[1] * 255, seed=s()
        )
        return {"additions": add.to(images.device), "thresholds": thr.to(images.device)}

    def transform_images(self, images, transformation, training=True):
        images = images.to(self._dtype)
        if not training or transformation is None:
            return images
        x = rescale(images, self.value_range, (0, 255))
        x = (x + transformation["additions"].to(x.dtype)).clamp(0, 255)
        x = torch.where(x < transformation["thresholds"].to(x.dtype), x, 255 - x)
        return rescale(x, (0, 255), self.value_range)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "addition_factor": self.addition_factor,
            "threshold_factor": self.threshold_factor,
            "value_range": self.value_range,
            "seed": self.seed,
        }


@registry.register("layer", "AutoContrast")
class AutoContrast(ImageAugmentation):
    """Stretch each channel of each image so its minimum maps to value_range's low end
    and its maximum to the high end. Deterministic; applied at inference too (as Keras
    does). Constant channels (0 / 0) keep their values."""

    _ALWAYS = True

    def __init__(self, value_range: Any = (0, 255), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.value_range = value_range_list(self, value_range)

    def transform_images(self, images, transformation=None, training=True):
        original = images
        x = rescale(images.to(self._dtype), self.value_range, (0, 255))
        dims = (-2, -1) if self.data_format == "channels_first" else (-3, -2)
        low = x.amin(dim=dims, keepdim=True)
        high = x.amax(dim=dims, keepdim=True)
        scale = 255.0 / (high - low)
        x = (x * scale - low * scale).clamp(0.0, 255.0)
        x = rescale(x, (0, 255), self.value_range)
        x = torch.where(torch.isnan(x), original.to(x.dtype), x)
        if x.dtype == original.dtype:
            return x
        if not original.is_floating_point():
            x = torch.round(x)
            info = torch.iinfo(original.dtype)
            x = x.clamp(info.min, info.max)
        return x.to(original.dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "value_range": self.value_range}
