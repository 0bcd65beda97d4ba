"""Bounding boxes for the augmentation layers: Keras 3's box formats, the conversions
between them and clipping to the image, and the MaxNumBoundingBoxes layer.

Boxes ride along images as {"boxes": (B, N, 4), "labels": (B, N)}. Formats: 'xyxy',
'yxyx', 'xywh', 'center_xywh', 'center_yxhw' in pixels and 'rel_xyxy', 'rel_yxyx',
'rel_xywh', 'rel_center_xywh' as fractions of the image size.
MaxNumBoundingBoxes pads or truncates each image's boxes to `max_number` (filling with
`fill_value`); images pass through, and it applies at inference too (it fixes shapes).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina import registry
from lamina.layers.augmentation_base import ImageAugmentation, layer_error

FORMATS = (
    "xyxy",
    "yxyx",
    "xywh",
    "center_xywh",
    "center_yxhw",
    "rel_xyxy",
    "rel_yxyx",
    "rel_xywh",
    "rel_center_xywh",
)


def _to_xyxy(b: torch.Tensor, fmt: str) -> torch.Tensor:
    p, q, r, t = b.unbind(-1)
    if fmt == "yxyx":
        return torch.stack([q, p, t, r], -1)
    if fmt == "xywh":
        return torch.stack([p, q, p + r, q + t], -1)
    if fmt == "center_xywh":
        return torch.stack([p - r / 2.0, q - t / 2.0, p + r / 2.0, q + t / 2.0], -1)
    if fmt == "center_yxhw":
        return torch.stack([q - t / 2.0, p - r / 2.0, q + t / 2.0, p + r / 2.0], -1)
    return b


def _from_xyxy(b: torch.Tensor, fmt: str) -> torch.Tensor:
    x1, y1, x2, y2 = b.unbind(-1)
    if fmt == "yxyx":
        return torch.stack([y1, x1, y2, x2], -1)
    if fmt == "xywh":
        return torch.stack([x1, y1, x2 - x1, y2 - y1], -1)
    if fmt == "center_xywh":
        return torch.stack([(x1 + x2) / 2.0, (y1 + y2) / 2.0, x2 - x1, y2 - y1], -1)
    if fmt == "center_yxhw":
        return torch.stack([(y1 + y2) / 2.0, (x1 + x2) / 2.0, y2 - y1, x2 - x1], -1)
    return b


def convert_format(
    boxes: Any, source: str, target: str, height: int | None = None, width: int | None = None
) -> Any:
    """Boxes (a tensor (..., 4) or a {"boxes", ...} dict) from `source` to `target` format;
    relative formats need the image's height and width."""
    if isinstance(boxes, dict):
        return {**boxes, "boxes": convert_format(boxes["boxes"], source, target, height, width)}
    source, target = source.lower(), target.lower()
    if source not in FORMATS or target not in FORMATS:
        raise ValueError(
            f"Expected box formats in {FORMATS}, received: source={source!r}, target={target!r}"
        )
    b = torch.as_tensor(boxes)
    b = b.float() if not b.is_floating_point() else b
    if source == target:
        return b
    if source.startswith("rel_") and target.startswith("rel_"):
        source, target = source[4:], target[4:]
    if (source.startswith("rel_") or target.startswith("rel_")) and None in (height, width):
        raise ValueError(
            "Expected height and width to convert between relative and absolute box formats, "
            f"received: height={height}, width={width}"
        )
    scale = None if height is None else b.new_tensor([width, height, width, height])
    xyxy = _to_xyxy(b, source.removeprefix("rel_"))
    if source.startswith("rel_"):
        xyxy = xyxy * scale
    if target.startswith("rel_"):
        xyxy = xyxy / scale
    return _from_xyxy(xyxy, target.removeprefix("rel_"))


def clip_to_image_size(
    bounding_boxes: dict, height: int | None, width: int | None, bounding_box_format: str
) -> dict:
    """Clip 'xyxy' (to the pixel size) or 'rel_xyxy' (to [0, 1]) boxes; boxes left with no
    area get the label -1."""
    boxes = bounding_boxes["boxes"]
    high = (width, height) if bounding_box_format == "xyxy" else (1.0, 1.0)
    x1, y1, x2, y2 = boxes.unbind(-1)
    x1, x2 = x1.clamp(0, high[0]), x2.clamp(0, high[0])
    y1, y2 = y1.clamp(0, high[1]), y2.clamp(0, high[1])
    out = {**bounding_boxes, "boxes": torch.stack([x1, y1, x2, y2], -1)}
    if "labels" in bounding_boxes:
        area = (x2 - x1) * (y2 - y1)
        labels = torch.as_tensor(bounding_boxes["labels"])
        out["labels"] = torch.where(area > 0, labels, torch.full_like(labels, -1))
    return out


@registry.register("layer", "MaxNumBoundingBoxes")
class MaxNumBoundingBoxes(ImageAugmentation):
    """Make every batch of bounding boxes hold exactly `max_number` boxes per image."""

    _ALWAYS = True

    def __init__(self, max_number: int, fill_value: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if int(max_number) < 1:
            raise layer_error(self, "a positive max_number", max_number=max_number)
        self.max_number = int(max_number)
        self.fill_value = int(fill_value)

    def transform_images(self, images, transformation=None, training=True):
        return images

    def transform_bounding_boxes(self, bounding_boxes, transformation=None, training=True):
        extra = set(bounding_boxes) - {"boxes", "labels"}
        if extra:
            raise layer_error(
                self, "bounding_boxes with only 'boxes' and 'labels'", keys=sorted(bounding_boxes)
            )
        boxes = torch.as_tensor(bounding_boxes["boxes"])
        labels = torch.as_tensor(bounding_boxes["labels"])
        unbatched = boxes.dim() == 2
        if unbatched:
            boxes, labels = boxes.unsqueeze(0), labels.unsqueeze(0)
        pad = max(self.max_number - boxes.shape[1], 0)
        boxes = F.pad(boxes[:, : self.max_number], (0, 0, 0, pad), value=self.fill_value)
        labels = F.pad(labels[:, : self.max_number], (0, pad), value=self.fill_value)
        if unbatched:
            boxes, labels = boxes[0], labels[0]
        return {**bounding_boxes, "boxes": boxes, "labels": labels}

    def compute_output_shape(self, input_shape: Any) -> Any:
        if isinstance(input_shape, dict) and "bounding_boxes" in input_shape:
            shapes = dict(input_shape)
            boxes = dict(shapes["bounding_boxes"])
            boxes["boxes"] = (boxes["boxes"][0], self.max_number, *boxes["boxes"][2:])
            boxes["labels"] = (boxes["labels"][0], self.max_number)
            shapes["bounding_boxes"] = boxes
            return shapes
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "max_number": self.max_number,
            "fill_value": self.fill_value,
        }
