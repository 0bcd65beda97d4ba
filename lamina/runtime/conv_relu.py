"""Convolution with a fused ReLU for eager CPU steps (oneDNN's post-op).

`Conv2D(..., activation="relu")` is the courses' building block. Run eagerly, it
writes the convolution's output and then reads it again for the ReLU, a pass
over tensors of ten megabytes per layer in the courses' CNN. oneDNN applies the
ReLU as the convolution writes (`mkldnn._convolution_pointwise`, the op Inductor
uses for inference). Its backward is PyTorch's own: the ReLU's mask from the
saved output, then `aten.convolution_backward`, so gradients are bit-identical
to `relu(conv2d(x))`. Compiled steps do not use it: Inductor fuses the ReLU itself.
The op is a private name: where a torch build lacks it, `fused_relu_available` is
False and `conv2d_relu` computes `relu(F.conv2d(...))`.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F


def _pointwise_op() -> Any:
    """oneDNN's convolution with a post-op, or None where this torch has none."""
    return getattr(torch.ops.mkldnn, "_convolution_pointwise", None)


def fused_relu_available(x: torch.Tensor, weight: torch.Tensor) -> bool:
    """True where the fused op exists and applies: eager, CPU, float32, no autocast."""
    return (
        x.device.type == "cpu"
        and x.dtype == torch.float32
        and weight.dtype == torch.float32
        and not torch.compiler.is_compiling()
        and not torch.is_autocast_enabled("cpu")
        and torch.backends.mkldnn.is_available()
        and _pointwise_op() is not None
    )


def _forward(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    stride: list[int],
    padding: list[int],
    dilation: list[int],
    groups: int,
) -> torch.Tensor:
    return _pointwise_op()(x, weight, bias, padding, stride, dilation, groups, "relu", [None], None)


class _Conv2dReLU(torch.autograd.Function):
    """relu(conv2d(x, weight, bias)) in one oneDNN call; PyTorch's backward ops."""

    @staticmethod
    def forward(
        ctx: Any,
        x: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        stride: list[int],
        padding: list[int],
        dilation: list[int],
        groups: int,
    ) -> torch.Tensor:
        out = _forward(x, weight, bias, stride, padding, dilation, groups)
        ctx.save_for_backward(x, weight, out)
        ctx.conv_args = (stride, padding, dilation, groups, bias is not None)
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
        x, weight, out = ctx.saved_tensors
        stride, padding, dilation, groups, has_bias = ctx.conv_args
        grad = torch.ops.aten.threshold_backward(grad, out, 0)
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        gx, gw, gb = torch.ops.aten.convolution_backward(
            grad,
            x,
            weight,
            [weight.shape[0]] if has_bias else None,
            stride,
            padding,
            dilation,
            False,
            [0, 0],
            groups,
            [need_x, need_w, need_b and has_bias],
        )
        return gx, gw, gb if has_bias else None, None, None, None, None


def conv2d_relu(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    groups: int,
) -> torch.Tensor:
    """relu(F.conv2d(x, weight, bias, stride, padding, dilation, groups)), NCHW view in/out.

    The caller checks `fused_relu_available` first; without the op this is the unfused pair.
    """
    if _pointwise_op() is None:
        return torch.relu(F.conv2d(x, weight, bias, stride, padding, dilation, groups))
    args = (list(stride), list(padding), list(dilation), groups)
    needs_grad = torch.is_grad_enabled() and (
        x.requires_grad or weight.requires_grad or (bias is not None and bias.requires_grad)
    )
    if not needs_grad:
        return _forward(x, weight, bias, *args)
    return _Conv2dReLU.apply(x, weight, bias, *args)
