"""Sampling images at arbitrary coordinates: `map_coordinates`, and the warps built on it
(`affine_transform`, `perspective_transform`, `elastic_transform`).

Interpolation is order 0 (nearest, rounding half to even) or 1 (linear). Out-of-range
neighbours are read by `fill_mode`: 'constant' (fill_value), 'nearest' (the edge),
'wrap' (a b c | a b c), 'mirror' (c b | a b c | b a) or 'reflect' (c b a | a b c | c b a),
one neighbour at a time, as SciPy's and Keras's map_coordinates do. Every output point is
gathered in one batched call per neighbour.
"""

from __future__ import annotations

import itertools
from typing import Any

import torch

from lamina.ops.conversion import convert_to_tensor
from lamina.ops.dtypes import result_type, to_torch_dtype
from lamina.ops.image.common import data_format as _data_format
from lamina.ops.image.common import error, from_nhwc, images_tensor, to_nhwc
from lamina.ops.image.filters import gaussian_blur

FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")
_ORDERS = {"nearest": 0, "bilinear": 1}


def _fix(index: torch.Tensor, size: int, fill_mode: str) -> torch.Tensor:
    """Integer indices mapped into [0, size) by `fill_mode` ('constant' clamps; masked later)."""
    if fill_mode == "wrap":
        return torch.remainder(index, size)
    if fill_mode == "mirror":
        span = max(size - 1, 1)
        return (torch.remainder(index + span, 2 * span) - span).abs().clamp(0, size - 1)
    if fill_mode == "reflect":
        period = torch.remainder(index, 2 * size)
        return torch.where(period >= size, 2 * size - 1 - period, period)
    return index.clamp(0, size - 1)


def _nodes(coord: torch.Tensor, order: int) -> list[tuple[torch.Tensor, Any]]:
    """[(integer index, weight), ...] of one coordinate array's interpolation nodes."""
    if order == 0:
        index = coord if not coord.is_floating_point() else torch.round(coord)
        return [(index.long(), 1)]
    if not coord.is_floating_point():
        coord = coord.to(torch.float32)
    lower = torch.floor(coord)
    upper_weight = coord - lower
    index = lower.long()
    return [(index, 1 - upper_weight), (index + 1, upper_weight)]


def _check_mode(op: str, order: int, fill_mode: str) -> None:
    if fill_mode not in FILL_MODES:
        raise error(op, f"fill_mode one of {FILL_MODES}", fill_mode=fill_mode)
    if order not in (0, 1):
        raise error(op, "order 0 (nearest) or 1 (linear)", order=order)


def _combine(values: torch.Tensor, integer: bool, dtype: torch.dtype) -> torch.Tensor:
    if integer and values.is_floating_point():
        values = torch.round(values)
    return values.to(dtype)


def map_coordinates(
    inputs: Any,
    coordinates: Any,
    order: int,
    fill_mode: str = "constant",
    fill_value: float = 0,
) -> torch.Tensor:
    """Sample `inputs` (rank n) at `coordinates`: n arrays of one shape S (or an array of
    shape (n, *S)), giving the index along each axis. Returns shape S, inputs' dtype."""
    _check_mode("map_coordinates", order, fill_mode)
    x = convert_to_tensor(inputs)
    if isinstance(coordinates, (list, tuple)):
        coords = [convert_to_tensor(c) for c in coordinates]
    else:
        coords = list(convert_to_tensor(coordinates).unbind(0))
    if len(coords) != x.dim():
        raise error(
            "map_coordinates",
            "one coordinate array per input axis",
            **{"inputs.shape": tuple(x.shape), "len(coordinates)": len(coords)},
        )
    if coords[0].dim() < 1:
        raise error("map_coordinates", "coordinates of rank >= 2", coordinates_rank=1)
    coords = [c.to(x.device) for c in torch.broadcast_tensors(*coords)]
    integer = not x.is_floating_point() and not x.is_complex()
    flat = x.reshape(-1)
    strides = [int(s) for s in torch.tensor(x.shape).flip(0).cumprod(0).flip(0)[1:].tolist()] + [1]
    per_axis = []
    for coord, size in zip(coords, x.shape):
        nodes = []
        for index, weight in _nodes(coord, order):
            valid = (index >= 0) & (index < size) if fill_mode == "constant" else None
            nodes.append((_fix(index, size, fill_mode), valid, weight))
        per_axis.append(nodes)
    out = None
    for combo in itertools.product(*per_axis):
        flat_index = sum(idx * stride for (idx, _, _), stride in zip(combo, strides))
        value = flat[flat_index]
        masks = [v for _, v, _ in combo if v is not None]
        if masks:
            valid = masks[0]
            for m in masks[1:]:
                valid = valid & m
            value = torch.where(valid, value, _fill(value, fill_value, integer))
        weight = combo[0][2]
        for _, _, w in combo[1:]:
            weight = weight * w
        term = weight * value
        out = term if out is None else out + term
    return _combine(out, integer, x.dtype)


