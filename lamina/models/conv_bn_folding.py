"""BatchNormalization folded into the convolution before it, for inference.

In inference a BatchNormalization is an affine map per channel, so a convolution whose
output only feeds one is the same as one convolution with scaled weights and a new bias:

    s = gamma / sqrt(moving_variance + epsilon)
    kernel' = kernel * s (per output channel),  bias' = (bias - moving_mean) * s + beta

The normalization's pass over the activation tensor disappears, and the activation
after it (ReLU, ReLU6, ...) and a residual `Add` are applied by oneDNN as the
convolution writes its output (runtime/conv_pointwise.py). In the CNN applications
(ResNet, MobileNet, EfficientNet...) nearly every convolution is such a chain.

A model's graph is scanned once for chains `[ZeroPadding2D ->] Conv2D|DepthwiseConv2D
(no activation) -> BatchNormalization [-> Add] [-> activation]`, where each tensor inside the chain has
no other consumer and is not a model output. A chain is folded only when nothing
could tell: autograd off (`predict`, `evaluate`), not inside torch.compile, no
autocast, the normalization in inference mode, float32 tensors without masks, no
hooks, an input shape the layer already checked. Otherwise its layers run as usual.
Functional graphs find their chains in models/inference_graph.py, Sequential stacks here.
The folded weights are cached per chain and recomputed when any of its tensors was
replaced or written in place (training, `set_weights`, loading, `assign`): see
`conv_pointwise.version_key`. On the CPU they are also reordered once into oneDNN's
layout.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina import activations
from lamina.layers.activation_layers import ReLU
from lamina.layers.base import _GLOBAL_HOOKS, Layer
from lamina.layers.convolutional import Conv2D, same_pads
from lamina.layers.core import Activation
from lamina.layers.depthwise_separable import DepthwiseConv2D
from lamina.layers.mask_utils import MASK_ATTR
from lamina.layers.normalization import BatchNormalization
from lamina.layers.reshaping import ZeroPadding2D
from lamina.runtime import conv_pointwise

_ACTIVATIONS = {
    activations.linear: "linear",
    activations.relu: "relu",
    activations.relu6: "relu6",
    activations.silu: "silu",
    activations.swish: "silu",
    activations.sigmoid: "sigmoid",
    activations.tanh: "tanh",
}


def activation_name(layer: Layer) -> str | None:
    """The UNARY name of an activation layer's function, or None if it has none we fuse."""
    if type(layer) is Activation:
        return _ACTIVATIONS.get(layer.activation)
    if type(layer) is ReLU and layer.negative_slope == 0.0 and layer.threshold == 0.0:
        return {None: "relu", 6.0: "relu6"}.get(layer.max_value)
    return None


def foldable_conv(layer: Layer) -> bool:
    return (
        type(layer) in (Conv2D, DepthwiseConv2D)
        and layer.built
        and layer.activation is activations.linear
        and layer.activity_regularizer is None
    )


def foldable_pad(layer: Layer) -> bool:
    return type(layer) is ZeroPadding2D and layer.built


def foldable_bn(layer: Layer) -> bool:
    return type(layer) is BatchNormalization and layer.built and layer._axis == 3


def _hooked(layer: Layer) -> bool:
    return bool(
        layer._forward_hooks or layer._forward_pre_hooks or _GLOBAL_HOOKS[0] or _GLOBAL_HOOKS[1]
    )


