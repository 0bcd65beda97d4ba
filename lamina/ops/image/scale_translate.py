"""`scale_and_translate`: resampling along chosen axes with a scale and an offset per axis,
through separable kernel weight matrices (JAX's `jax.image.scale_and_translate` rule).

Output pixel centre i + 0.5 reads input position ((i + 0.5) - translation) / scale;
with antialias the kernel widens by 1 / scale when downsampling.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from lamina.ops.conversion import convert_to_tensor
from lamina.ops.dtypes import is_int_dtype, result_type, standardize_dtype, to_torch_dtype
from lamina.ops.image.common import error

METHODS = (
    "linear",
    "bilinear",
    "trilinear",
    "cubic",
    "bicubic",
    "tricubic",
    "lanczos3",
    "lanczos5",
)
_EPS32 = float(torch.finfo(torch.float32).eps)


def _triangle(x: torch.Tensor) -> torch.Tensor:
    return (1.0 - x.abs()).clamp(min=0.0)


def _keys_cubic(x: torch.Tensor) -> torch.Tensor:
    inner = ((1.5 * x - 2.5) * x) * x + 1.0
    outer = ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0
    out = torch.where(x >= 1.0, outer, inner)
    return torch.where(x >= 2.0, 0.0, out)


def _lanczos(radius: float, x: torch.Tensor) -> torch.Tensor:
    y = radius * torch.sin(math.pi * x) * torch.sin(math.pi * x / radius)
    safe = torch.where(x != 0, math.pi**2 * x**2, 1.0)
    out = torch.where(x > 1e-3, y / safe, 1.0)
    return torch.where(x > radius, 0.0, out)


def _kernel(method: str):
    if method in ("linear", "bilinear", "trilinear"):
        return _triangle
    if method in ("cubic", "bicubic", "tricubic"):
        return _keys_cubic
    radius = 3.0 if method == "lanczos3" else 5.0
    return lambda x: _lanczos(radius, x)


def _weights(
    in_size: int, out_size: int, scale: torch.Tensor, shift: torch.Tensor, kernel, antialias: bool
) -> torch.Tensor:
    """(in_size, out_size) resampling weights for one axis."""
    inv = 1.0 / scale
    widen = torch.clamp(inv, min=1.0) if antialias else 1.0
    sample = (torch.arange(out_size, dtype=scale.dtype, device=scale.device) + 0.5) * inv
    sample = sample - shift * inv - 0.5
    grid = torch.arange(in_size, dtype=scale.dtype, device=scale.device)[:, None]
    w = kernel((sample[None, :] - grid).abs() / widen)
    total = w.sum(dim=0, keepdim=True)
    w = torch.where(total.abs() > 1000.0 * _EPS32, w / torch.where(total != 0, total, 1.0), 0.0)
    inside = (sample >= -0.5) & (sample <= in_size - 0.5)
    return torch.where(inside[None, :], w, 0.0)


def scale_and_translate(
    images: Any,
    output_shape: Any,
    scale: Any,
    translation: Any,
    spatial_dims: Any,
    method: str,
    antialias: bool = True,
) -> torch.Tensor:
    """Resample `images` to `output_shape` along `spatial_dims`, with one scale and one
    translation per spatial axis. Integer images are rounded and clipped to their range."""
    if method not in METHODS:
        raise error("scale_and_translate", f"method one of {METHODS}", method=method)
    x = convert_to_tensor(images)
    s, t = convert_to_tensor(scale), convert_to_tensor(translation)
    dtype = to_torch_dtype(result_type(s.dtype, t.dtype))
    s, t = s.to(dtype=dtype, device=x.device), t.to(dtype=dtype, device=x.device)
    kernel = _kernel(method)
    dims = list(spatial_dims)
    if not dims:
        return x
    integer = is_int_dtype(standardize_dtype(x.dtype))
    out = x.to(torch.float32) if integer else x.clone()
    for i, d in enumerate(dims):
        d = d % x.dim()
        w = _weights(x.shape[d], int(output_shape[d]), s[i], t[i], kernel, antialias)
        out = torch.tensordot(out, w.to(out.dtype), dims=([d], [0])).movedim(-1, d)
    if integer:
        out = torch.clamp(torch.round(out), x.min(), x.max()).to(x.dtype)
    return out


__all__ = ["scale_and_translate"]
