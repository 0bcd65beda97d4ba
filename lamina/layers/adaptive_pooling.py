"""Adaptive pooling: AdaptiveAveragePooling1D/2D/3D and AdaptiveMaxPooling1D/2D/3D (channels last).

The output has a fixed spatial size whatever the input's. Output cell i of an
axis of length L pooled to n covers input cells floor(i * L / n) up to
ceil((i + 1) * L / n) (exclusive): PyTorch's adaptive pooling, which Keras's
torch backend calls and Keras's JAX/TensorFlow backends reproduce.

    AdaptiveAveragePooling2D(7)(x)   # (N, H, W, C) -> (N, 7, 7, C) for any H, W
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from lamina import registry
from lamina.layers.base import Layer
from lamina.layers.convolutional import check_data_format, normalize_tuple
from lamina.layers.input_spec import InputSpec
from lamina.layers.spatial_nd import channels_first, channels_last

_AVG: dict[int, Callable[..., torch.Tensor]] = {
    1: F.adaptive_avg_pool1d,
    2: F.adaptive_avg_pool2d,
    3: F.adaptive_avg_pool3d,
}
_MAX: dict[int, Callable[..., torch.Tensor]] = {
    1: F.adaptive_max_pool1d,
    2: F.adaptive_max_pool2d,
    3: F.adaptive_max_pool3d,
}


class _AdaptivePooling(Layer):
    """Pool each spatial axis to `output_size` cells."""

    rank = 2
    kind = "avg"

    def __init__(
        self, output_size: int | Sequence[int], data_format: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.output_size = normalize_tuple(self, output_size, self.rank, "output_size")
        self.data_format = check_data_format(self, data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        table = _MAX if self.kind == "max" else _AVG
        return channels_last(table[self.rank](channels_first(inputs), self.output_size))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], *self.output_size, input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "output_size": self.output_size,
            "data_format": self.data_format,
        }


@registry.register("layer", "AdaptiveAveragePooling1D")
class AdaptiveAveragePooling1D(_AdaptivePooling):
    """Mean over adaptive windows of (N, steps, C) sequences -> (N, output_size, C)."""

    rank, kind = 1, "avg"


@registry.register("layer", "AdaptiveAveragePooling2D")
class AdaptiveAveragePooling2D(_AdaptivePooling):
    """Mean over adaptive windows of NHWC images -> (N, *output_size, C)."""

    rank, kind = 2, "avg"


@registry.register("layer", "AdaptiveAveragePooling3D")
class AdaptiveAveragePooling3D(_AdaptivePooling):
    """Mean over adaptive windows of NDHWC volumes -> (N, *output_size, C)."""

    rank, kind = 3, "avg"


@registry.register("layer", "AdaptiveMaxPooling1D")
class AdaptiveMaxPooling1D(_AdaptivePooling):
    """Maximum over adaptive windows of (N, steps, C) sequences -> (N, output_size, C)."""

    rank, kind = 1, "max"


@registry.register("layer", "AdaptiveMaxPooling2D")
class AdaptiveMaxPooling2D(_AdaptivePooling):
    """Maximum over adaptive windows of NHWC images -> (N, *output_size, C)."""

    rank, kind = 2, "max"


@registry.register("layer", "AdaptiveMaxPooling3D")
class AdaptiveMaxPooling3D(_AdaptivePooling):
    """Maximum over adaptive windows of NDHWC volumes -> (N, *output_size, C)."""

    rank, kind = 3, "max"
