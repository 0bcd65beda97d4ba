"""Depthwise and separable convolutions: DepthwiseConv1D/2D, SeparableConv1D/2D (channels last).

A depthwise convolution filters each input channel on its own with
`depth_multiplier` kernels: PyTorch's grouped convolution with groups = channels.
Keras's depthwise kernel is (*kernel_size, channels, depth_multiplier) and output
channel c * depth_multiplier + m comes from input channel c and kernel m. It is
stored as (channels, depth_multiplier, *kernel_size), which reshapes to PyTorch's
(channels * depth_multiplier, 1, *kernel_size) without reordering. A separable
convolution follows it with a 1x1 'pointwise' convolution to `filters` channels.

    y = SeparableConv2D(32, 3, padding="same")(x)   # weights: depthwise_kernel,
                                                    # pointwise_kernel, bias
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import activations, constraints, initializers, registry, regularizers
from lamina.layers.base import Layer
from lamina.layers.convolutional import (
    IntOrTuple,
    check_data_format,
    conv_output_length,
    layer_error,
    normalize_padding,
    normalize_tuple,
)
from lamina.layers.input_spec import InputSpec
from lamina.layers.spatial_nd import CONV, channels_first, channels_last, conv_nd


class _DepthwiseBase(Layer):
    """Arguments, depthwise kernel and output shape shared by depthwise and separable layers."""

    _runs_convolutions = True  # the engine's jit_compile='auto' policy reads it

    rank = 2
    depthwise_name = "kernel"  # Keras's weight name: 'kernel' (depthwise) or 'depthwise_kernel'

    def __init__(
        self,
        kernel_size: IntOrTuple,
        strides: IntOrTuple = 1,
        padding: str = "valid",
        depth_multiplier: int = 1,
        data_format: str | None = None,
        dilation_rate: IntOrTuple = 1,
        activation: Any = None,
        use_bias: bool = True,
        depthwise_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        depthwise_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        depthwise_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        n = self.rank
        if (
            not isinstance(depth_multiplier, int)
            or isinstance(depth_multiplier, bool)
            or depth_multiplier <= 0
        ):
            raise layer_error(
                self, "a positive integer depth_multiplier", depth_multiplier=depth_multiplier
            )
        self.depth_multiplier = depth_multiplier
        self.kernel_size = normalize_tuple(self, kernel_size, n, "kernel_size")
        self.strides = normalize_tuple(self, strides, n, "strides")
        self.padding = normalize_padding(self, padding)
        self.data_format = check_data_format(self, data_format)
        self.dilation_rate = normalize_tuple(self, dilation_rate, n, "dilation_rate")
        self.activation = activations.get(activation, layer=self)
        self.use_bias = bool(use_bias)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.depthwise_constraint = depthwise_constraint
        self.bias_constraint = bias_constraint
        self.input_spec = InputSpec(ndim=n + 2)

    def _channels(self, input_shape: tuple) -> int:
        channels = input_shape[-1]
        if channels is None:
            raise layer_error(
                self, "a known channel (last) dimension", input_shape=tuple(input_shape)
            )
        out = self.compute_output_shape(tuple(input_shape))
        if any(d is not None and d <= 0 for d in out[1:-1]):
            raise layer_error(
                self,
                f"spatial dimensions at least as large as the (dilated) kernel {self.kernel_size} "
                f"with padding='{self.padding}'",
                input_shape=tuple(input_shape),
            )
        return channels

    def _build_depthwise(self, channels: int) -> None:
        n = self.rank
        # Keras (*k, in, multiplier) -> stored (in, multiplier, *k)
        self.add_weight(
            self.depthwise_name,
            (*self.kernel_size, channels, self.depth_multiplier),
            self.depthwise_initializer,
            self.depthwise_regularizer,
            self.depthwise_constraint,
            torch_layout=(n, n + 1, *range(n)),
        )
        self.input_spec = InputSpec(ndim=n + 2, axes={-1: channels})

    def _add_bias(self, size: int) -> None:
        if self.use_bias:
            self.bias = self.add_weight(
                "bias", (size,), self.bias_initializer, self.bias_regularizer, self.bias_constraint
            )
        else:
            self.bias = None

    def _depthwise(self, x: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        """The depthwise convolution of a channels-first `x`."""
        kernel = getattr(self, self.depthwise_name)
        weight = kernel.reshape(kernel.shape[0] * kernel.shape[1], 1, *kernel.shape[2:])
        return conv_nd(
            x, weight, bias, self.strides, self.padding, self.dilation_rate, groups=x.shape[1]
        )

    def _out_channels(self, channels: int | None) -> int | None:
        return None if channels is None else channels * self.depth_multiplier

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        spatial = [
            conv_output_length(size, k, self.padding, s, d)
            for size, k, s, d in zip(
                input_shape[1:-1], self.kernel_size, self.strides, self.dilation_rate
            )
        ]
        return (input_shape[0], *spatial, self._out_channels(input_shape[-1]))

    def _finish(self, out: torch.Tensor) -> torch.Tensor:
        out = self._activate(out)
        if self.activity_regularizer is not None:
            self.add_loss(self.activity_regularizer(out) / out.shape[0])  # per sample, as Keras
        return out

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "depth_multiplier": self.depth_multiplier,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


class _DepthwiseConv(_DepthwiseBase):
    """Depthwise convolution: `depth_multiplier` output channels per input channel."""

    def build(self, input_shape: tuple) -> None:
        channels = self._channels(input_shape)
        self._build_depthwise(channels)
        self._add_bias(channels * self.depth_multiplier)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return self._finish(channels_last(self._depthwise(channels_first(inputs), self.bias)))


@registry.register("layer", "DepthwiseConv2D")
class DepthwiseConv2D(_DepthwiseConv):
    """Depthwise 2D convolution over NHWC images; Keras's weights: kernel, bias."""

    rank = 2


