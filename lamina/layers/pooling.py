"""Pooling layers (max, average, global) on channels-last inputs, with Keras's defaults.

`strides=None` means "the pool size". 'same' padding follows TensorFlow: the
odd padded row/column goes at the bottom/right, max pooling never picks a
padded cell, and average pooling divides by the number of *real* cells in each
window (padding is excluded from the count). 1D layers run the 2D kernels on a
height-1 view.

    MaxPooling2D()(x)                 # (N, 28, 28, C) -> (N, 14, 14, C)
    GlobalAveragePooling2D()(x)       # (N, H, W, C) -> (N, C)
"""

from __future__ import annotations

import functools
from typing import Any

import torch
import torch.nn.functional as F

from lamina import registry
from lamina.layers.base import Layer
from lamina.layers.convolutional import (
    IntOrTuple,
    check_data_format,
    conv_output_length,
    layer_error,
    normalize_padding,
    normalize_tuple,
    same_pads,
)
from lamina.layers.input_spec import InputSpec


def _pool_nchw(
    x: torch.Tensor, kind: str, pool: tuple[int, int], strides: tuple[int, int], padding: str
) -> torch.Tensor:
    """Max or average pooling of an NCHW tensor with Keras/TF padding semantics."""
    pads = (0, 0, 0, 0)
    if padding == "same":
        top, bottom = same_pads(x.shape[2], pool[0], strides[0])
        left, right = same_pads(x.shape[3], pool[1], strides[1])
        pads = (left, right, top, bottom)
    if kind == "max":
        if any(pads):
            x = F.pad(x, pads, value=float("-inf"))
        return F.max_pool2d(x, pool, strides)
    if not any(pads):
        return F.avg_pool2d(x, pool, strides)
    sums = F.avg_pool2d(F.pad(x, pads), pool, strides, divisor_override=1)
    ones = x.new_ones((1, 1, x.shape[2], x.shape[3]))
    counts = F.avg_pool2d(F.pad(ones, pads), pool, strides, divisor_override=1)
    return sums / counts


def _max_pool_blocks(x: torch.Tensor, pool: tuple[int, int]) -> torch.Tensor:
    """Non-overlapping max pooling of NHWC as element-wise maxima of the window's slices.

    Inside a compiled train step the forward and backward become vectorised
    element-wise kernels along the channels. `max_pool2d`'s backward becomes a slow
    scatter there, and a reshape + `amax` a scalar loop (docs/design.md has the cost).
    Same forward values; the gradient of exact ties is shared instead of going
    to one input (ties are zeros after a ReLU, where the gradient is zero anyway).
    """
    n, h, w, c = x.shape
    ho, wo = h // pool[0], w // pool[1]
    blocks = x[:, : ho * pool[0], : wo * pool[1]].reshape(n, ho, pool[0], wo, pool[1], c)
    slices = [blocks[:, :, i, :, j] for i in range(pool[0]) for j in range(pool[1])]
    return functools.reduce(torch.maximum, slices)


class _Pooling(Layer):
    """Shared config and shape logic of windowed pooling layers."""

    rank = 2
    kind = "max"

    def __init__(
        self,
        pool_size: IntOrTuple = 2,
        strides: IntOrTuple | None = None,
        padding: str = "valid",
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        n = self.rank
        self.pool_size = normalize_tuple(self, pool_size, n, "pool_size")
        self.strides = (
            self.pool_size if strides is None else normalize_tuple(self, strides, n, "strides")
        )
        self.padding = normalize_padding(self, padding)
        self.data_format = check_data_format(self, data_format)
        self.input_spec = InputSpec(ndim=n + 2)

    def build(self, input_shape: tuple) -> None:
        out = self.compute_output_shape(tuple(input_shape))
        if any(d is not None and d <= 0 for d in out[1:-1]):
            raise layer_error(
                self,
                f"spatial dimensions of at least pool_size={self.pool_size} with padding='valid'",
                input_shape=tuple(input_shape),
            )

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        spatial = [
            conv_output_length(size, k, self.padding, s)
            for size, k, s in zip(input_shape[1:-1], self.pool_size, self.strides)
        ]
        return (input_shape[0], *spatial, input_shape[-1])

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.rank == 1:
            x = inputs.unsqueeze(1).permute(0, 3, 1, 2)  # (N, W, C) -> (N, C, 1, W)
            out = _pool_nchw(x, self.kind, (1, *self.pool_size), (1, *self.strides), self.padding)
            return out.permute(0, 2, 3, 1).squeeze(1)
        if (
            self.kind == "max"
            and self.padding == "valid"
            and self.strides == self.pool_size
            and torch.compiler.is_compiling()
        ):
            return _max_pool_blocks(inputs, self.pool_size)
        out = _pool_nchw(
            inputs.permute(0, 3, 1, 2), self.kind, self.pool_size, self.strides, self.padding
        )
        return out.permute(0, 2, 3, 1)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "pool_size": self.pool_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
        }


