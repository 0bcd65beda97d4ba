"""Convolutions of `keras.ops.nn`: conv, depthwise_conv, separable_conv, conv_transpose.

Inputs are channels_last by default and kernels Keras-shaped, (*spatial, in, out) (for
depthwise: (*spatial, in, multiplier)). 'same' padding follows TensorFlow: the extra
pixel of an odd total goes after, applied explicitly when torch's symmetric padding
cannot express it.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina.ops.conversion import convert_to_tensor
from lamina.ops.nn.spatial import (
    data_format_of,
    pad_same,
    same_pads,
    spatial_rank,
    to_channels_first,
    to_channels_last,
    torch_kernel,
    tuple_of,
)

__all__ = ["conv", "conv_transpose", "depthwise_conv", "separable_conv"]

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


def _check_padding(padding: str) -> str:
    mode = padding.lower()
    if mode not in ("valid", "same"):
        raise ValueError(f"Expected padding 'valid' or 'same', received: padding={padding!r}")
    return mode


def conv(
    inputs: Any,
    kernel: Any,
    strides: Any = 1,
    padding: str = "valid",
    data_format: str | None = None,
    dilation_rate: Any = 1,
) -> torch.Tensor:
    """N-D convolution; a kernel with fewer input channels than the input makes it grouped."""
    x = convert_to_tensor(inputs)
    w = convert_to_tensor(kernel)
    n = spatial_rank(x, "conv")
    strides = tuple_of(strides, n, "strides")
    dilation = tuple_of(dilation_rate, n, "dilation_rate")
    fmt = data_format_of(data_format)
    if fmt == "channels_last":
        x = to_channels_first(x)
    w = torch_kernel(w)
    if x.shape[1] % w.shape[1]:
        raise ValueError(
            f"Expected input channels ({x.shape[1]}) divisible by the kernel's input "
            f"channels ({w.shape[1]}), received: kernel.shape={tuple(kernel.shape)}"
        )
    groups = x.shape[1] // w.shape[1]
    pad: Any = 0
    if _check_padding(padding) == "same":
        x, pad = pad_same(x, same_pads(x.shape[2:], w.shape[2:], strides, dilation))
    out = _CONV[n](x, w, stride=strides, padding=pad, dilation=dilation, groups=groups)
    return to_channels_last(out) if fmt == "channels_last" else out


def _check_depthwise(x: torch.Tensor, kernel: torch.Tensor, fmt: str) -> None:
    channels = x.shape[-1] if fmt == "channels_last" else x.shape[1]
    if kernel.shape[-2] != channels:
        raise ValueError(
            f"Expected the kernel's input channels ({kernel.shape[-2]}) to equal the input's "
            f"({channels}), received: kernel.shape={tuple(kernel.shape)}"
        )


def depthwise_conv(
    inputs: Any,
    kernel: Any,
    strides: Any = 1,
    padding: str = "valid",
    data_format: str | None = None,
    dilation_rate: Any = 1,
) -> torch.Tensor:
    """Each input channel convolved with its own `multiplier` filters."""
    fmt = data_format_of(data_format)
    x = convert_to_tensor(inputs)
    w = convert_to_tensor(kernel)
    _check_depthwise(x, w, fmt)
    w = w.reshape(*w.shape[:-2], 1, w.shape[-2] * w.shape[-1])
    return conv(x, w, strides, padding, fmt, dilation_rate)


def separable_conv(
    inputs: Any,
    depthwise_kernel: Any,
    pointwise_kernel: Any,
    strides: Any = 1,
    padding: str = "valid",
    data_format: str | None = None,
    dilation_rate: Any = 1,
) -> torch.Tensor:
    """A depthwise convolution followed by a 1x1 pointwise one mixing the channels."""
    fmt = data_format_of(data_format)
    x = convert_to_tensor(inputs)
    depthwise = convert_to_tensor(depthwise_kernel)
    _check_depthwise(x, depthwise, fmt)
    mid = depthwise_conv(x, depthwise, strides, padding, fmt, dilation_rate)
    return conv(mid, pointwise_kernel, 1, "valid", fmt, dilation_rate)


def _transpose_crops(
    kernel: int, stride: int, dilation: int, padding: str, output_padding: int | None
) -> tuple[int, int]:
    """How much to cut (negative: add) at each end of torch's full transposed output so its
    size is Keras's: (in - 1) * s + max(k, s) for 'valid', in * s for 'same', plus any
    output_padding (which goes after)."""
    k = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(k, stride) - k if output_padding is None else output_padding
        before, after = k - 1, k - 1 + extra
    else:
        total = stride + k - 2 if output_padding is None else k + k % 2 - 2 + output_padding
        before = min(total // 2 + total % 2, k - 1)
        after = total - before
    return (k - 1) - before, (k - 1) - after


def conv_transpose(
    inputs: Any,
    kernel: Any,
    strides: Any = 1,
    padding: str = "valid",
    output_padding: Any = None,
    data_format: str | None = None,
    dilation_rate: Any = 1,
) -> torch.Tensor:
    """The gradient of `conv` with respect to its input (a 'deconvolution'); the kernel is
    (*spatial, out_channels, in_channels) as in Keras."""
    x = convert_to_tensor(inputs)
    w = convert_to_tensor(kernel)
    n = spatial_rank(x, "conv_transpose")
    strides = tuple_of(strides, n, "strides")
    dilation = tuple_of(dilation_rate, n, "dilation_rate")
    extras = [None] * n if output_padding is None else tuple_of(output_padding, n, "output_padding")
    mode = _check_padding(padding)
    fmt = data_format_of(data_format)
    channels = x.shape[-1] if fmt == "channels_last" else x.shape[1]
    if w.shape[-1] != channels:
        raise ValueError(
            f"Expected the kernel's last axis ({w.shape[-1]}) to equal the input channels "
            f"({channels}), received: kernel.shape={tuple(w.shape)}"
        )
    if fmt == "channels_last":
        x = to_channels_first(x)
    crops = [
        _transpose_crops(w.shape[i], strides[i], dilation[i], mode, extras[i]) for i in range(n)
    ]
    # Keras (*spatial, out, in) is torch's transposed-conv layout (in, out, *spatial).
    w = w.permute(n + 1, n, *range(n))
    out = _CONV_T[n](x, w, stride=strides, dilation=dilation)
    index = [slice(None), slice(None)]
    index += [slice(max(0, a), out.shape[2 + i] - max(0, b)) for i, (a, b) in enumerate(crops)]
    out = out[tuple(index)]
    if any(a < 0 or b < 0 for a, b in crops):
        grow = [(max(0, -a), max(0, -b)) for a, b in crops]
        flat: list[int] = []
        for before, after in reversed(grow):
            flat += [before, after]
        out = F.pad(out, flat)
    return to_channels_last(out) if fmt == "channels_last" else out
