"""Activation functions of `keras.ops.nn`, each on its torch kernel.

They take tensors, NumPy arrays or scalars and keep the input's float dtype. Keras's
defaults differ from torch's in places (`leaky_relu` slope 0.2, `gelu` tanh-approximate
by default) and are Keras's here.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina.ops.conversion import convert_to_tensor

__all__ = [
    "celu",
    "elu",
    "gelu",
    "glu",
    "hard_shrink",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "leaky_relu",
    "log_sigmoid",
    "log_softmax",
    "relu",
    "relu6",
    "selu",
    "sigmoid",
    "silu",
    "soft_shrink",
    "softmax",
    "softplus",
    "softsign",
    "sparse_plus",
    "sparse_sigmoid",
    "sparsemax",
    "squareplus",
    "swish",
    "tanh_shrink",
    "threshold",
]


def relu(x: Any) -> torch.Tensor:
    return F.relu(convert_to_tensor(x))


def relu6(x: Any) -> torch.Tensor:
    return F.relu6(convert_to_tensor(x))


def sigmoid(x: Any) -> torch.Tensor:
    return torch.sigmoid(convert_to_tensor(x))


def sparse_sigmoid(x: Any) -> torch.Tensor:
    """0 below -1, 1 above 1, linear (x + 1) / 2 between."""
    x = convert_to_tensor(x)
    zero = torch.zeros((), dtype=x.dtype, device=x.device)
    one = torch.ones((), dtype=x.dtype, device=x.device)
    return torch.where(x <= -1, zero, torch.where(x >= 1, one, 0.5 * (x + 1)))


def softplus(x: Any) -> torch.Tensor:
    return F.softplus(convert_to_tensor(x))


def softsign(x: Any) -> torch.Tensor:
    return F.softsign(convert_to_tensor(x))


def soft_shrink(x: Any, threshold: float = 0.5) -> torch.Tensor:
    """x - threshold above it, x + threshold below -threshold, else 0."""
    return F.softshrink(convert_to_tensor(x), lambd=threshold)


def hard_shrink(x: Any, threshold: float = 0.5) -> torch.Tensor:
    """x where |x| > threshold, else 0."""
    return F.hardshrink(convert_to_tensor(x), lambd=threshold)


def sparse_plus(x: Any) -> torch.Tensor:
    """0 below -1, x above 1, (x + 1)**2 / 4 between: a smooth ReLU."""
    x = convert_to_tensor(x)
    return torch.where(x <= -1, torch.zeros_like(x), torch.where(x < 1, 0.25 * (x + 1) ** 2, x))


def silu(x: Any) -> torch.Tensor:
    """x * sigmoid(x), also called swish."""
    return F.silu(convert_to_tensor(x))


swish = silu


def squareplus(x: Any, b: float = 4) -> torch.Tensor:
    """(x + sqrt(x**2 + b)) / 2: a smooth ReLU with hinge width `b`."""
    x = convert_to_tensor(x)
    return (x + torch.sqrt(x**2 + convert_to_tensor(b))) / 2


def log_sigmoid(x: Any) -> torch.Tensor:
    return F.logsigmoid(convert_to_tensor(x))


def leaky_relu(x: Any, negative_slope: float = 0.2) -> torch.Tensor:
    """Keras's default slope is 0.2 (torch's is 0.01)."""
    return F.leaky_relu(convert_to_tensor(x), negative_slope=negative_slope)


def hard_sigmoid(x: Any) -> torch.Tensor:
    """relu6(x + 3) / 6."""
    return F.hardsigmoid(convert_to_tensor(x))


def hard_silu(x: Any) -> torch.Tensor:
    """x * relu6(x + 3) / 6, also called hard swish."""
    return F.hardswish(convert_to_tensor(x))


hard_swish = hard_silu


def elu(x: Any, alpha: float = 1.0) -> torch.Tensor:
    return F.elu(convert_to_tensor(x), alpha)


def selu(x: Any) -> torch.Tensor:
    return F.selu(convert_to_tensor(x))


def gelu(x: Any, approximate: bool = True) -> torch.Tensor:
    """Gaussian error linear unit; the tanh approximation unless `approximate=False`."""
    return F.gelu(convert_to_tensor(x), approximate="tanh" if approximate else "none")


def celu(x: Any, alpha: float = 1.0) -> torch.Tensor:
    return F.celu(convert_to_tensor(x), alpha=alpha)


def glu(x: Any, axis: int = -1) -> torch.Tensor:
    """Gated linear unit: the first half of `axis` times the sigmoid of the second half."""
    x = convert_to_tensor(x)
    if x.shape[axis] % 2:
        raise ValueError(
            f"Expected an even size along axis {axis}, received: x.shape={tuple(x.shape)}"
        )
    return F.glu(x, dim=axis)


def tanh_shrink(x: Any) -> torch.Tensor:
    """x - tanh(x)."""
    return F.tanhshrink(convert_to_tensor(x))


def hard_tanh(x: Any) -> torch.Tensor:
    """x clipped to [-1, 1]."""
    return F.hardtanh(convert_to_tensor(x), min_val=-1.0, max_val=1.0)


def threshold(x: Any, threshold: float, default_value: float) -> torch.Tensor:
    """x where x > threshold, else `default_value`."""
    return F.threshold(convert_to_tensor(x), threshold, default_value)


def _normalized(x: Any, axis: Any, fn: Any) -> torch.Tensor:
    """softmax/log_softmax over one axis, all axes (None) or several (a tuple)."""
    x = convert_to_tensor(x)
    dtype = x.dtype
    if dtype == torch.float16 and x.device.type == "cpu":
        x = x.float()
    if axis is None:
        out = fn(x.reshape(-1), dim=-1).reshape(x.shape)
    elif isinstance(axis, (tuple, list)):
        axes = [a % x.ndim for a in axis]
        keep = [d for d in range(x.ndim) if d not in axes]
        moved = x.permute((*keep, *axes))
        out = fn(moved.reshape((*moved.shape[: len(keep)], -1)), dim=-1).reshape(moved.shape)
        order = keep + axes
        out = out.permute(tuple(sorted(range(x.ndim), key=order.__getitem__)))
    else:
        out = fn(x, dim=axis)
    return out.to(dtype) if out.dtype != dtype and dtype.is_floating_point else out


def softmax(x: Any, axis: Any = -1) -> torch.Tensor:
    """exp(x) / sum(exp(x)) along `axis` (an int, a tuple of axes, or None for all)."""
    return _normalized(x, axis, torch.softmax)


def log_softmax(x: Any, axis: Any = -1) -> torch.Tensor:
    """x - logsumexp(x) along `axis` (an int, a tuple of axes, or None for all)."""
    return _normalized(x, axis, torch.log_softmax)


def sparsemax(x: Any, axis: int = -1) -> torch.Tensor:
    """The Euclidean projection of `x` onto the simplex along `axis`: a sparse softmax."""
    x = convert_to_tensor(x)
    ordered = torch.sort(x, dim=axis, descending=True).values
    cumulative = torch.cumsum(ordered, dim=axis)
    shape = [1] * x.ndim
    shape[axis] = -1
    rank = torch.arange(1, x.shape[axis] + 1, dtype=x.dtype, device=x.device).reshape(shape)
    support = ordered - (cumulative - 1) / rank > 0
    k = support.sum(dim=axis, keepdim=True)
    kept = torch.where(support, cumulative, torch.zeros((), dtype=x.dtype, device=x.device))
    tau = (kept.sum(dim=axis, keepdim=True) - 1) / k
    return torch.clamp(x - tau, min=0.0)
