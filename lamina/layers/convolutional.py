"""Convolution layers: Conv1D, Conv2D and Conv2DTranspose on channels-last inputs.

Kernels live in PyTorch's layout ((out, in, kh, kw), channels_last memory), so
`F.conv2d` runs on an NCHW *view* of the NHWC input with no copy, and
`get_weights()` returns Keras's (kh, kw, in, out). 'same' padding reproduces
TensorFlow exactly: when the total padding is odd the extra row/column goes at
the bottom/right, which matters for stride 2.

    x = Input(shape=(28, 28, 1))
    y = Conv2D(32, 3, padding="same", activation="relu")(x)   # (None, 28, 28, 32)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from lamina import activations, constraints, initializers, registry, regularizers
from lamina.layers.base import Layer
from lamina.layers.input_spec import InputSpec
from lamina.runtime import conv_relu

IntOrTuple = int | Sequence[int]


# ------------------------------------------------------------- shared helpers
def layer_error(layer: Layer, expected: str, **received: Any) -> ValueError:
    """A ValueError in Lamina's style: names the layer, what it expected, what it got."""
    got = ", ".join(f"{k}={v!r}" for k, v in received.items())
    return ValueError(
        f"Layer '{layer.name}' ({type(layer).__name__}) expected {expected}, received: {got}"
    )


def normalize_tuple(
    layer: Layer, value: Any, n: int, arg: str, allow_zero: bool = False
) -> tuple[int, ...]:
    """An int or a length-n sequence of positive ints, as a tuple of n ints."""
    lowest = 0 if allow_zero else 1
    if isinstance(value, int) and not isinstance(value, bool):
        out: tuple[int, ...] = (value,) * n
    elif isinstance(value, Sequence) and not isinstance(value, str) and len(value) == n:
        out = tuple(value)
    else:
        out = ()
    if len(out) != n or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= lowest for v in out
    ):
        kind = "non-negative" if allow_zero else "positive"
        raise layer_error(
            layer, f"a {kind} int or a tuple of {n} {kind} ints for {arg}", **{arg: value}
        )
    return out


def normalize_padding(layer: Layer, value: Any, allowed: Sequence[str] = ("valid", "same")) -> str:
    """'valid' / 'same' (any case) as lower-case, else a clear error."""
    if isinstance(value, str) and value.lower() in allowed:
        return value.lower()
    options = " or ".join(repr(a) for a in allowed)
    raise layer_error(layer, f"padding {options}", padding=value)


def check_data_format(layer: Layer, value: Any) -> str:
    """Lamina layers are channels-last (NHWC), Keras's default."""
    if value in (None, "channels_last"):
        return "channels_last"
    raise layer_error(
        layer, "data_format='channels_last' (Lamina images are NHWC)", data_format=value
    )


