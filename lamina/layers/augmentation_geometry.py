"""Keras 3's geometric augmentations beyond the affine basics: RandomShear,
RandomPerspective and RandomElasticTransform, on `lamina.ops.image`'s exact samplers.

Segmentation masks follow their images with nearest-neighbour sampling. RandomShear and
RandomPerspective move bounding boxes as Keras does (the box around the moved corners,
clipped to the image); RandomElasticTransform, like Keras, does not take boxes.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import random, registry
from lamina.layers.augmentation_base import (
    ImageAugmentation,
    batch_size,
    factor_range,
    is_number,
    layer_error,
)
from lamina.layers.augmentation_boxes import clip_to_image_size, convert_format
from lamina.ops import image as image_ops
from lamina.ops.image.sampling import compute_homography_matrix

_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_INTERPOLATIONS = ("nearest", "bilinear")


def _check_modes(layer: ImageAugmentation, interpolation: str, fill_mode: str | None) -> None:
    if interpolation not in _INTERPOLATIONS:
        raise layer_error(
            layer, f"interpolation one of {_INTERPOLATIONS}", interpolation=interpolation
        )
    if fill_mode is not None and fill_mode not in _FILL_MODES:
        raise layer_error(layer, f"fill_mode one of {_FILL_MODES}", fill_mode=fill_mode)


class _Geometric(ImageAugmentation):
    _MOVES_PIXELS = True

    def transform_images(self, images, transformation, training=True):
        images = images.to(self._dtype)
        if not training or transformation is None:
            return images
        return self._warp(images, transformation, self.interpolation)

    def transform_segmentation_masks(self, masks, transformation, training=True):
        if not training or transformation is None:
            return masks
        return self._warp(masks, transformation, "nearest")

    def _warp(self, images: torch.Tensor, transformation: Any, interpolation: str):
        raise NotImplementedError


def _shear_factor(layer: ImageAugmentation, name: str, factor: Any) -> tuple[float, float]:
    expected = f"{name} a number in [0, 1] or a pair of numbers in [-1, 1]"
    if isinstance(factor, (tuple, list)):  # (a get_config() round trip gives (-f, f))
        if len(factor) != 2 or not all(is_number(f) and -1 <= f <= 1 for f in factor):
            raise layer_error(layer, expected, **{name: factor})
        low, high = sorted(factor)
        return low, high
    if not is_number(factor) or not 0 <= factor <= 1:
        raise layer_error(layer, expected, **{name: factor})
    return -abs(factor), abs(factor)


@registry.register("layer", "RandomShear")
class RandomShear(_Geometric):
    """Shear each image about the origin (top-left corner): output (x, y) reads input
    (x + sx * y, y + sy * x), |sx| drawn from x_factor and |sy| from y_factor, one random
    sign per image for both."""

    def __init__(
        self,
        x_factor: Any = 0.0,
        y_factor: Any = 0.0,
        interpolation: str = "bilinear",
        fill_mode: str = "reflect",
        fill_value: float = 0.0,
        data_format: str | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.x_factor = _shear_factor(self, "x_factor", x_factor)
        self.y_factor = _shear_factor(self, "y_factor", y_factor)
        _check_modes(self, interpolation, fill_mode)
        self.interpolation, self.fill_mode, self.fill_value = interpolation, fill_mode, fill_value

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None):
        if not training:
            return None
        images = data["images"] if isinstance(data, dict) else data
        n, s = batch_size(images), self._seeds(seed)
        sign = torch.where(random.uniform((n, 1), 0, 1, seed=s()) > 0.5, -1.0, 1.0)
        shear_y = random.uniform((n, 1), *self.y_factor, seed=s())
        shear_x = random.uniform((n, 1), *self.x_factor, seed=s())
        factor = (torch.cat([shear_x, shear_y], 1) * sign).to(images.device)
        return {"shear_factor": factor, "input_shape": tuple(images.shape)}

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        """Shear the boxes' corners as Keras does (in relative coordinates), then clip."""
        if not training or transformation is None:
            return bounding_boxes
        height, width = self._hw_of(transformation["input_shape"])
        fmt = self.bounding_box_format
        rel = convert_format(bounding_boxes, fmt, "rel_xyxy", height, width)
        f = transformation["shear_factor"].to(rel["boxes"])
        sx, sy = f[:, 0:1], f[:, 1:2]
        x1, y1, x2, y2 = rel["boxes"].unbind(-1)
        x1 = torch.where(sx < 0, x1 - sx * y1, x1 - sx * y2)
        x2 = torch.where(sx < 0, x2 - sx * y2, x2 - sx * y1)
        y1 = torch.where(sy > 0, y1 - sy * x2, y1 - sy * x1)
        y2 = torch.where(sy > 0, y2 - sy * x1, y2 - sy * x2)
        rel = clip_to_image_size(
            {**rel, "boxes": torch.stack([x1, y1, x2, y2], -1)}, height, width, "rel_xyxy"
        )
        return convert_format(rel, "rel_xyxy", fmt, height, width)

    def _warp(self, images, transformation, interpolation):
        f = transformation["shear_factor"].to(images.dtype)
        ones, zeros = torch.ones_like(f[:, 0]), torch.zeros_like(f[:, 0])
        matrix = torch.stack([ones, f[:, 0], zeros, f[:, 1], ones, zeros, zeros, zeros], 1)
        return image_ops.affine_transform(
            images, matrix, interpolation, self.fill_mode, self.fill_value, self.data_format
        )

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "x_factor": self.x_factor,
            "y_factor": self.y_factor,
            "interpolation": self.interpolation,
            "fill_mode": self.fill_mode,
            "fill_value": self.fill_value,
            "seed": self.seed,
        }


