"""Conv3D: 3D convolution over channels-last volumes (batch, depth, height, width, channels).

The kernel is stored in PyTorch's (out, in // groups, kd, kh, kw) layout and
`get_weights()` returns Keras's (kd, kh, kw, in // groups, out). 'same' padding
is TensorFlow's (the odd cell goes after), as in Conv2D.

    y = Conv3D(8, 3, padding="same")(x)   # (N, 16, 16, 16, 1) -> (N, 16, 16, 16, 8)
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import registry
from lamina.layers.convolutional import BaseConv, IntOrTuple
from lamina.layers.spatial_nd import channels_first, channels_last, conv_nd


@registry.register("layer", "Conv3D", "Convolution3D")
class Conv3D(BaseConv):
    """3D convolution (cross-correlation, as in Keras) over NDHWC volumes."""

    rank = 3

    def __init__(
        self,
        filters: int,
        kernel_size: IntOrTuple,
        strides: IntOrTuple = (1, 1, 1),
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: IntOrTuple = (1, 1, 1),
        groups: int = 1,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            groups=groups,
            **kwargs,
        )

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        out = conv_nd(
            channels_first(inputs),
            self.kernel,
            self.bias,
            self.strides,
            self.padding,
            self.dilation_rate,
            self.groups,
        )
        return self._finish(channels_last(out))