def same_pads(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's 'same' padding (before, after): the odd pixel goes after."""
    effective = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def conv_output_length(
    size: int | None, kernel: int, padding: str, stride: int, dilation: int = 1
) -> int | None:
    """Output length of a convolution or pooling window along one axis (Keras's formula)."""
    if size is None:
        return None
    if padding in ("same", "causal"):
        return -(-size // stride)
    effective = (kernel - 1) * dilation + 1
    return (size - effective) // stride + 1


# --------------------------------------------------------------- convolutions
class BaseConv(Layer):
    """Shared argument handling and weights of N-D convolutions (channels last).

    The engine recognises a model with convolutions by `_runs_convolutions`.
    """

    _runs_convolutions = True  # the engine's jit_compile='auto' policy reads it

    rank = 2

    def __init__(
        self,
        filters: int,
        kernel_size: IntOrTuple,
        strides: IntOrTuple = 1,
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: IntOrTuple = 1,
        groups: int = 1,
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(filters, int) or isinstance(filters, bool) or filters <= 0:
            raise layer_error(self, "a positive integer for filters", filters=filters)
        if not isinstance(groups, int) or groups <= 0 or filters % groups:
            raise layer_error(
                self, f"groups a positive divisor of filters={filters}", groups=groups
            )
        n = self.rank
        self.filters = filters
        self.kernel_size = normalize_tuple(self, kernel_size, n, "kernel_size")
        self.strides = normalize_tuple(self, strides, n, "strides")
        allowed = ("valid", "same", "causal") if n == 1 else ("valid", "same")
        self.padding = normalize_padding(self, padding, allowed)
        self.data_format = check_data_format(self, data_format)
        self.dilation_rate = normalize_tuple(self, dilation_rate, n, "dilation_rate")
        self.groups = groups
        self.activation = activations.get(activation, layer=self)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = kernel_constraint
        self.bias_constraint = bias_constraint
        self.input_spec = InputSpec(ndim=n + 2)

    def _kernel_shape(self, channels: int) -> tuple[int, ...]:
        """Keras's kernel shape: (*kernel_size, in // groups, filters)."""
        return (*self.kernel_size, channels // self.groups, self.filters)

    def build(self, input_shape: tuple) -> None:
        channels = input_shape[-1]
        if channels is None:
            raise layer_error(
                self, "a known channel (last) dimension", input_shape=tuple(input_shape)
            )
        if channels % self.groups:
            raise layer_error(
                self,
                f"input channels divisible by groups={self.groups}",
                input_shape=tuple(input_shape),
            )
        self._check_spatial(input_shape)
        n = self.rank
        # Keras (*k, in, out) -> torch (out, in, *k)
        layout = (n + 1, n, *range(n))
        self.kernel = self.add_weight(
            "kernel",
            self._kernel_shape(channels),
            self.kernel_initializer,
            self.kernel_regularizer,
            self.kernel_constraint,
            torch_layout=layout,
        )
        if self.use_bias:
            self.bias = self.add_weight(
                "bias",
                (self.filters,),
                self.bias_initializer,
                self.bias_regularizer,
                self.bias_constraint,
            )
        else:
            self.bias = None
        self.input_spec = InputSpec(ndim=n + 2, axes={-1: channels})

    def _check_spatial(self, input_shape: tuple) -> None:
        out = self.compute_output_shape(tuple(input_shape))
        if any(d is not None and d <= 0 for d in out[1:-1]):
            raise layer_error(
                self,
                f"spatial dimensions at least as large as the (dilated) kernel {self.kernel_size} "
                f"with padding='{self.padding}'",
                input_shape=tuple(input_shape),
            )

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        spatial = [
            conv_output_length(size, k, self.padding, s, d)
            for size, k, s, d in zip(
                input_shape[1:-1], self.kernel_size, self.strides, self.dilation_rate
            )
        ]
        return (input_shape[0], *spatial, self.filters)

    def _relu_fusable(self) -> bool:
        """True when the activation is exactly ReLU and the engine wants activations."""
        return self.activation is activations.relu and not self._emit_logits

    def _finish(self, out: torch.Tensor, activated: bool = False) -> torch.Tensor:
        if not activated:
            out = self._activate(out)
        if self.activity_regularizer is not None:
            self.add_loss(self.activity_regularizer(out) / out.shape[0])  # per sample, as Keras
        return out

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "groups": self.groups,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


@registry.register("layer", "Conv2D")
class Conv2D(BaseConv):
    """2D convolution over NHWC images (cross-correlation, as in Keras)."""

    rank = 2

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = inputs.permute(0, 3, 1, 2)  # NCHW view of NHWC memory: no copy
        padding: Any = 0
        if self.padding == "same":
            top, bottom = same_pads(
                x.shape[2], self.kernel_size[0], self.strides[0], self.dilation_rate[0]
            )
            left, right = same_pads(
                x.shape[3], self.kernel_size[1], self.strides[1], self.dilation_rate[1]
            )
            if top == bottom and left == right:
                padding = (top, left)  # symmetric: let the kernel pad
            else:
                x = F.pad(x, (left, right, top, bottom))
        if self._relu_fusable() and conv_relu.fused_relu_available(x, self.kernel):
            pads = (padding, padding) if isinstance(padding, int) else padding
            out = conv_relu.conv2d_relu(
                x, self.kernel, self.bias, self.strides, pads, self.dilation_rate, self.groups
            )
            return self._finish(out.permute(0, 2, 3, 1), activated=True)
        out = F.conv2d(
            x, self.kernel, self.bias, self.strides, padding, self.dilation_rate, self.groups
        )
        return self._finish(out.permute(0, 2, 3, 1))


@registry.register("layer", "Conv1D")
class Conv1D(BaseConv):
    """1D convolution over NWC sequences; padding='causal' pads only on the left."""

    rank = 1

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = inputs.transpose(1, 2)  # (N, C, W) view
        k, s, d = self.kernel_size[0], self.strides[0], self.dilation_rate[0]
        padding: Any = 0
        if self.padding == "same":
            before, after = same_pads(x.shape[2], k, s, d)
            if before == after:
                padding = before
            else:
                x = F.pad(x, (before, after))
        elif self.padding == "causal":
            x = F.pad(x, ((k - 1) * d, 0))
        out = F.conv1d(x, self.kernel, self.bias, s, padding, d, self.groups)
        return self._finish(out.transpose(1, 2))


@registry.register("layer", "Conv2DTranspose")
class Conv2DTranspose(BaseConv):
    """Transposed ('de-') convolution over NHWC images, with TensorFlow's output sizes.

    Keras's kernel shape is (kh, kw, filters, in); `output_padding` (per axis,
    smaller than the stride) picks among the output sizes that a strided
    convolution maps back to the input size.
    """

    rank = 2

    def __init__(
        self,
        filters: int,
        kernel_size: IntOrTuple,
        strides: IntOrTuple = 1,
        padding: str = "valid",
        output_padding: IntOrTuple | None = None,
        data_format: str | None = None,
        dilation_rate: IntOrTuple = 1,
        activation: Any = None,
        use_bias: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            activation=activation,
            use_bias=use_bias,
            **kwargs,
        )
        if self.groups != 1:
            raise layer_error(
                self, "groups=1 (no grouped transposed convolutions)", groups=self.groups
            )
        if output_padding is not None:
            output_padding = normalize_tuple(
                self, output_padding, 2, "output_padding", allow_zero=True
            )
            if any(p >= s for p, s in zip(output_padding, self.strides)):
                raise layer_error(
                    self,
                    f"output_padding smaller than strides={self.strides}",
                    output_padding=output_padding,
                )
        self.output_padding = output_padding

    def _kernel_shape(self, channels: int) -> tuple[int, ...]:
        return (*self.kernel_size, self.filters, channels)

    def _out_length(self, size: int | None, axis: int) -> int | None:
        """Keras's deconv_output_length."""
        if size is None:
            return None
        k, s, d = self.kernel_size[axis], self.strides[axis], self.dilation_rate[axis]
        eff = (k - 1) * d + 1
        if self.output_padding is None:
            return size * s + (max(eff - s, 0) if self.padding == "valid" else 0)
        pad = eff // 2 if self.padding == "same" else 0
        return (size - 1) * s + eff - 2 * pad + self.output_padding[axis]

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (
            input_shape[0],
            self._out_length(input_shape[1], 0),
            self._out_length(input_shape[2], 1),
            self.filters,
        )

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = inputs.permute(0, 3, 1, 2)
        full = F.conv_transpose2d(x, self.kernel, None, self.strides, 0, 0, 1, self.dilation_rate)
        # TF defines the result as the gradient of a 'same'/'valid' convolution whose input
        # has the target size: crop `before` leading pixels, then crop/zero-fill the end.
        pads = []
        for axis in (1, 0):  # F.pad order: width first
            size, got = x.shape[2 + axis], full.shape[2 + axis]
            target = self._out_length(size, axis)
            before = max(got - target, 0) // 2 if self.padding == "same" else 0
            pads += [-before, target + before - got]
        if any(pads):
            full = F.pad(full, pads)
        out = full.permute(0, 2, 3, 1)
        if self.bias is not None:
            out = out + self.bias
        return self._finish(out)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.pop("groups")
        config["output_padding"] = self.output_padding
        return config
