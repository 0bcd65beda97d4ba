"""Per-sample losses of `keras.ops.nn`: binary, categorical and sparse categorical
crossentropy, and the PSNR image metric.

Probabilities are clipped to [epsilon, 1 - epsilon] (Keras's fuzz factor) before the log;
logits go through torch's fused, stable kernels.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina import config
from lamina.ops.conversion import convert_to_tensor

__all__ = [
    "binary_crossentropy",
    "categorical_crossentropy",
    "psnr",
    "sparse_categorical_crossentropy",
]


def _same_shape(target: torch.Tensor, output: torch.Tensor) -> None:
    if target.shape != output.shape:
        raise ValueError(
            "Expected target and output of the same shape, received: "
            f"target.shape={tuple(target.shape)}, output.shape={tuple(output.shape)}"
        )


def binary_crossentropy(target: Any, output: Any, from_logits: bool = False) -> torch.Tensor:
    """Element-wise -(t log p + (1 - t) log(1 - p))."""
    target = convert_to_tensor(target)
    output = convert_to_tensor(output)
    _same_shape(target, output)
    if from_logits:
        return F.binary_cross_entropy_with_logits(output, target, reduction="none")
    eps = config.epsilon()
    return F.binary_cross_entropy(output.clamp(eps, 1.0 - eps), target, reduction="none")


def categorical_crossentropy(
    target: Any, output: Any, from_logits: bool = False, axis: int = -1
) -> torch.Tensor:
    """-sum(t log p) along `axis`; probabilities are renormalized to sum to 1 first."""
    target = convert_to_tensor(target)
    output = convert_to_tensor(output)
    _same_shape(target, output)
    if target.ndim < 1:
        raise ValueError(
            f"Expected target and output of rank >= 1, received: shape={tuple(target.shape)}"
        )
    if from_logits:
        log_prob = F.log_softmax(output, dim=axis)
    else:
        eps = config.epsilon()
        output = output / torch.sum(output, dim=axis, keepdim=True)
        log_prob = torch.log(output.clamp(eps, 1.0 - eps))
    return -torch.sum(target * log_prob, dim=axis)


def sparse_categorical_crossentropy(
    target: Any, output: Any, from_logits: bool = False, axis: int = -1
) -> torch.Tensor:
    """Categorical crossentropy with integer class targets (no one-hot matrix is built)."""
    target = convert_to_tensor(target).long()
    output = convert_to_tensor(output)
    if output.ndim < 1:
        raise ValueError(f"Expected output of rank >= 1, received: shape={tuple(output.shape)}")
    if target.ndim == output.ndim and target.shape[axis] == 1:
        target = target.squeeze(axis)
    expected = list(output.shape)
    del expected[axis]
    if list(target.shape) != expected:
        raise ValueError(
            "Expected target of output's shape without the class axis, received: "
            f"target.shape={tuple(target.shape)}, output.shape={tuple(output.shape)}"
        )
    squeeze = output.ndim == 1
    if squeeze:
        output, target = output.unsqueeze(0), target.unsqueeze(0)
    else:
        output = output.movedim(axis % output.ndim, 1)
    if from_logits:
        loss = F.cross_entropy(output, target, reduction="none")
    else:
        eps = config.epsilon()
        output = output / torch.sum(output, dim=1, keepdim=True)
        loss = F.nll_loss(torch.log(output.clamp(eps, 1.0 - eps)), target, reduction="none")
    return loss.squeeze(0) if squeeze else loss


def psnr(x1: Any, x2: Any, max_val: Any) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB: 20 log10(max_val) - 10 log10(mean((x1 - x2)**2))."""
    x1 = convert_to_tensor(x1)
    x2 = convert_to_tensor(x2)
    if x1.shape != x2.shape:
        raise ValueError(
            "Expected x1 and x2 of the same shape, received: "
            f"x1.shape={tuple(x1.shape)}, x2.shape={tuple(x2.shape)}"
        )
    peak = convert_to_tensor(max_val, x1.dtype)
    mse = torch.mean((x1 - x2) ** 2)
    return 20 * torch.log10(peak) - 10 * torch.log10(mse)
