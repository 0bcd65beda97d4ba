"""Conv1DTranspose and Conv3DTranspose: transposed convolutions with Keras's output sizes.

Keras's kernel is (*kernel_size, filters, in), stored in PyTorch's
(in, filters, *kernel_size) layout. The output is the gradient of a strided
'valid'/'same' convolution: PyTorch's full transposed convolution (no padding)
is cropped (or zero-extended) on each side by Keras's amounts, so 'same' with
strides and `output_padding` give Keras's (and TensorFlow's) sizes and values.

    y = Conv3DTranspose(4, 3, strides=2, padding="same")(x)   # spatial sizes doubled
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina import registry
from lamina.layers.convolutional import BaseConv, IntOrTuple, layer_error, normalize_tuple
from lamina.layers.spatial_nd import CONV_TRANSPOSE, channels_first, channels_last, torch_pad_order


def transpose_pads(
    kernel: int, stride: int, dilation: int, padding: str, output_padding: int | None
) -> tuple[int, int]:
    """Keras's (left, right) padding of the stride-dilated input, as in its JAX backend."""
    eff = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(eff, stride) - eff if output_padding is None else output_padding
        return eff - 1, eff - 1 + extra
    if output_padding is None:
        total = stride + eff - 2
    else:
        total = eff + eff % 2 - 2 + output_padding
    left = min(total // 2 + total % 2, eff - 1)
    return left, total - left


def transpose_length(
    size: int | None,
    kernel: int,
    stride: int,
    dilation: int,
    padding: str,
    output_padding: int | None,
) -> int | None:
    """Keras's output length of a transposed convolution along one axis."""
    if size is None:
        return None
    eff = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(eff, stride) - eff if output_padding is None else output_padding
        return (size - 1) * stride + eff + extra
    if output_padding is None:
        return size * stride
    return (size - 1) * stride + eff % 2 + output_padding


class BaseConvTranspose(BaseConv):
    """Shared arguments, kernel and call of N-D transposed convolutions (channels last)."""

    rank = 1

    def __init__(
        self,
        filters: int,
        kernel_size: IntOrTuple,
        strides: IntOrTuple = 1,
        padding: str = "valid",
        output_padding: IntOrTuple | None = None,
        data_format: str | None = None,
        dilation_rate: IntOrTuple = 1,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            **kwargs,
        )
        if self.groups != 1:
            raise layer_error(
                self, "groups=1 (no grouped transposed convolutions)", groups=self.groups
            )
        if self.padding == "causal":
            raise layer_error(self, "padding 'valid' or 'same'", padding=padding)
        if output_padding is not None:
            output_padding = normalize_tuple(
                self, output_padding, self.rank, "output_padding", allow_zero=True
            )
            if any(p >= s for p, s in zip(output_padding, self.strides)):
                raise layer_error(
                    self,
                    f"output_padding smaller than strides={self.strides}",
                    output_padding=output_padding,
                )
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise layer_error(
                self,
                "strides of 1 when dilation_rate > 1 (Keras supports only one of them)",
                strides=self.strides,
                dilation_rate=self.dilation_rate,
            )
        self.output_padding = output_padding

    def _kernel_shape(self, channels: int) -> tuple[int, ...]:
        return (*self.kernel_size, self.filters, channels)

    def _axis_padding(self, axis: int) -> int | None:
        return None if self.output_padding is None else self.output_padding[axis]

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        spatial = [
            transpose_length(
                size,
                self.kernel_size[i],
                self.strides[i],
                self.dilation_rate[i],
                self.padding,
                self._axis_padding(i),
            )
            for i, size in enumerate(input_shape[1:-1])
        ]
        return (input_shape[0], *spatial, self.filters)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = channels_first(inputs)
        full = CONV_TRANSPOSE[self.rank](
            x, self.kernel, None, self.strides, 0, 0, 1, self.dilation_rate
        )
        # PyTorch's full output has (eff - 1) cells of padding on each side; Keras keeps
        # (left, right) of them: crop the rest (a negative crop extends with zeros).
        crops = []
        for i in range(self.rank):
            eff = (self.kernel_size[i] - 1) * self.dilation_rate[i] + 1
            left, right = transpose_pads(
                self.kernel_size[i],
                self.strides[i],
                self.dilation_rate[i],
                self.padding,
                self._axis_padding(i),
            )
            crops.append((left - (eff - 1), right - (eff - 1)))
        if any(a or b for a, b in crops):
            full = F.pad(full, torch_pad_order(crops))
        out = channels_last(full)
        if self.bias is not None:
            out = out + self.bias
        return self._finish(out)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.pop("groups")
        config["output_padding"] = self.output_padding
        return config


@registry.register("layer", "Conv1DTranspose", "Convolution1DTranspose")
class Conv1DTranspose(BaseConvTranspose):
    """Transposed convolution over (batch, steps, channels) sequences."""

    rank = 1


@registry.register("layer", "Conv3DTranspose", "Convolution3DTranspose")
class Conv3DTranspose(BaseConvTranspose):
    """Transposed convolution over (batch, depth, height, width, channels) volumes."""

    rank = 3

    def __init__(
        self,
        filters: int,
        kernel_size: IntOrTuple,
        strides: IntOrTuple = (1, 1, 1),
        padding: str = "valid",
        data_format: str | None = None,
        output_padding: IntOrTuple | None = None,
        dilation_rate: IntOrTuple = (1, 1, 1),
        **kwargs: Any,
    ) -> None:
        super().__init__(
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            output_padding=output_padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            **kwargs,
        )