@registry.register("layer", "RandomPerspective")
class RandomPerspective(_Geometric):
    """With a probability drawn from `factor`, move each image corner by up to
    scale / 2 of its coordinates and warp the image by the resulting homography."""

    def __init__(
        self,
        factor: Any = 1.0,
        scale: float = 1.0,
        interpolation: str = "bilinear",
        fill_value: float = 0.0,
        seed: int | None = None,
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_range(self, "factor", factor, (0, 1))
        if not is_number(scale) or not 0 <= scale <= 1:
            raise layer_error(self, "scale in [0, 1]", scale=scale)
        _check_modes(self, interpolation, None)
        self.scale, self.interpolation, self.fill_value = scale, interpolation, fill_value

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None):
        if not training:
            return None
        images = data["images"] if isinstance(data, dict) else data
        n, s = batch_size(images), self._seeds(seed)
        height, width = self._hw(images)
        probability = random.uniform((n,), *self.factor, seed=s())
        apply = random.uniform((n,), 0.0, 1.0, seed=s()) < probability
        moves = random.uniform((n, 4, 2), -0.5 * self.scale, 0.5 * self.scale, seed=s())
        corners = [[0.0, 0.0], [width - 1, 0.0], [0.0, height - 1], [width - 1, height - 1]]
        start = torch.tensor([corners], dtype=torch.float32).repeat(n, 1, 1)
        dev = images.device
        return {
            "apply_perspective": apply.to(dev),
            "start_points": start.to(dev),
            "end_points": (start + start * moves).to(dev),
            "input_shape": tuple(images.shape),
        }

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        """The box around each box's four corners mapped by the homography, then clipped."""
        if not training or transformation is None:
            return bounding_boxes
        height, width = self._hw_of(transformation["input_shape"])
        fmt = self.bounding_box_format
        xyxy = convert_format(bounding_boxes, fmt, "xyxy", height, width)
        boxes = xyxy["boxes"]
        coeffs = compute_homography_matrix(
            transformation["start_points"], transformation["end_points"]
        ).to(boxes)
        matrix = torch.cat([coeffs, torch.ones_like(coeffs[:, :1])], 1).view(-1, 3, 3)
        inverse = torch.linalg.inv(matrix)
        x0, y0, x1, y1 = boxes.unbind(-1)
        xs, ys = [], []
        for x, y in ((x0, y0), (x1, y1), (x0, y1), (x1, y0)):
            points = torch.stack([x, y, torch.ones_like(x)], 1)  # (B, 3, N)
            mapped = inverse @ points
            xs.append(mapped[:, 0] / mapped[:, 2])
            ys.append(mapped[:, 1] / mapped[:, 2])
        xs, ys = torch.stack(xs, -1), torch.stack(ys, -1)
        moved = torch.stack([xs.amin(-1), ys.amin(-1), xs.amax(-1), ys.amax(-1)], -1)
        apply = transformation["apply_perspective"].view(-1, 1, 1).to(boxes.device)
        xyxy = {**xyxy, "boxes": torch.where(apply, moved, boxes)}
        xyxy = clip_to_image_size(xyxy, height, width, "xyxy")
        return convert_format(xyxy, "xyxy", fmt, height, width)

    def _warp(self, images, transformation, interpolation):
        out = image_ops.perspective_transform(
            images,
            transformation["start_points"],
            transformation["end_points"],
            interpolation,
            self.fill_value,
            self.data_format,
        )
        return torch.where(transformation["apply_perspective"].view(-1, 1, 1, 1), out, images)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "factor": self.factor,
            "scale": self.scale,
            "interpolation": self.interpolation,
            "fill_value": self.fill_value,
            "seed": self.seed,
        }