@registry.register("layer", "MaxPooling2D", "MaxPool2D")
class MaxPooling2D(_Pooling):
    """Maximum over pool_size windows of NHWC images (default 2x2, stride = pool size)."""

    rank, kind = 2, "max"

    def __init__(
        self,
        pool_size: IntOrTuple = (2, 2),
        strides: IntOrTuple | None = None,
        padding: str = "valid",
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


@registry.register("layer", "AveragePooling2D", "AvgPool2D")
class AveragePooling2D(MaxPooling2D):
    """Mean over pool_size windows of NHWC images; 'same' ignores padded cells."""

    rank, kind = 2, "avg"


@registry.register("layer", "MaxPooling1D", "MaxPool1D")
class MaxPooling1D(_Pooling):
    """Maximum over windows of NWC sequences (default pool_size=2)."""

    rank, kind = 1, "max"


@registry.register("layer", "AveragePooling1D", "AvgPool1D")
class AveragePooling1D(_Pooling):
    """Mean over windows of NWC sequences (default pool_size=2)."""

    rank, kind = 1, "avg"


MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D
MaxPool1D = MaxPooling1D
AvgPool1D = AveragePooling1D


class _GlobalPooling(Layer):
    """Reduce all spatial axes to one value per channel."""

    rank = 2
    kind = "avg"

    def __init__(
        self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.data_format = check_data_format(self, data_format)
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self._dims = tuple(range(1, self.rank + 1))

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.kind == "max":
            return inputs.amax(dim=self._dims, keepdim=self.keepdims)
        return inputs.mean(dim=self._dims, keepdim=self.keepdims)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        if self.keepdims:
            return (input_shape[0], *([1] * self.rank), input_shape[-1])
        return (input_shape[0], input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


@registry.register("layer", "GlobalAveragePooling2D", "GlobalAvgPool2D")
class GlobalAveragePooling2D(_GlobalPooling):
    """Mean over height and width: (N, H, W, C) -> (N, C)."""

    rank, kind = 2, "avg"


@registry.register("layer", "GlobalMaxPooling2D", "GlobalMaxPool2D")
class GlobalMaxPooling2D(_GlobalPooling):
    """Maximum over height and width: (N, H, W, C) -> (N, C)."""

    rank, kind = 2, "max"


@registry.register("layer", "GlobalAveragePooling1D", "GlobalAvgPool1D")
class GlobalAveragePooling1D(_GlobalPooling):
    """Mean over steps: (N, W, C) -> (N, C). With a (N, W) mask, the mean of the unmasked
    steps only, as in Keras; the output has no mask."""

    rank, kind = 1, "avg"
    supports_masking = True
    _creates_mask = False

    def call(self, inputs: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is None:
            return inputs.mean(dim=1, keepdim=self.keepdims)
        keep = mask.unsqueeze(-1).to(torch.bool)
        total = torch.where(keep, inputs, 0.0).sum(dim=1, keepdim=self.keepdims)
        return total / keep.to(inputs.dtype).sum(dim=1, keepdim=self.keepdims)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return None


@registry.register("layer", "GlobalMaxPooling1D", "GlobalMaxPool1D")
class GlobalMaxPooling1D(_GlobalPooling):
    """Maximum over steps: (N, W, C) -> (N, C)."""

    rank, kind = 1, "max"


GlobalAvgPool2D = GlobalAveragePooling2D
GlobalMaxPool2D = GlobalMaxPooling2D
GlobalAvgPool1D = GlobalAveragePooling1D
GlobalMaxPool1D = GlobalMaxPooling1D