class Chain:
    """One convolution and its BatchNormalization, optionally after a ZeroPadding2D and
    before an Add and an activation."""

    def __init__(
        self,
        conv: Layer,
        bn: Layer,
        add: Layer | None = None,
        act: Layer | None = None,
        pad: Layer | None = None,
    ) -> None:
        self.conv, self.bn, self.add, self.act, self.pad = conv, bn, add, act, pad
        self.layers = [la for la in (pad, conv, bn, add, act) if la is not None]
        self.activation = "linear" if act is None else activation_name(act)
        self.key: tuple | None = None
        self.folded: tuple[torch.Tensor, torch.Tensor] | None = None
        self.packed: dict[tuple, torch.Tensor] = {}

    def ready(self, x: Any, bn_training: Any) -> bool:
        """Whether this call may run folded (checked on the chain's input)."""
        conv, bn = self.conv, self.bn
        training = bn_training if bn_training is not None else bn.training
        return (
            isinstance(x, torch.Tensor)
            and x.dtype == torch.float32
            and conv._dtype == torch.float32
            and bn._dtype == torch.float32
            and x.dim() == 4
            and x.shape[1:] == self.layers[0]._checked_shape
            and conv._checked_shape is not None
            and getattr(x, MASK_ATTR, None) is None
            and not (training and bn.trainable)
            and not conv._call_losses
            and not (self.act is not None and self.act._emit_logits)
            and not any(_hooked(la) for la in self.layers)
        )

    def _tensors(self) -> list[torch.Tensor]:
        conv, bn = self.conv, self.bn
        found = [conv.kernel, conv.bias, bn.gamma, bn.beta, bn.moving_mean, bn.moving_variance]
        return [t for t in found if t is not None]

    def _weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(kernel', bias') in F.conv2d's layout, from the cache when no tensor changed."""
        key = conv_pointwise.version_key(self._tensors())
        if key is None or key != self.key or self.folded is None:
            self.folded, self.packed = _fold(self.conv, self.bn), {}
            self.key = key
        return self.folded

    def _pads(self, xc: torch.Tensor) -> tuple[int, int, int, int]:
        """(top, bottom, left, right) zeros around NCHW `xc`: the ZeroPadding2D's, then
        TensorFlow's 'same' padding of the convolution."""
        (top, bottom), (left, right) = ((0, 0), (0, 0)) if self.pad is None else self.pad.padding
        conv = self.conv
        if conv.padding == "same":
            (kh, kw), (sh, sw), (dh, dw) = conv.kernel_size, conv.strides, conv.dilation_rate
            st, sb = same_pads(xc.shape[2] + top + bottom, kh, sh, dh)
            sl, sr = same_pads(xc.shape[3] + left + right, kw, sw, dw)
            top, bottom, left, right = top + st, bottom + sb, left + sl, right + sr
        return top, bottom, left, right

    def run(self, x: torch.Tensor, other: torch.Tensor | None) -> torch.Tensor:
        """The chain's output for NHWC `x` (and the Add's other NHWC input)."""
        weight, bias = self._weights()
        xc = x.permute(0, 3, 1, 2)  # NCHW view of NHWC memory: channels_last, no copy
        top, bottom, left, right = self._pads(xc)
        if top == bottom and left == right:  # the convolution pads by itself
            return self._conv(xc, (top, left), weight, bias, other)
        ph, pw = max(top, bottom), max(left, right)
        grow = (ph - top, ph - bottom, pw - left, pw - right)
        if self._may_grow(xc, weight):
            return self._conv(xc, (ph, pw), self._grown(weight, grow), bias, other)
        xc = padded_copy(xc, (left, right, top, bottom))
        return self._conv(xc, (0, 0), weight, bias, other)

    def _may_grow(self, xc: torch.Tensor, weight: torch.Tensor) -> bool:
        """Asymmetric zeros as a larger kernel with zero taps and symmetric padding: no
        padded copy of the input (MobileNet's stride-2 blocks: up to 150 MB, zero-filled
        first, 3x the time of the convolution). Worth its extra taps where the
        convolution is bound by memory (depthwise, or few input channels)."""
        return (
            self.conv.dilation_rate == (1, 1)
            and (weight.shape[1] == 1 or xc.shape[1] <= 8)
            and conv_pointwise.fused_available(xc, weight)
        )

    def _grown(self, weight: torch.Tensor, grow: tuple[int, int, int, int]) -> torch.Tensor:
        """`weight` with `grow` = (top, bottom, left, right) rows/columns of zero taps."""
        key = ("grown", grow)
        if key not in self.packed:
            top, bottom, left, right = grow
            grown = F.pad(weight, (left, right, top, bottom))
            self.packed[key] = grown.contiguous(memory_format=torch.channels_last)
        return self.packed[key]

    def _args(self, xc: torch.Tensor, padding: tuple[int, int]) -> tuple:
        conv = self.conv
        groups = xc.shape[1] if type(conv) is DepthwiseConv2D else conv.groups
        return conv.strides, padding, conv.dilation_rate, groups

    def _conv(
        self,
        xc: torch.Tensor,
        padding: tuple[int, int],
        weight: torch.Tensor,
        bias: torch.Tensor,
        other: torch.Tensor | None,
    ) -> torch.Tensor:
        """activation(conv(xc) [+ other]) as NHWC, one oneDNN call where it can be."""
        args = self._args(xc, padding)
        if conv_pointwise.fused_available(xc, weight):
            packed = self._packed(weight, xc, args)
        else:
            packed = weight
        oc = None if other is None else other.permute(0, 3, 1, 2)
        if oc is None or _joins(oc, xc, weight, args):
            out = conv_pointwise.conv_post_ops(
                xc, packed, bias, *args, self.activation, oc, plain_weight=weight
            )
            return out.permute(0, 2, 3, 1)
        # an Add input oneDNN cannot take (another layout, a broadcast): added after
        out = conv_pointwise.conv_post_ops(xc, packed, bias, *args, "linear", plain_weight=weight)
        return conv_pointwise.UNARY[self.activation][2](out.permute(0, 2, 3, 1) + other)

    def _packed(self, weight: torch.Tensor, xc: torch.Tensor, args: tuple) -> torch.Tensor:
        key = (tuple(xc.shape), tuple(weight.shape))
        if key not in self.packed:
            if len(self.packed) >= 8:  # a few input shapes at most (the last batch, ...)
                self.packed.clear()
            strides, padding, dilation, groups = args
            self.packed[key] = conv_pointwise.prepack(
                weight, padding, strides, dilation, groups, key[0]
            )
        return self.packed[key]


