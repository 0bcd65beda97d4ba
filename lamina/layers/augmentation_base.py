"""The protocol of Keras 3's image preprocessing layers, for Lamina's newer augmentations.

A layer draws a `transformation` (a dict of per-image parameters) with
`get_random_transformation(data, training, seed)` and applies it with
`transform_images(images, transformation, training)`; labels, bounding boxes and
segmentation masks have their own `transform_*` methods. Inputs are image batches
(rank 4), single images (rank 3) or dicts with "images" and optionally "labels",
"bounding_boxes" and "segmentation_masks". Random layers draw through a
`lamina.random.SeedGenerator(seed)` in Keras's order, so a seeded layer reproduces Keras 3's
(torch backend) draws, and a transformation drawn elsewhere can be applied unchanged.
Like the other augmentation layers, a layer is the identity unless called with
training=True (deterministic ones marked `_ALWAYS`, e.g. AutoContrast, always apply).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from lamina import config
from lamina.layers.base import Layer
from lamina.random import SeedGenerator
from lamina.random.seed_generator import global_rng_seeded


def layer_error(layer: Layer, expected: str, **received: Any) -> ValueError:
    got = ", ".join(f"{k}={v!r}" for k, v in received.items())
    return ValueError(
        f"Layer '{layer.name}' ({type(layer).__name__}) expected {expected}, received: {got}"
    )


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def factor_range(
    layer: Layer, name: str, factor: Any, bounds: tuple[float, float], symmetric: bool = True
) -> tuple[float, float]:
    """Keras's `_set_factor` rule: a pair gives (min, max); a number f gives
    (max(-|f|, low), |f|) when `symmetric`, else (low... f) as (0, f)."""
    expected = f"{name} a number or a pair of numbers in [{bounds[0]}, {bounds[1]}]"
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or not all(is_number(f) for f in factor):
            raise layer_error(layer, expected, **{name: factor})
        if factor[0] > bounds[1] or factor[1] < bounds[0]:
            raise layer_error(layer, expected, **{name: factor})
        low, high = sorted(factor)
        return low, high
    if not is_number(factor) or not bounds[0] <= factor <= bounds[1]:
        raise layer_error(layer, expected, **{name: factor})
    f = abs(factor)
    return (max(-f, bounds[0]), f) if symmetric else (0, factor)


def value_range(layer: Layer, values: Any) -> list[float]:
    if not isinstance(values, (tuple, list)) or len(values) != 2:
        raise layer_error(layer, "value_range a list of two numbers", value_range=values)
    return sorted(values)


def rescale(x: torch.Tensor, source: Any, target: Any) -> torch.Tensor:
    """Map values linearly from the `source` range onto the `target` range."""
    if source[0] == target[0] and source[1] == target[1]:
        return x
    unit = (x - float(source[0])) / (float(source[1]) - float(source[0]))
    return unit * (float(target[1]) - float(target[0])) + float(target[0])


def beta(shape: Any, alpha: Any, beta_: Any, seed: Any) -> torch.Tensor:
    """Beta(alpha, beta_) draws equal to `lamina.random.beta`'s (and Keras's), sampled as
    the first of two normalised Gamma draws: torch's Beta sampler is an autograd.Function
    that train steps differentiated with torch.func cannot run."""
    shape = tuple(shape)
    a = torch.broadcast_to(torch.as_tensor(alpha, dtype=torch.float32), shape)
    b = torch.broadcast_to(torch.as_tensor(beta_, dtype=torch.float32), shape)
    concentration = torch.stack([a, b], dim=-1)
    with global_rng_seeded(seed):
        g = torch.distributions.Gamma(concentration, torch.ones_like(concentration)).sample()
    return g[..., 0] / g.sum(dim=-1)


def batch_size(images: torch.Tensor) -> int:
    return 1 if images.dim() == 3 else int(images.shape[0])


class ImageAugmentation(Layer):
    """Base of the layers that follow Keras's BaseImagePreprocessingLayer protocol."""

    _ALWAYS = False  # apply at inference too (deterministic image ops)
    _MOVES_PIXELS = False  # geometric: bounding boxes would need transforming

    def __init__(
        self,
        seed: int | None = None,
        data_format: str | None = None,
        bounding_box_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise layer_error(self, "an integer seed or None", seed=seed)
        fmt = config.image_data_format() if data_format is None else data_format
        if fmt not in ("channels_last", "channels_first"):
            raise layer_error(
                self, "data_format 'channels_last' or 'channels_first'", data_format=data_format
            )
        self.seed = seed
        self.data_format = fmt
        self.bounding_box_format = bounding_box_format
        self.generator = SeedGenerator(seed)

    # ---------------------------------------------------------------- protocol
    def _seeds(self, seed: Any = None) -> Callable[[], Any]:
        """A source of seeds, one per random draw: from `seed` (a SeedGenerator, an int
        used for every draw, or another source), else the layer's SeedGenerator. A
        SeedGenerator gives the int Keras's torch backend derives from its state
        (seed + counter) and advances out of place (train steps differentiate through
        the layer with torch.func, which forbids in-place updates of captured tensors);
        inside a compiled step draws use torch's global generator (None)."""
        if callable(seed) and not isinstance(seed, SeedGenerator):
            return seed
        source = self.generator if seed is None else seed
        if not isinstance(source, SeedGenerator):
            return lambda: source

        def next_seed() -> int | None:
            if torch.compiler.is_compiling():
                return None
            state = source.state
            source.state = state + torch.tensor([0, 1], dtype=state.dtype)
            return int(state.sum()) & 0xFFFFFFFF

        return next_seed

    def get_random_transformation(
        self, data: Any, training: bool = True, seed: Any = None
    ) -> dict[str, Any] | None:
        return None

    def transform_images(
        self, images: torch.Tensor, transformation: Any, training: bool = True
    ) -> torch.Tensor:
        raise NotImplementedError

    def transform_labels(self, labels: Any, transformation: Any, training: bool = True) -> Any:
        return labels

    def transform_bounding_boxes(
        self, bounding_boxes: Any, transformation: Any, training: bool = True
    ) -> Any:
        if self._MOVES_PIXELS and training:
            raise NotImplementedError(
                f"Layer '{self.name}' ({type(self).__name__}) does not transform bounding "
                "boxes yet (Lamina)"
            )
        return bounding_boxes

    def transform_segmentation_masks(
        self, masks: Any, transformation: Any, training: bool = True
    ) -> Any:
        return masks

    # ---------------------------------------------------------------- calling
    def _images(self, images: Any) -> torch.Tensor:
        x = torch.as_tensor(images)
        if x.dim() not in (3, 4):
            raise layer_error(
                self, "images of rank 3 (one image) or 4 (a batch)", images_shape=tuple(x.shape)
            )
        return x if x.is_floating_point() else x.to(self._dtype)

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        training = bool(training)
        if not training and not self._ALWAYS:
            return inputs
        data = dict(inputs) if isinstance(inputs, dict) else {"images": inputs}
        images = self._images(data["images"])
        unbatched = images.dim() == 3
        batch = images.unsqueeze(0) if unbatched else images
        transformation = self.get_random_transformation({**data, "images": batch}, training)
        out = self.transform_images(batch, transformation, training)
        data["images"] = out[0] if unbatched else out
        if "labels" in data:
            labels = torch.as_tensor(data["labels"])
            labels = labels.unsqueeze(0) if unbatched else labels
            labels = self.transform_labels(labels, transformation, training)
            data["labels"] = labels[0] if unbatched else labels
        if "bounding_boxes" in data:
            if not self.bounding_box_format:
                raise layer_error(
                    self,
                    "a bounding_box_format argument for inputs with 'bounding_boxes'",
                    bounding_box_format=None,
                )
            data["bounding_boxes"] = self.transform_bounding_boxes(
                data["bounding_boxes"], transformation, training
            )
        if "segmentation_masks" in data:
            masks = torch.as_tensor(data["segmentation_masks"])
            masks = masks.unsqueeze(0) if unbatched else masks
            masks = self.transform_segmentation_masks(masks, transformation, training)
            data["segmentation_masks"] = masks[0] if unbatched else masks
        return data if isinstance(inputs, dict) else data["images"]

    # ---------------------------------------------------------------- layout helpers
    def _nhwc(self, images: torch.Tensor) -> torch.Tensor:
        return images.permute(0, 2, 3, 1) if self.data_format == "channels_first" else images

    def _from_nhwc(self, images: torch.Tensor) -> torch.Tensor:
        return images.permute(0, 3, 1, 2) if self.data_format == "channels_first" else images

    def _hw_of(self, shape: Any) -> tuple[int, int]:
        """(height, width) from an images shape in the layer's data format."""
        if self.data_format == "channels_first":
            return int(shape[-2]), int(shape[-1])
        return int(shape[-3]), int(shape[-2])

    def _hw(self, images: torch.Tensor) -> tuple[int, int]:
        if self.data_format == "channels_first":
            return int(images.shape[-2]), int(images.shape[-1])
        return int(images.shape[-3]), int(images.shape[-2])

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        cfg = {**super().get_config(), "data_format": self.data_format}
        if self.bounding_box_format is not None:
            cfg["bounding_box_format"] = self.bounding_box_format
        return cfg
