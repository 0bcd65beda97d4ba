"""Keras 3's MaxNumBoundingBoxes: pad or truncate each image's bounding boxes to a fixed count.

Inputs are dicts {"images", "bounding_boxes": {"boxes": (B, N, 4), "labels": (B, N)}};
boxes beyond `max_number` are dropped, missing ones filled with `fill_value`. Images pass
through. Applied at inference too (it fixes shapes, as Keras does).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina import registry
from lamina.layers.augmentation_base import ImageAugmentation, layer_error


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
