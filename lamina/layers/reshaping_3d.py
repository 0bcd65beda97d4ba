"""3D reshaping layers over channels-last volumes: ZeroPadding3D, Cropping3D, UpSampling3D.

Padding and cropping take an int, three ints (symmetric per axis) or three
(before, after) pairs for depth, height and width, as in Keras.

    ZeroPadding3D(1)(x)          # (N, D, H, W, C) -> (N, D + 2, H + 2, W + 2, C)
    UpSampling3D((1, 2, 2))(x)   # (N, D, H, W, C) -> (N, D, 2H, 2W, C)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from lamina import registry
from lamina.layers.base import Layer
from lamina.layers.convolutional import check_data_format, layer_error, normalize_tuple
from lamina.layers.input_spec import InputSpec
from lamina.layers.spatial_nd import torch_pad_order

Pairs = tuple[tuple[int, int], tuple[int, int], tuple[int, int]]


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _three_pairs(layer: Layer, value: Any, arg: str) -> Pairs:
    """int | (d, h, w) | ((d0, d1), (h0, h1), (w0, w1)) of non-negative ints -> three pairs."""
    pairs: Any = None
    if _is_int(value):
        pairs = ((value, value),) * 3
    elif isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 3:
        pairs = []
        for v in value:
            if _is_int(v):
                pairs.append((v, v))
            elif isinstance(v, Sequence) and len(v) == 2 and all(_is_int(x) for x in v):
                pairs.append(tuple(v))
            else:
                pairs = None
                break
    if pairs is None or min(min(p) for p in pairs) < 0:
        raise layer_error(
            layer,
            f"{arg} as an int, 3 ints or 3 (before, after) pairs of non-negative ints",
            **{arg: value},
        )
    return tuple(tuple(p) for p in pairs)  # type: ignore[return-value]


def _grow(input_shape: tuple, change: Sequence[int]) -> tuple:
    """The shape with `change[i]` added to spatial axis i (None stays None)."""
    spatial = [None if d is None else d + c for d, c in zip(input_shape[1:4], change)]
    return (input_shape[0], *spatial, input_shape[4])


@registry.register("layer", "ZeroPadding3D")
class ZeroPadding3D(Layer):
    """Add zeros around NDHWC volumes, along depth, height and width."""

    def __init__(
        self,
        padding: Any = ((1, 1), (1, 1), (1, 1)),
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.padding = _three_pairs(self, padding, "padding")
        self.data_format = check_data_format(self, data_format)
        self.input_spec = InputSpec(ndim=5)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return F.pad(inputs, [0, 0, *torch_pad_order(self.padding)])

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return _grow(input_shape, [sum(p) for p in self.padding])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


@registry.register("layer", "Cropping3D")
class Cropping3D(Layer):
    """Remove cells from the edges of NDHWC volumes, along depth, height and width."""

    def __init__(
        self,
        cropping: Any = ((1, 1), (1, 1), (1, 1)),
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.cropping = _three_pairs(self, cropping, "cropping")
        self.data_format = check_data_format(self, data_format)
        self.input_spec = InputSpec(ndim=5)

    def build(self, input_shape: tuple) -> None:
        self.compute_output_shape(tuple(input_shape))

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        self.compute_output_shape((None, *inputs.shape[1:]))
        (d0, d1), (h0, h1), (w0, w1) = self.cropping
        d, h, w = inputs.shape[1:4]
        return inputs[:, d0 : d - d1, h0 : h - h1, w0 : w - w1, :]

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        out = _grow(input_shape, [-sum(p) for p in self.cropping])
        if any(d is not None and d <= 0 for d in out[1:4]):
            raise layer_error(
                self,
                f"a volume larger than the cropping {self.cropping}",
                input_shape=tuple(input_shape),
            )
        return out

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cropping": self.cropping, "data_format": self.data_format}


@registry.register("layer", "UpSampling3D")
class UpSampling3D(Layer):
    """Repeat each cell of NDHWC volumes `size` times along depth, height and width."""

    def __init__(
        self, size: int | Sequence[int] = (2, 2, 2), data_format: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.size = normalize_tuple(self, size, 3, "size")
        self.data_format = check_data_format(self, data_format)
        self.input_spec = InputSpec(ndim=5)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        out = inputs
        for axis, factor in enumerate(self.size, start=1):
            if factor != 1:
                out = out.repeat_interleave(factor, dim=axis)
        return out

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        spatial = [None if d is None else d * s for d, s in zip(input_shape[1:4], self.size)]
        return (input_shape[0], *spatial, input_shape[4])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": self.size, "data_format": self.data_format}
