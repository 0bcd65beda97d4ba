"""Normalization ops of `keras.ops.nn`: moments, batch/layer/RMS normalization, normalize.

Layer and RMS normalization compute in at least float32 and return the input dtype;
over trailing axes they run torch's fused kernels.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
import torch.nn.functional as F

from lamina import config
from lamina.ops.conversion import convert_to_tensor
from lamina.ops.dtypes import result_type, to_torch_dtype

__all__ = [
    "batch_normalization",
    "layer_normalization",
    "moments",
    "normalize",
    "rms_normalization",
]


def _axes(axis: Any, ndim: int) -> list[int]:
    axes = [axis] if isinstance(axis, int) else list(axis)
    return sorted(a % ndim for a in axes)


def moments(
    x: Any, axes: Any, keepdims: bool = False, synchronized: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and (population) variance over `axes`; float16 computes in float32."""
    if synchronized:
        raise NotImplementedError(
            "Expected synchronized=False (no cross-replica moments on torch), "
            "received: synchronized=True"
        )
    x = convert_to_tensor(x)
    dtype = x.dtype
    if dtype == torch.float16:
        x = x.float()
    dims = _axes(axes, x.ndim)
    mean = torch.mean(x, dim=dims, keepdim=True)
    variance = torch.mean(torch.square(x), dim=dims, keepdim=True) - torch.square(mean)
    if not keepdims:
        mean, variance = mean.squeeze(dims), variance.squeeze(dims)
    if dtype == torch.float16:
        limit = torch.finfo(torch.float16).max
        mean = mean.clamp(-limit, limit).to(dtype)
        variance = variance.clamp(-limit, limit).to(dtype)
    return mean, variance


def batch_normalization(
    x: Any,
    mean: Any,
    variance: Any,
    axis: int,
    offset: Any = None,
    scale: Any = None,
    epsilon: float = 1e-3,
) -> torch.Tensor:
    """(x - mean) / sqrt(variance + epsilon) * scale + offset, with the 1-D statistics on `axis`."""
    x = convert_to_tensor(x)
    shape = [1] * x.ndim
    mean = convert_to_tensor(mean)
    shape[axis] = mean.shape[0]
    mean = mean.reshape(shape)
    inv = torch.rsqrt(convert_to_tensor(variance).reshape(shape) + epsilon)
    if scale is not None:
        inv = inv * convert_to_tensor(scale).reshape(shape)
    out = (x - mean) * inv
    if offset is not None:
        out = out + convert_to_tensor(offset).reshape(shape)
    return out


def _trailing(axes: list[int], ndim: int) -> bool:
    return axes == list(range(ndim - len(axes), ndim))


def layer_normalization(
    x: Any,
    gamma: Any = None,
    beta: Any = None,
    axis: Any = -1,
    epsilon: float | None = None,
    **kwargs: Any,
) -> torch.Tensor:
    """Normalize over `axis` to zero mean and unit variance, then scale by `gamma` and shift
    by `beta`. The deprecated `rms_scaling=True` divides by the standard deviation only."""
    rms_scaling = kwargs.pop("rms_scaling", False)
    if kwargs:
        raise TypeError(f"Expected no other keyword arguments, received: {sorted(kwargs)}")
    if rms_scaling:
        warnings.warn(
            "rms_scaling=True is deprecated (it scales by the variance, not the root mean "
            "square); use rms_normalization instead.",
            stacklevel=2,
        )
    eps = config.epsilon() if epsilon is None else epsilon
    x = convert_to_tensor(x)
    original = x.dtype
    x = x.to(to_torch_dtype(result_type(x.dtype, "float32")))
    axes = _axes(axis, x.ndim)
    shape = [x.shape[a] if a in axes else 1 for a in range(x.ndim)]

    def prepared(v: Any) -> torch.Tensor | None:
        if v is None:
            return None
        v = convert_to_tensor(v).to(x.dtype)
        return v if _trailing(axes, x.ndim) else v.reshape(shape)

    gamma, beta = prepared(gamma), prepared(beta)
    if rms_scaling:
        out = x * torch.rsqrt(torch.var(x, dim=axes, keepdim=True, correction=0) + eps)
        if gamma is not None:
            out = out * gamma
    elif _trailing(axes, x.ndim):
        out = F.layer_norm(x, [x.shape[a] for a in axes], gamma, beta, eps)
    else:
        mean, variance = moments(x, axes, keepdims=True)
        inv = torch.rsqrt(variance + eps)
        if gamma is not None:
            inv = inv * gamma
        out = (x - mean) * inv
        if beta is not None:
            out = out + beta
    return out.to(original)


def rms_normalization(
    x: Any, scale: Any = None, axis: Any = -1, epsilon: float | None = None
) -> torch.Tensor:
    """x / sqrt(mean(x**2) + epsilon) over `axis`, times `scale`."""
    eps = config.epsilon() if epsilon is None else epsilon
    x = convert_to_tensor(x)
    original = x.dtype
    x = x.to(to_torch_dtype(result_type(x.dtype, "float32")))
    if x.ndim == 0:
        x = x.reshape(1)
    axes = _axes(axis, x.ndim)
    weight = None if scale is None else convert_to_tensor(scale).to(x.dtype)
    if _trailing(axes, x.ndim):
        out = F.rms_norm(x, [x.shape[a] for a in axes], weight, eps)
    else:
        if weight is not None and weight.ndim != x.ndim:
            weight = weight.reshape([x.shape[a] if a in axes else 1 for a in range(x.ndim)])
        out = x * torch.rsqrt(torch.mean(torch.square(x), dim=axes, keepdim=True) + eps)
        if weight is not None:
            out = out * weight
    return out.to(original)


def normalize(x: Any, axis: int = -1, order: int = 2, epsilon: float | None = None) -> torch.Tensor:
    """x divided by its `order`-norm along `axis` (at least `epsilon`)."""
    if not isinstance(order, int) or order < 1:
        raise ValueError(f"Expected an int order >= 1, received: order={order!r}")
    eps = config.epsilon() if epsilon is None else epsilon
    x = convert_to_tensor(x)
    if x.ndim == 0:
        x = x.reshape(1)
    if order == 2:
        inv = torch.rsqrt(torch.sum(torch.square(x), dim=axis, keepdim=True))
        ceiling = torch.tensor(1.0 / eps, dtype=inv.dtype, device=inv.device)  # inf in float16
        return x * torch.minimum(inv, ceiling)
    norm = torch.linalg.vector_norm(x, ord=order, dim=axis, keepdim=True)
    return x / torch.clamp(norm, min=eps)