def _fill(like: torch.Tensor, fill_value: Any, integer: bool) -> torch.Tensor:
    fill = int(fill_value) if integer and isinstance(fill_value, (int, float)) else fill_value
    return torch.as_tensor(fill, device=like.device).to(
        torch.promote_types(like.dtype, torch.as_tensor(fill).dtype)
    )


def sample_nhwc(
    images: torch.Tensor,
    y: torch.Tensor,
    x: torch.Tensor,
    order: int,
    fill_mode: str,
    fill_value: float,
) -> torch.Tensor:
    """(B, H, W, C) images read at per-image pixel coordinates y, x of shape (B, H', W'):
    every channel at the same point. Returns (B, H', W', C) in the images' dtype."""
    batch, height, width, channels = images.shape
    integer = not images.is_floating_point()
    flat = images.reshape(batch, height * width, channels)
    out_hw = y.shape[1:]
    rows = []
    for index, weight in _nodes(y, order):
        valid = (index >= 0) & (index < height) if fill_mode == "constant" else None
        rows.append((_fix(index, height, fill_mode), valid, weight))
    cols = []
    for index, weight in _nodes(x, order):
        valid = (index >= 0) & (index < width) if fill_mode == "constant" else None
        cols.append((_fix(index, width, fill_mode), valid, weight))
    out = None
    for (iy, vy, wy), (ix, vx, wx) in itertools.product(rows, cols):
        gather = (iy * width + ix).reshape(batch, -1, 1).expand(-1, -1, channels)
        value = flat.gather(1, gather).view(batch, *out_hw, channels)
        if vy is not None:
            value = torch.where((vy & vx).unsqueeze(-1), value, _fill(value, fill_value, integer))
        weight = wy * wx
        if isinstance(weight, torch.Tensor):
            weight = weight.unsqueeze(-1)
        term = weight * value
        out = term if out is None else out + term
    return _combine(out, integer, images.dtype)


def _interp(op: str, interpolation: str) -> int:
    if interpolation not in _ORDERS:
        raise error(op, f"interpolation one of {tuple(_ORDERS)}", interpolation=interpolation)
    return _ORDERS[interpolation]


def affine_transform(
    images: Any,
    transform: Any,
    interpolation: str = "bilinear",
    fill_mode: str = "constant",
    fill_value: float = 0,
    data_format: str | None = None,
) -> torch.Tensor:
    """Warp images by projective transforms [a0, a1, a2, b0, b1, b2, c0, c1] (one, or one
    per image) mapping each OUTPUT pixel (x, y) to the INPUT point
    ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k), k = c0 x + c1 y + 1."""
    fmt = _data_format("affine_transform", data_format)
    order = _interp("affine_transform", interpolation)
    _check_mode("affine_transform", order, fill_mode)
    x = images_tensor("affine_transform", images)
    t = convert_to_tensor(transform)
    if t.dim() not in (1, 2) or t.shape[-1] != 8:
        raise error(
            "affine_transform",
            "transform of shape (8,) or (batch, 8)",
            **{"transform.shape": tuple(t.shape)},
        )
    nhwc, unbatched = to_nhwc(x, fmt)
    batch, height, width, _ = nhwc.shape
    t = t.to(nhwc.device).reshape(-1, 8).expand(batch, 8)
    if not t.is_floating_point():
        t = t.to(torch.float32)
    ys = torch.arange(height, dtype=t.dtype, device=t.device).view(1, height, 1)
    xs = torch.arange(width, dtype=t.dtype, device=t.device).view(1, 1, width)
    a0, a1, a2, b0, b1, b2, c0, c1 = (t[:, i].view(batch, 1, 1) for i in range(8))
    k = c0 * xs + c1 * ys + 1.0
    x_in = (a0 * xs + a1 * ys + a2) / k
    y_in = (b0 * xs + b1 * ys + b2) / k
    out = sample_nhwc(nhwc, y_in, x_in, order, fill_mode, fill_value)
    return from_nhwc(out, fmt, unbatched)


def compute_homography_matrix(start_points: torch.Tensor, end_points: torch.Tensor) -> torch.Tensor:
    """(B, 8) projective coefficients mapping each end quad onto its start quad."""
    dtype = to_torch_dtype(result_type(start_points.dtype, end_points.dtype, float))
    compute = torch.promote_types(dtype, torch.float32)
    s, e = start_points.to(compute), end_points.to(compute)
    zeros, ones = torch.zeros_like(e[:, 0, 0]), torch.ones_like(e[:, 0, 0])
    rows = []
    for i in range(4):
        ex, ey, sx, sy = e[:, i, 0], e[:, i, 1], s[:, i, 0], s[:, i, 1]
        rows.append(torch.stack([ex, ey, ones, zeros, zeros, zeros, -sx * ex, -sx * ey], -1))
        rows.append(torch.stack([zeros, zeros, zeros, ex, ey, ones, -sy * ex, -sy * ey], -1))
    a = torch.stack(rows, dim=1)
    b = s.reshape(-1, 8, 1)
    return torch.linalg.solve(a, b).reshape(-1, 8).to(dtype)