@registry.register("layer", "RandomElasticTransform")
class RandomElasticTransform(_Geometric):
    """With a probability drawn from `factor`, displace pixels by smoothed Gaussian noise:
    alpha = 0.1 * d * max(H, W), sigma = 0.05 * d * min(H, W), d drawn from `scale`
    (once per batch). Outputs are clipped to value_range."""

    def __init__(
        self,
        factor: Any = 1.0,
        scale: Any = 1.0,
        interpolation: str = "bilinear",
        fill_mode: str = "reflect",
        fill_value: float = 0.0,
        value_range: Any = (0, 255),
        seed: int | None = None,
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_range(self, "factor", factor, (0, 1))
        self.scale = factor_range(self, "scale", scale, (0, 1))
        _check_modes(self, interpolation, fill_mode)
        self.interpolation, self.fill_mode, self.fill_value = interpolation, fill_mode, fill_value
        self.value_range = value_range

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None):
        if not training or self.scale[1] == 0 or self.factor[1] == 0:
            return None
        images = data["images"] if isinstance(data, dict) else data
        n, s = batch_size(images), self._seeds(seed)
        probability = random.uniform((n,), *self.factor, seed=s())
        apply = random.uniform((n,), 0.0, 1.0, seed=s()) < probability
        draw = s()
        distortion = random.uniform((), *self.scale, seed=draw)
        return {
            "apply_transform": apply.to(images.device),
            "distortion_factor": distortion,
            # the displacement noise's seed (Keras's torch backend uses the global generator)
            "seed": None if draw is None else draw ^ 0x5EED,
        }

    def _warp(self, images, transformation, interpolation):
        height, width = self._hw(images)
        d = float(transformation["distortion_factor"])
        alpha, sigma = max(height, width) * 0.1 * d, min(height, width) * 0.05 * d
        generator = transformation.get("seed")
        out = image_ops.elastic_transform(
            images,
            alpha,
            sigma,
            interpolation,
            self.fill_mode,
            self.fill_value,
            seed=generator,
            data_format=self.data_format,
        )
        out = torch.where(transformation["apply_transform"].view(-1, 1, 1, 1), out, images)
        return out.clamp(*sorted(self.value_range))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "factor": self.factor,
            "scale": self.scale,
            "interpolation": self.interpolation,
            "fill_mode": self.fill_mode,
            "fill_value": self.fill_value,
            "value_range": self.value_range,
            "seed": self.seed,
        }
