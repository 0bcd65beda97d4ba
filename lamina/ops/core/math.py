"""Keras's special functions and reductions from `keras.ops.math`: erf, rsqrt, logsumexp, cdist, ..."""

from __future__ import annotations

from typing import Any

import torch

from lamina.ops.conversion import convert_to_tensor

__all__ = ["cdist", "erf", "erfc", "erfinv", "extract_sequences", "logdet", "logsumexp", "rsqrt"]


def erf(x: Any) -> torch.Tensor:
    """The error function, elementwise."""
    return torch.erf(convert_to_tensor(x))


def erfc(x: Any) -> torch.Tensor:
    """The complementary error function `1 - erf(x)`, accurate for large `x`."""
    return torch.erfc(convert_to_tensor(x))


def erfinv(x: Any) -> torch.Tensor:
    """The inverse error function, elementwise."""
    return torch.erfinv(convert_to_tensor(x))


def rsqrt(x: Any) -> torch.Tensor:
    """`1 / sqrt(x)`, elementwise."""
    return torch.rsqrt(convert_to_tensor(x))


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """`log(sum(exp(x)))` over `axis` (all axes when None), computed stably."""
    x = convert_to_tensor(x)
    dims = tuple(range(x.dim())) if axis is None else axis
    return torch.logsumexp(x, dim=dims, keepdim=keepdims)


def logdet(x: Any) -> torch.Tensor:
    """The log-determinant of (a batch of) square matrices."""
    return torch.logdet(convert_to_tensor(x))


def cdist(x: Any, y: Any) -> torch.Tensor:
    """Euclidean distances between the rows of `x` (..., n, d) and of `y` (..., m, d): (..., n, m)."""
    x = convert_to_tensor(x)
    y = convert_to_tensor(y)
    if x.dim() < 2 or y.dim() < 2:
        raise ValueError(
            f"Expected inputs of rank >= 2, received: x.ndim={x.dim()}, y.ndim={y.dim()}"
        )
    if x.shape[-1] != y.shape[-1]:
        raise ValueError(
            f"Expected equal last dimensions, received: x.shape={tuple(x.shape)}, y.shape={tuple(y.shape)}"
        )
    diff = x.unsqueeze(-2) - y.unsqueeze(-3)
    return torch.sqrt(torch.sum(diff * diff, dim=-1))


def extract_sequences(x: Any, sequence_length: int, sequence_stride: int) -> torch.Tensor:
    """Frames of `sequence_length` samples every `sequence_stride` along the last axis."""
    return convert_to_tensor(x).unfold(-1, sequence_length, sequence_stride).contiguous()