@registry.register("layer", "DepthwiseConv1D")
class DepthwiseConv1D(_DepthwiseConv):
    """Depthwise 1D convolution over NWC sequences; Keras's weights: kernel, bias."""

    rank = 1


class _SeparableConv(_DepthwiseBase):
    """Depthwise convolution, then a pointwise (1x1) convolution to `filters` channels."""

    depthwise_name = "depthwise_kernel"

    def __init__(
        self,
        filters: int,
        kernel_size: IntOrTuple,
        strides: IntOrTuple = 1,
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: IntOrTuple = 1,
        depth_multiplier: int = 1,
        activation: Any = None,
        use_bias: bool = True,
        depthwise_initializer: Any = "glorot_uniform",
        pointwise_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        depthwise_regularizer: Any = None,
        pointwise_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        depthwise_constraint: Any = None,
        pointwise_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            kernel_size,
            strides=strides,
            padding=padding,
            depth_multiplier=depth_multiplier,
            data_format=data_format,
            dilation_rate=dilation_rate,
            activation=activation,
            use_bias=use_bias,
            depthwise_initializer=depthwise_initializer,
            bias_initializer=bias_initializer,
            depthwise_regularizer=depthwise_regularizer,
            bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            depthwise_constraint=depthwise_constraint,
            bias_constraint=bias_constraint,
            **kwargs,
        )
        if not isinstance(filters, int) or isinstance(filters, bool) or filters <= 0:
            raise layer_error(self, "a positive integer for filters", filters=filters)
        self.filters = filters
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.pointwise_constraint = pointwise_constraint

    def build(self, input_shape: tuple) -> None:
        channels = self._channels(input_shape)
        self._build_depthwise(channels)
        n = self.rank
        # Keras (1, ..., in * multiplier, filters) -> torch (filters, in * multiplier, 1, ...)
        self.pointwise_kernel = self.add_weight(
            "pointwise_kernel",
            (*(1,) * n, channels * self.depth_multiplier, self.filters),
            self.pointwise_initializer,
            self.pointwise_regularizer,
            self.pointwise_constraint,
            torch_layout=(n + 1, n, *range(n)),
        )
        self._add_bias(self.filters)

    def _out_channels(self, channels: int | None) -> int:
        return self.filters

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        mid = self._depthwise(channels_first(inputs), None)
        out = CONV[self.rank](mid, self.pointwise_kernel, self.bias)
        return self._finish(channels_last(out))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "filters": self.filters,
            "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
            "pointwise_regularizer": regularizers.serialize(self.pointwise_regularizer),
            "pointwise_constraint": constraints.serialize(self.pointwise_constraint),
        }


@registry.register("layer", "SeparableConv2D", "SeparableConvolution2D")
class SeparableConv2D(_SeparableConv):
    """Depthwise-separable 2D convolution over NHWC images."""

    rank = 2


@registry.register("layer", "SeparableConv1D", "SeparableConvolution1D")
class SeparableConv1D(_SeparableConv):
    """Depthwise-separable 1D convolution over NWC sequences."""

    rank = 1
