"""Rank-generic (1D/2D/3D) helpers of channels-last spatial layers.

Lamina's spatial layers take channels-last inputs (Keras's default) and run
torch.nn.functional's channels-first kernels on a moved-axis *view*. 'same'
padding follows TensorFlow (and Keras): when the total padding of an axis is
odd the extra cell goes after; symmetric padding is left to the kernel.

    y = conv_nd(channels_first(x), weight, bias, (2, 2, 2), "same", (1, 1, 1))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from lamina.layers.convolutional import same_pads

CONV: dict[int, Callable[..., torch.Tensor]] = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
CONV_TRANSPOSE: dict[int, Callable[..., torch.Tensor]] = {
    1: F.conv_transpose1d,
    2: F.conv_transpose2d,
    3: F.conv_transpose3d,
}
MAX_POOL: dict[int, Callable[..., torch.Tensor]] = {
    1: F.max_pool1d,
    2: F.max_pool2d,
    3: F.max_pool3d,
}
AVG_POOL: dict[int, Callable[..., torch.Tensor]] = {
    1: F.avg_pool1d,
    2: F.avg_pool2d,
    3: F.avg_pool3d,
}


def channels_first(x: torch.Tensor) -> torch.Tensor:
    """(N, *spatial, C) -> (N, C, *spatial), a view."""
    return x.movedim(-1, 1)


def channels_last(x: torch.Tensor) -> torch.Tensor:
    """(N, C, *spatial) -> (N, *spatial, C), a view."""
    return x.movedim(1, -1)


def torch_pad_order(pairs: Sequence[tuple[int, int]]) -> list[int]:
    """Per-axis (before, after) pairs, first axis first, as F.pad's last-axis-first list."""
    flat: list[int] = []
    for before, after in reversed(pairs):
        flat += [before, after]
    return flat


def same_pairs(
    sizes: Sequence[int], kernel: Sequence[int], strides: Sequence[int], dilation: Sequence[int]
) -> list[tuple[int, int]]:
    """TensorFlow's 'same' (before, after) padding of each spatial axis."""
    return [same_pads(n, k, s, d) for n, k, s, d in zip(sizes, kernel, strides, dilation)]


def conv_nd(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    strides: Sequence[int],
    padding: str,
    dilation: Sequence[int],
    groups: int = 1,
) -> torch.Tensor:
    """Cross-correlation of a channels-first `x` with Keras's 'valid'/'same'/'causal' padding."""
    rank = x.dim() - 2
    pad_arg: int | tuple[int, ...] = 0
    if padding == "same":
        pairs = same_pairs(x.shape[2:], weight.shape[2:], strides, dilation)
        if all(a == b for a, b in pairs):
            pad_arg = tuple(a for a, _ in pairs)
        else:
            x = F.pad(x, torch_pad_order(pairs))
    elif padding == "causal":
        x = F.pad(x, ((weight.shape[2] - 1) * dilation[0], 0))
    return CONV[rank](x, weight, bias, tuple(strides), pad_arg, tuple(dilation), groups)


def pool_nd(
    x: torch.Tensor, kind: str, pool: Sequence[int], strides: Sequence[int], padding: str
) -> torch.Tensor:
    """Max or average pooling of a channels-first `x` with TensorFlow's padding rule.

    'same' max pooling never picks a padded cell; 'same' average pooling divides
    by the number of real cells in each window.
    """
    rank = x.dim() - 2
    pool, strides = tuple(pool), tuple(strides)
    pairs = [(0, 0)] * rank
    if padding == "same":
        pairs = same_pairs(x.shape[2:], pool, strides, (1,) * rank)
    if kind == "max":
        if any(a or b for a, b in pairs):
            x = F.pad(x, torch_pad_order(pairs), value=float("-inf"))
        return MAX_POOL[rank](x, pool, strides)
    if not any(a or b for a, b in pairs):
        return AVG_POOL[rank](x, pool, strides)
    flat = torch_pad_order(pairs)
    # (window sum / window size) / (real cells / window size): the window size cancels.
    means = AVG_POOL[rank](F.pad(x, flat), pool, strides)
    ones = x.new_ones((1, 1, *x.shape[2:]))
    real = AVG_POOL[rank](F.pad(ones, flat), pool, strides)
    return means / real