def padded_copy(xc: torch.Tensor, pads: tuple[int, int, int, int]) -> torch.Tensor:
    """`xc` with zeros around (F.pad's order): the general case, one copy."""
    return F.pad(xc, pads)


@torch.no_grad()
def _fold(conv: Layer, bn: Layer) -> tuple[torch.Tensor, torch.Tensor]:
    kernel = conv.kernel
    if type(conv) is DepthwiseConv2D:  # (in, multiplier, kh, kw) -> (in * multiplier, 1, ...)
        kernel = kernel.reshape(kernel.shape[0] * kernel.shape[1], 1, *kernel.shape[2:])
    scale = torch.rsqrt(bn.moving_variance + bn.epsilon)
    if bn.gamma is not None:
        scale = scale * bn.gamma
    bias = -bn.moving_mean if conv.bias is None else conv.bias - bn.moving_mean
    bias = bias * scale
    if bn.beta is not None:
        bias = bias + bn.beta
    weight = kernel * scale.reshape(-1, 1, 1, 1)
    return weight.contiguous(memory_format=torch.channels_last), bias.contiguous()


def _joins(oc: torch.Tensor, xc: torch.Tensor, weight: torch.Tensor, args: tuple) -> bool:
    """Whether the Add's other input (NCHW view) has the convolution's output shape and
    channels-last memory, as oneDNN's fused add needs."""
    strides, padding, dilation, _ = args
    spatial = [
        (size + 2 * p - (k - 1) * d - 1) // s + 1
        for size, k, s, p, d in zip(xc.shape[2:], weight.shape[2:], strides, padding, dilation)
    ]
    return tuple(oc.shape) == (xc.shape[0], weight.shape[0], *spatial) and oc.is_contiguous(
        memory_format=torch.channels_last
    )


def folding_enabled() -> bool:
    """The process-wide conditions: autograd off, eager, no autocast."""
    return (
        not torch.is_grad_enabled()
        and not torch.compiler.is_compiling()
        and not torch.is_autocast_enabled("cpu")
    )


# ------------------------------------------------------------------- sequential stacks
def sequential_chains(layers: list[Layer]) -> dict[int, tuple[Chain, int]]:
    """Index of a chain's first layer -> (chain, number of layers it spans)."""
    found: dict[int, tuple[Chain, int]] = {}
    i = 0
    while i < len(layers) - 1:
        pad = layers[i] if foldable_pad(layers[i]) else None
        j = i + (pad is not None)
        if j + 1 < len(layers) and foldable_conv(layers[j]) and foldable_bn(layers[j + 1]):
            act = layers[j + 2] if j + 2 < len(layers) else None
            if act is not None and activation_name(act) is None:
                act = None
            chain = Chain(layers[j], layers[j + 1], None, act, pad)
            found[i] = (chain, len(chain.layers))
            i += len(chain.layers)
        else:
            i += 1
    return found


def sequential_call(model: Any, x: Any, training: Any) -> Any:
    """Sequential's plain loop with folded chains, or None when nothing may fold."""
    if not folding_enabled() or training:
        return None
    layers = list(model._stack)
    key = tuple(id(la) for la in layers)
    cached = model.__dict__.get("_fold_plan")
    if cached is None or cached[0] != key:
        cached = model.__dict__["_fold_plan"] = (key, sequential_chains(layers))
    chains = cached[1]
    if not chains:
        return None
    i = 0
    while i < len(layers):
        entry = chains.get(i)
        if entry is not None and entry[0].ready(x, training):
            x = entry[0].run(x, None)
            i += entry[1]
            continue
        layer = layers[i]
        x = (
            layer.call_fast(x, training)
            if isinstance(x, torch.Tensor) and layer.built
            else layer(x, training=training)
        )
        i += 1
    return x
