"""Keras 3's region and mixing augmentations: RandomErasing, RandomGaussianBlur, CutMix and
MixUp. CutMix and MixUp also mix the labels of dict inputs ({"images", "labels"}) by the
share of each image they mixed in.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import random, registry
from lamina.layers.augmentation_base import (
    ImageAugmentation,
    batch_size,
    beta,
    factor_range,
    is_number,
    layer_error,
)
from lamina.ops import image as image_ops


def _box_masks(
    layer: ImageAugmentation, images: torch.Tensor, scale: torch.Tensor, seed: Any
) -> tuple[torch.Tensor, ...]:
    """Per-image boxes of width scale[:, 0] * W and height scale[:, 1] * H at uniform
    positions (Keras's draw order: x then y), as masks of the images' layout."""
    n = images.shape[0]
    height, width = layer._hw(images)
    bounds = []
    for length, ratio in ((width, scale[:, 0]), (height, scale[:, 1])):
        size = ratio * length
        start = random.uniform((n,), 0, 1, seed=seed()) * (length - size)
        bounds.append((start, start + size))
    (x0, x1), (y0, y1) = bounds
    ys = torch.arange(height, dtype=torch.float32).view(1, height, 1)
    xs = torch.arange(width, dtype=torch.float32).view(1, 1, width)
    v = lambda t: t.view(-1, 1, 1)  # noqa: E731
    inside = (xs >= v(x0)) & (xs < v(x1)) & (ys >= v(y0)) & (ys < v(y1))
    mask = inside.unsqueeze(1 if layer.data_format == "channels_first" else -1)
    return mask.to(images.device), x0, x1, y0, y1


def _probability_gate(n: int, factor: tuple[float, float], seed: Any) -> torch.Tensor:
    probability = random.uniform((n,), *factor, seed=seed())
    return random.uniform((n,), 0.0, 1.0, seed=seed()) < probability


@registry.register("layer", "RandomErasing")
class RandomErasing(ImageAugmentation):
    """With a probability drawn from `factor`, replace a random box of each image (side
    fractions sqrt(u), u drawn from `scale`) by `fill_value` (a number, 3 per-channel
    numbers, or None: Gaussian noise times value_range's high end), clipped to
    value_range."""

    def __init__(
        self,
        factor: Any = 1.0,
        scale: Any = (0.02, 0.33),
        fill_value: Any = None,
        value_range: Any = (0, 255),
        seed: int | None = None,
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_range(self, "factor", factor, (0, 1))
        self.scale = factor_range(self, "scale", scale, (0, 1))
        ok = fill_value is None or is_number(fill_value)
        ok = ok or (isinstance(fill_value, (tuple, list)) and len(fill_value) == 3)
        if not ok:
            raise layer_error(self, "fill_value None, a number or 3 numbers", fill_value=fill_value)
        self.fill_value, self.value_range = fill_value, value_range

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None):
        if not training:
            return None
        images = data["images"] if isinstance(data, dict) else data
        n, s = batch_size(images), self._seeds(seed)
        scale = torch.sqrt(random.uniform((n, 2), *self.scale, seed=s()))
        masks = _box_masks(self, images, scale, s)[0]
        apply = _probability_gate(n, self.factor, s)
        if self.fill_value is None:
            fill = random.normal(tuple(images.shape), seed=s()) * self.value_range[1]
        else:
            fill = torch.as_tensor(self.fill_value, dtype=torch.float32)
            if fill.dim() == 1 and self.data_format == "channels_first":
                fill = fill.view(-1, 1, 1)
            fill = fill.expand(images.shape)
        fill = fill.clamp(self.value_range[0], self.value_range[1]).to(images.device)
        return {"apply_erasing": apply.to(images.device), "batch_masks": masks, "fill_value": fill}

    def transform_images(self, images, transformation, training=True):
        images = images.to(self._dtype)
        if not training or transformation is None:
            return images
        fill = transformation["fill_value"].to(images.dtype)
        erased = torch.where(transformation["batch_masks"], fill, images)
        apply = transformation["apply_erasing"].view(-1, 1, 1, 1)
        return torch.where(apply, erased, images)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "factor": self.factor,
            "scale": self.scale,
            "fill_value": self.fill_value,
            "value_range": self.value_range,
            "seed": self.seed,
        }


@registry.register("layer", "RandomGaussianBlur")
class RandomGaussianBlur(ImageAugmentation):
    """With a probability drawn from `factor`, blur each image with a kernel_size Gaussian;
    the (x, y) sigmas are drawn once per batch from `sigma` (in [0, 1])."""

    def __init__(
        self,
        factor: Any = 1.0,
        kernel_size: Any = 3,
        sigma: Any = 1.0,
        value_range: Any = (0, 255),
        data_format: str | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_range(self, "factor", factor, (0, 1))
        sizes = tuple(kernel_size) if isinstance(kernel_size, (tuple, list)) else (kernel_size,) * 2
        if len(sizes) != 2 or not all(isinstance(k, int) and k > 0 and k % 2 for k in sizes):
            raise layer_error(
                self, "kernel_size an odd int or a pair of odd ints", kernel_size=kernel_size
            )
        self.kernel_size = sizes
        self.sigma = factor_range(self, "sigma", sigma, (0, 1))
        self.value_range = value_range

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None):
        if not training:
            return None
        images = data["images"] if isinstance(data, dict) else data
        n, s = batch_size(images), self._seeds(seed)
        apply = _probability_gate(n, self.factor, s)
        sigma = random.uniform((2,), *self.sigma, seed=s()) + 1e-6
        return {"should_apply_blur": apply.to(images.device), "blur_factor": sigma}

    def transform_images(self, images, transformation, training=True):
        images = images.to(self._dtype)
        if not training or transformation is None:
            return images
        sigma = tuple(transformation["blur_factor"].to(images.device).unbind(0))
        blurred = image_ops.gaussian_blur(images, self.kernel_size, sigma, self.data_format)
        apply = transformation["should_apply_blur"].view(-1, 1, 1, 1)
        return torch.where(apply, blurred, images).clamp(*sorted(self.value_range))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "factor": self.factor,
            "kernel_size": self.kernel_size,
            "sigma": self.sigma,
            "value_range": self.value_range,
            "seed": self.seed,
        }


def _mix_labels(labels: torch.Tensor, transformation: Any) -> torch.Tensor:
    weight = transformation["mix_weight"].reshape(-1, 1).to(labels.device)
    other = labels.index_select(0, transformation["permutation_order"].long().to(labels.device))
    if not labels.is_floating_point():
        labels, other = labels.float(), other.float()
    return weight * labels + (1.0 - weight) * other


@registry.register("layer", "CutMix")
class CutMix(ImageAugmentation):
    """Paste a random box of another image of the batch into each image; the box's area
    share is 1 - lambda, lambda ~ Beta(a, a), a drawn from `factor`. Labels mix by the
    pasted area."""

    _MOVES_PIXELS = True

    def __init__(
        self, factor: Any = 1.0, seed: int | None = None, data_format: str | None = None, **kw
    ) -> None:
        super().__init__(seed=seed, data_format=data_format, **kw)
        self.factor = factor_range(self, "factor", factor, (0, 1))

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None):
        if not training:
            return None
        images = data["images"] if isinstance(data, dict) else data
        n, s = batch_size(images), self._seeds(seed)
        height, width = self._hw(images)
        alpha = random.uniform((), *self.factor, seed=s()) + 1e-6
        weight = beta((n,), alpha, alpha, seed=s())
        ratio = torch.sqrt(1.0 - weight)
        masks, x0, x1, y0, y1 = _box_masks(self, images, torch.stack([ratio, ratio], 1), s)
        weight = 1.0 - (x1 - x0) * (y1 - y0) / (width * height)
        order = random.shuffle(torch.arange(n, dtype=torch.int32), seed=s())
        return {
            "permutation_order": order.to(images.device),
            "batch_masks": masks,
            "mix_weight": weight.view(-1, 1, 1, 1).to(images.device),
        }

    def transform_images(self, images, transformation, training=True):
        images = images.to(self._dtype)
        if not training or transformation is None:
            return images
        other = images.index_select(0, transformation["permutation_order"].long())
        return torch.where(transformation["batch_masks"], other, images)

    def transform_labels(self, labels, transformation, training=True):
        if not training or transformation is None:
            return labels
        return _mix_labels(labels, transformation)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor, "seed": self.seed}


@registry.register("layer", "MixUp")
class MixUp(ImageAugmentation):
    """Blend each image with another of the batch: lambda * x + (1 - lambda) * x_other,
    lambda ~ Beta(alpha, alpha) per image; labels blend the same way, and each image gets
    its partner's bounding boxes appended."""

    def __init__(
        self, alpha: float = 0.2, data_format: str | None = None, seed: int | None = None, **kw
    ) -> None:
        super().__init__(seed=seed, data_format=data_format, **kw)
        if not is_number(alpha) or alpha <= 0:
            raise layer_error(self, "a positive alpha", alpha=alpha)
        self.alpha = alpha

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None):
        images = data["images"] if isinstance(data, dict) else data
        n, s = batch_size(images), self._seeds(seed)
        order = random.shuffle(torch.arange(n, dtype=torch.int64), seed=s())
        weight = beta((n,), self.alpha, self.alpha, seed=s())
        return {
            "mix_weight": weight.to(images.device),
            "permutation_order": order.to(images.device),
        }

    def transform_images(self, images, transformation, training=True):
        if not training:
            return images
        images = images.to(self._dtype)
        weight = transformation["mix_weight"].reshape(-1, 1, 1, 1).to(images.dtype)
        other = images.index_select(0, transformation["permutation_order"].long())
        return weight * images + (1.0 - weight) * other

    def transform_labels(self, labels, transformation, training=True):
        if not training:
            return labels
        return _mix_labels(labels, transformation)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        """Each image keeps its boxes and gains its partner's (N -> 2N boxes per image)."""
        if not training:
            return bounding_boxes
        order = transformation["permutation_order"].long()
        out = dict(bounding_boxes)
        for key in ("boxes", "labels"):
            value = torch.as_tensor(bounding_boxes[key])
            out[key] = torch.cat([value, value.index_select(0, order.to(value.device))], dim=1)
        return out

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha": self.alpha, "seed": self.seed}
