"""Keras 3's augmentation policies: RandAugment and AugMix, built from the single
augmentation layers (shear, translation, rotation, brightness, colour degeneration,
contrast, sharpness, posterization, solarization, auto-contrast, equalization).

Every sub-layer gets the policy's `factor` range, as in Keras. RandAugment applies
`num_ops` layers picked at random per batch; AugMix blends `num_chains` chains of up to
`chain_depth` random layers with Dirichlet weights, then blends the result with the
original by a Beta(alpha, alpha) weight.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import random, registry
from lamina.layers.augmentation import (
    RandomBrightness,
    RandomContrast,
    RandomRotation,
    RandomTranslation,
)
from lamina.layers.augmentation_base import ImageAugmentation, beta, factor_range, layer_error
from lamina.layers.augmentation_color import RandomColorDegeneration
from lamina.layers.augmentation_geometry import RandomShear
from lamina.layers.augmentation_histogram import Equalization
from lamina.layers.augmentation_tone import (
    AutoContrast,
    RandomPosterization,
    RandomSharpness,
    Solarization,
)
from lamina.layers.base import Layer

_GEOMETRIC_AND_TONE = [
    "random_shear",
    "random_translation",
    "random_rotation",
    "random_posterization",
    "solarization",
    "auto_contrast",
    "equalization",
]
_COLOR = ["random_brightness", "random_color_degeneration", "random_contrast", "random_sharpness"]


class _Policy(ImageAugmentation):
    """Builds the sub-layers (channels_last; the policy converts layouts around them)."""

    def _build_layers(self, names: list[str], interpolation: str, value_range: Any) -> None:
        f, seed = self.factor, self.seed
        makers = {
            "random_shear": lambda: RandomShear(f, f, interpolation=interpolation, seed=seed),
            "random_translation": lambda: RandomTranslation(
                f, f, interpolation=interpolation, seed=seed
            ),
            "random_rotation": lambda: RandomRotation(f, interpolation=interpolation, seed=seed),
            "random_brightness": lambda: RandomBrightness(f, value_range, seed=seed),
            "random_color_degeneration": lambda: RandomColorDegeneration(f, value_range, seed=seed),
            "random_contrast": lambda: RandomContrast(f, value_range, seed=seed),
            "random_sharpness": lambda: RandomSharpness(f, value_range, seed=seed),
            "solarization": lambda: Solarization(f, f, value_range, seed=seed),
            "random_posterization": lambda: RandomPosterization(
                max(1, int(8 * f[1])), value_range, seed=seed
            ),
            "auto_contrast": lambda: AutoContrast(value_range),
            "equalization": lambda: Equalization(value_range),
        }
        self._names = list(names)
        self.augmenters = torch.nn.ModuleList([makers[n]() for n in names])

    def _apply(self, index: int, images: torch.Tensor) -> torch.Tensor:
        layer: Layer = self.augmenters[index]
        return layer(images, training=True)

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None):
        return None  # sub-layers draw their own parameters when applied


@registry.register("layer", "RandAugment")
class RandAugment(_Policy):
    """Apply `num_ops` augmentations, each picked uniformly from the 11 RandAugment layers
    (one pick per batch and step), with strengths drawn from `factor`. Bounding boxes are
    not transformed yet (passing them raises NotImplementedError in training)."""

    _MOVES_PIXELS = True

    def __init__(
        self,
        value_range: Any = (0, 255),
        num_ops: int = 2,
        factor: Any = 0.5,
        interpolation: str = "bilinear",
        seed: int | None = None,
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if not isinstance(num_ops, int) or num_ops < 0:
            raise layer_error(self, "a non-negative integer num_ops", num_ops=num_ops)
        self.value_range, self.num_ops, self.interpolation = value_range, num_ops, interpolation
        self.factor = factor_range(self, "factor", factor, (0, 1))
        names = _GEOMETRIC_AND_TONE[:3] + _COLOR + _GEOMETRIC_AND_TONE[3:]
        self._build_layers(names, interpolation, value_range)

    def transform_images(self, images, transformation, training=True):
        images = images.to(self._dtype)
        if not training:
            return images
        x = self._nhwc(images)
        picks = random.randint((self.num_ops,), 0, len(self._names), seed=self._seeds(None)())
        for index in picks.tolist():
            x = self._apply(int(index), x)
        return self._from_nhwc(x)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "value_range": self.value_range,
            "num_ops": self.num_ops,
            "factor": self.factor,
            "interpolation": self.interpolation,
            "seed": self.seed,
        }


@registry.register("layer", "AugMix")
class AugMix(_Policy):
    """AugMix: `num_chains` chains of up to `chain_depth` random augmentations (each step
    picks a layer or nothing), mixed with Dirichlet(alpha) weights, then blended with the
    original image by a Beta(alpha, alpha) weight and clipped to value_range.
    all_ops=False leaves out the colour layers (brightness, colour degeneration,
    contrast, sharpness)."""

    def __init__(
        self,
        value_range: Any = (0, 255),
        num_chains: int = 3,
        chain_depth: int = 3,
        factor: Any = 0.3,
        alpha: float = 1.0,
        all_ops: bool = True,
        interpolation: str = "bilinear",
        seed: int | None = None,
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        for name, v in (("num_chains", num_chains), ("chain_depth", chain_depth)):
            if not isinstance(v, int) or v < 1:
                raise layer_error(self, f"a positive integer {name}", **{name: v})
        self.value_range, self.num_chains, self.chain_depth = value_range, num_chains, chain_depth
        self.alpha, self.all_ops, self.interpolation = alpha, bool(all_ops), interpolation
        self.factor = factor_range(self, "factor", factor, (0, 1))
        names = _GEOMETRIC_AND_TONE + (_COLOR if all_ops else [])
        self._build_layers(names, interpolation, value_range)

    def transform_images(self, images, transformation, training=True):
        images = images.to(self._dtype)
        if not training:
            return images
        x = self._nhwc(images)
        gen = self._seeds(None)
        gammas = random.gamma((self.num_chains,), self.alpha, seed=gen())
        chain_weights = (gammas / gammas.sum()).to(x.device, x.dtype)
        keep = beta((), self.alpha, self.alpha, seed=gen()).to(x.device, x.dtype)
        steps = random.randint(
            (self.num_chains, self.chain_depth), 0, len(self._names) + 1, seed=gen()
        )
        mixed = torch.zeros_like(x)
        for chain in range(self.num_chains):
            y = x
            for pick in steps[chain].tolist():
                if pick < len(self._names):  # the last choice is "no augmentation"
                    y = self._apply(int(pick), y)
            mixed = mixed + y * chain_weights[chain]
        low, high = sorted(self.value_range)
        out = (keep * x + (1 - keep) * mixed).clamp(low, high)
        return self._from_nhwc(out)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "value_range": self.value_range,
            "num_chains": self.num_chains,
            "chain_depth": self.chain_depth,
            "factor": self.factor,
            "alpha": self.alpha,
            "all_ops": self.all_ops,
            "interpolation": self.interpolation,
            "seed": self.seed,
        }
