"""One convolution with its activation and residual add fused, for folded inference.

With BatchNormalization folded into a convolution's weights (models/conv_bn_folding.py),
what is left after the convolution is an activation and, in residual blocks, an add:
on the CPU each is a full pass over an activation tensor of up to 150 MB at batch 32
(MobileNetV2's expanded 112x112x96 maps). oneDNN applies them as the convolution writes
its output (`mkldnn._convolution_pointwise`, the ops Inductor uses for frozen inference),
so the block writes its output once. The weights can also be reordered once into
oneDNN's blocked layout (`prepack`), which otherwise happens on every call.

These are private torch names: where a build lacks them (or off the CPU, or under
autocast) `conv_post_ops` computes the same with `F.conv2d` and separate ops. Nothing
here has a backward: the fused path runs without autograd only.

    y = conv_post_ops(x, w, b, (1, 1), (1, 1), (1, 1), 1, "relu", other=residual)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

# activation name -> (oneDNN post-op, its scalars, the torch function it equals)
UNARY: dict[str, tuple[str, list[Any], Callable[[torch.Tensor], torch.Tensor]]] = {
    "linear": ("none", [None], lambda t: t),
    "relu": ("relu", [None], F.relu),
    "relu6": ("hardtanh", [0.0, 6.0], F.relu6),
    "silu": ("swish", [None], F.silu),
    "sigmoid": ("sigmoid", [None], torch.sigmoid),
    "tanh": ("tanh", [None], torch.tanh),
}


def _op() -> Any:
    """oneDNN's convolution with post-ops, or None where this torch has none."""
    return getattr(torch.ops.mkldnn, "_convolution_pointwise", None)


def fused_available(x: torch.Tensor, weight: torch.Tensor) -> bool:
    """True where oneDNN's fused convolution applies: CPU, float32, no autocast, eager."""
    return (
        x.device.type == "cpu"
        and x.dtype == torch.float32
        and weight.dtype == torch.float32
        and not torch.compiler.is_compiling()
        and not torch.is_autocast_enabled("cpu")
        and torch.backends.mkldnn.is_available()
        and _op() is not None
    )


def prepack(
    weight: torch.Tensor,
    padding: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    groups: int,
    input_size: Sequence[int],
) -> torch.Tensor:
    """`weight` reordered once into oneDNN's layout for inputs of `input_size` (NCHW).

    The fused op takes it in place of the plain weight (for any input size: another size
    only costs a reorder). Returns `weight` itself where the reorder is unavailable."""
    reorder = getattr(torch._C._nn, "mkldnn_reorder_conv2d_weight", None)
    if reorder is None or not weight.is_contiguous(memory_format=torch.channels_last):
        return weight
    try:
        return reorder(
            weight.to_mkldnn(),
            list(padding),
            list(stride),
            list(dilation),
            groups,
            list(input_size),
        )
    except RuntimeError:  # a layout oneDNN refuses: the plain weight works everywhere
        return weight


def conv_post_ops(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    stride: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int],
    groups: int,
    activation: str,
    other: torch.Tensor | None = None,
    plain_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """activation(conv2d(x, weight, bias) [+ other]) on NCHW views, in one oneDNN call
    where `fused_available`; else with `plain_weight` (when `weight` is prepacked) and
    separate ops. `activation` is a key of UNARY."""
    attr, scalars, fn = UNARY[activation]
    if fused_available(x, plain_weight if plain_weight is not None else weight):
        args = (list(padding), list(stride), list(dilation), groups)
        if other is None:
            return _op()(x, weight, bias, *args, attr, scalars, None)
        if attr not in ("none", "relu"):  # oneDNN fuses only a ReLU after the add
            return fn(_op().binary(x, other, weight, bias, *args, "add", None, None, [None], None))
        unary = None if attr == "none" else attr
        return _op().binary(x, other, weight, bias, *args, "add", None, unary, scalars, None)
    w = plain_weight if plain_weight is not None else weight
    out = F.conv2d(x, w, bias, tuple(stride), tuple(padding), tuple(dilation), groups)
    if other is not None:
        out = out + other
    return fn(out)


def version_key(tensors: Sequence[torch.Tensor]) -> tuple | None:
    """A key that changes whenever one of `tensors` is replaced or written in place.

    It holds each tensor's identity, data pointer and autograd version counter (bumped
    by every in-place write: optimizer steps, `assign`, `set_weights`, loading). A tensor
    that is a window into a larger storage (e.g. an optimizer's flat buffer, written
    through another tensor whose counter it does not share) cannot be tracked: None."""
    key = []
    for t in tensors:
        if t.untyped_storage().nbytes() != t.numel() * t.element_size():
            return None
        key.append((id(t), t.data_ptr(), t._version))
    return tuple(key)