def perspective_transform(
    images: Any,
    start_points: Any,
    end_points: Any,
    interpolation: str = "bilinear",
    fill_value: float = 0,
    data_format: str | None = None,
) -> torch.Tensor:
    """Warp images so that the quad `start_points` (4 (x, y) corners, or (B, 4, 2)) lands on
    `end_points`; outside reads `fill_value`."""
    fmt = _data_format("perspective_transform", data_format)
    order = _interp("perspective_transform", interpolation)
    x = images_tensor("perspective_transform", images)
    sp = convert_to_tensor(start_points, dtype=x.dtype).to(x.device)
    ep = convert_to_tensor(end_points, dtype=x.dtype).to(x.device)
    for name, p in (("start_points", sp), ("end_points", ep)):
        if tuple(p.shape[-2:]) != (4, 2) or p.dim() not in (2, 3):
            raise error(
                "perspective_transform",
                f"{name} of shape (4, 2) or (batch, 4, 2)",
                **{f"{name}.shape": tuple(p.shape)},
            )
    if sp.shape != ep.shape:
        raise error(
            "perspective_transform",
            "start_points and end_points of one shape",
            start_points_shape=tuple(sp.shape),
            end_points_shape=tuple(ep.shape),
        )
    nhwc, unbatched = to_nhwc(x, fmt)
    batch, height, width, _ = nhwc.shape
    coeffs = compute_homography_matrix(sp.reshape(-1, 4, 2), ep.reshape(-1, 4, 2))
    coeffs = coeffs.expand(batch, 8)
    ys = torch.arange(height, dtype=x.dtype, device=x.device).view(1, height, 1)
    xs = torch.arange(width, dtype=x.dtype, device=x.device).view(1, 1, width)
    a0, a1, a2, a3, a4, a5, a6, a7 = (coeffs[:, i].view(batch, 1, 1) for i in range(8))
    denom = a6 * xs + a7 * ys + 1.0
    x_in = (a0 * xs + a1 * ys + a2) / denom
    y_in = (a3 * xs + a4 * ys + a5) / denom
    out = sample_nhwc(nhwc, y_in, x_in, order, "constant", fill_value)
    return from_nhwc(out, fmt, unbatched)


def elastic_transform(
    images: Any,
    alpha: float = 20.0,
    sigma: float = 5.0,
    interpolation: str = "bilinear",
    fill_mode: str = "reflect",
    fill_value: float = 0.0,
    seed: int | torch.Generator | None = None,
    data_format: str | None = None,
) -> torch.Tensor:
    """Displace each pixel by Gaussian noise smoothed with a Gaussian of `sigma` and scaled
    by `alpha`, then resample. `seed`: an int or a torch.Generator (None: torch's global
    generator, in the same order of draws as Keras's torch backend)."""
    fmt = _data_format("elastic_transform", data_format)
    order = _interp("elastic_transform", interpolation)
    _check_mode("elastic_transform", order, fill_mode)
    x = images_tensor("elastic_transform", images)
    nhwc, unbatched = to_nhwc(x, fmt)
    batch, height, width, _ = nhwc.shape
    sigma, alpha = float(sigma), float(alpha)
    size = int(6 * sigma) | 1
    if isinstance(seed, int) and not isinstance(seed, bool):
        seed = torch.Generator(device=x.device).manual_seed(seed)
    noise_dtype = x.dtype if x.is_floating_point() else torch.float32
    device = seed.device if isinstance(seed, torch.Generator) else x.device
    shifts = []
    for _ in range(2):
        n = torch.normal(
            0.0, 1.0, (batch, height, width, 1), generator=seed, dtype=noise_dtype, device=device
        ).to(x.device)
        n = gaussian_blur(n * sigma, (size, size), (sigma, sigma), "channels_last")
        shifts.append(n[..., 0])
    dx, dy = shifts
    xs = torch.arange(width, device=x.device).view(1, 1, width)
    ys = torch.arange(height, device=x.device).view(1, height, 1)
    out = sample_nhwc(nhwc, ys + alpha * dy, xs + alpha * dx, order, fill_mode, fill_value)
    return from_nhwc(out, fmt, unbatched)


__all__ = [
    "affine_transform",
    "elastic_transform",
    "map_coordinates",
    "perspective_transform",
]
