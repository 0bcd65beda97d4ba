"""Batched affine warps of NHWC images, and builders for the matrices they take.

A matrix maps OUTPUT pixel coordinates to INPUT coordinates (the TF/Keras transform
convention): `[x_in, y_in, 1]^T = M @ [x_out, y_out, 1]^T`, with x the column and y the
row, in pixels, pixel centres at 0..W-1 and 0..H-1. Builders return (B, 3, 3) matrices
that compose with `@`: in `A @ B`, B acts first on the output coordinates.

    m = rotation(angles, h, w) @ zoom(zx, zy, h, w)
    out = warp_affine(images, m, fill_mode="reflect")

Sampling gathers the neighbours of every output pixel in one batched call and applies
`fill_mode` to each neighbour's integer index, as Keras 3's `map_coordinates` does
(and as SciPy's `ndimage.map_coordinates` does). Unlike `F.grid_sample`, whose
normalised grid loses exactness to rounding, integer coordinates give the input pixels
bit for bit: the identity returns the input and flips are exact.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

FILL_MODES = ("constant", "nearest", "reflect", "wrap", "mirror")
INTERPOLATIONS = ("nearest", "bilinear")

# Coordinates this close to an integer are snapped to it, so that rotations by multiples
# of 90 degrees (cos = -4e-8 in float32) sample pixels exactly, as np.rot90 does.
_SNAP = 1e-4


def _error(where: str, expected: str, **received: object) -> ValueError:
    got = ", ".join(f"{k}={v!r}" for k, v in received.items())
    return ValueError(f"{where} (lamina/ops/warp.py): Expected {expected}, received: {got}")


def _floor(t: torch.Tensor) -> torch.Tensor:
    """floor(t) as int64. Truncation plus a correction: on a busy machine torch.floor and
    torch.round stalled for a scheduler quantum a call, where this does not."""
    i = t.long()
    return i - (t < i).long()


def _round(t: torch.Tensor) -> torch.Tensor:
    """Round half to even (as torch.round and jnp.round do), as int64."""
    r = _floor(t + 0.5)
    tie_odd = ((r - t) == 0.5) & (torch.remainder(r, 2) == 1)
    return r - tie_odd.long()


def _fix_index(index: torch.Tensor, size: int, fill_mode: str) -> torch.Tensor:
    """Map integer indices (any range) into [0, size) by `fill_mode` ('constant' clamps)."""
    if fill_mode == "wrap":  # a b c | a b c | a b c
        return torch.remainder(index, size)
    if fill_mode == "reflect":  # d c b a | a b c d | d c b a
        period = torch.remainder(index, 2 * size)
        return torch.where(period >= size, 2 * size - 1 - period, period)
    if fill_mode == "mirror" and size > 1:  # c b | a b c | b a
        span = size - 1
        return (torch.remainder(index + span, 2 * span) - span).abs()
    return index.clamp(0, size - 1)  # 'nearest' (edge); 'constant' masks these later


def _check(images: torch.Tensor, matrices: torch.Tensor, fill_mode: str, interp: str) -> None:
    where = "warp_affine"
    if fill_mode not in FILL_MODES:
        raise _error(where, f"fill_mode one of {FILL_MODES}", fill_mode=fill_mode)
    if interp not in INTERPOLATIONS:
        raise _error(where, f"interpolation one of {INTERPOLATIONS}", interpolation=interp)
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images)
        raise _error(where, "images of shape (batch, height, width, channels)", images=shape)
    if not images.is_floating_point():
        raise _error(
            where, "floating-point images (convert with .float())", images_dtype=images.dtype
        )
    if not isinstance(matrices, torch.Tensor) or matrices.dim() != 3:
        shape = tuple(matrices.shape) if isinstance(matrices, torch.Tensor) else type(matrices)
        raise _error(where, "matrices of shape (batch, 3, 3) or (batch, 2, 3)", matrices=shape)
    if tuple(matrices.shape[1:]) not in ((3, 3), (2, 3)) or matrices.shape[0] != images.shape[0]:
        raise _error(
            where,
            f"matrices of shape ({images.shape[0]}, 3, 3) or ({images.shape[0]}, 2, 3), "
            "one per image",
            matrices=tuple(matrices.shape),
        )
    if not matrices.is_floating_point():
        raise _error(where, "floating-point matrices", matrices_dtype=matrices.dtype)
    if matrices.device != images.device and matrices.device.type != "cpu":
        raise _error(
            where,
            "matrices on the images' device or on the CPU",
            images_device=str(images.device),
            matrices_device=str(matrices.device),
        )


def warp_affine(
    images: torch.Tensor,
    matrices: torch.Tensor,
    fill_mode: str = "nearest",
    fill_value: float = 0.0,
    interpolation: str = "bilinear",
) -> torch.Tensor:
    """Warp each image of (B, H, W, C) `images` by its (3, 3) or (2, 3) OUTPUT->INPUT matrix.

    fill_mode says what is read where sampling falls outside the image: 'constant'
    (`fill_value`), 'nearest' (the edge pixel), 'reflect' (d c b a | a b c d | d c b a),
    'wrap' (a b c d | a b c d) or 'mirror' (c b | a b c | b a). interpolation is
    'nearest' or 'bilinear'. Returns (B, H, W, C) in the images' dtype; differentiable
    with respect to the images. The matrices may stay on the CPU when the images are on an
    accelerator: the check for whole-pixel moves then needs no device sync.

    Inside torch.compile, when no gradient is needed (augmenting a model's inputs), the
    sampling is one opaque op running this eager code: Inductor's fused gather kernel took
    over a minute of C++ compilation on a 2-core machine and ran no faster.
    """
    _check(images, matrices, fill_mode, interpolation)
    if torch.compiler.is_compiling() and not (images.requires_grad or matrices.requires_grad):
        return _warp_op(images, matrices, fill_mode, float(fill_value), interpolation)
    return _warp(images, matrices, fill_mode, fill_value, interpolation)


@torch.library.custom_op("lamina::warp_affine", mutates_args=())
def _warp_op(
    images: torch.Tensor,
    matrices: torch.Tensor,
    fill_mode: str,
    fill_value: float,
    interpolation: str,
) -> torch.Tensor:
    # Contiguous NHWC, the strides the fake kernel below promises (grid_sample's output
    # comes back as a permuted NCHW tensor, which Inductor's stride check refuses).
    return _warp(images, matrices, fill_mode, fill_value, interpolation).contiguous()


@_warp_op.register_fake
def _(images, matrices, fill_mode, fill_value, interpolation):
    return images.new_empty(images.shape)


# fill modes whose per-neighbour rule grid_sample's padding reproduces (align_corners=False:
# 'reflection' reflects about the pixel edges, -0.5 and W - 0.5, which is Keras's 'reflect')
_GRID_SAMPLE_PADDING = {"nearest": "border", "constant": "zeros", "reflect": "reflection"}


def _grid_sample(
    images: torch.Tensor, m: torch.Tensor, fill_mode: str, fill_value: float
) -> torch.Tensor:
    """Bilinear sampling through the (B, 2, 3) output->input pixel matrices `m`, with one
    F.grid_sample kernel.

    Faster than gathering the four neighbours; results equal the gather path to float
    rounding (~1e-6), since normalised coordinates are not exact. The grid is written
    straight from the matrix with grid_sample's normalisation folded into its
    coefficients: two broadcast passes, cheaper than building pixel coordinates and
    then normalising them, or than `affine_grid`'s small-matrix bmm (figures in
    docs/design.md). 'constant' with a
    non-zero fill adds the fill times the weight that fell outside (grid_sample of ones),
    the per-neighbour rule.
    """
    batch, height, width, _ = images.shape
    xs = torch.arange(width, dtype=m.dtype, device=m.device).view(1, 1, width)
    ys = torch.arange(height, dtype=m.dtype, device=m.device).view(1, height, 1)
    grid = torch.empty((batch, height, width, 2), dtype=m.dtype, device=m.device)
    for i, size in ((0, width), (1, height)):
        # normalised = (2 * pixel + 1) / size - 1, pixel = m[i] @ (x, y, 1)
        a, b, c = (m[:, i, j].view(batch, 1, 1) for j in range(3))
        torch.add((2.0 / size) * a * xs, (2.0 / size) * b * ys + (2.0 * c + 1.0) / size - 1.0,
                  out=grid[..., i])  # fmt: skip
    grid = grid.to(images.dtype)
    nchw = images.permute(0, 3, 1, 2)
    padding = _GRID_SAMPLE_PADDING[fill_mode]
    out = F.grid_sample(nchw, grid, mode="bilinear", padding_mode=padding, align_corners=False)
    if fill_mode == "constant" and fill_value != 0.0:
        ones = torch.ones_like(nchw[:, :1])
        inside = F.grid_sample(
            ones, grid, mode="bilinear", padding_mode="zeros", align_corners=False
        )
        out = out + (1.0 - inside) * fill_value
    return out.permute(0, 2, 3, 1)


def _warp(
    images: torch.Tensor,
    matrices: torch.Tensor,
    fill_mode: str,
    fill_value: float,
    interpolation: str,
) -> torch.Tensor:
    """warp_affine's sampling (arguments already checked)."""
    batch, height, width, channels = images.shape
    # Coordinates in at least float32 (half-precision pixel positions are too coarse).
    coord_dtype = torch.promote_types(
        torch.promote_types(images.dtype, matrices.dtype), torch.float32
    )
    m = matrices[:, :2, :].to(device=images.device, dtype=coord_dtype)
    ys = torch.arange(height, dtype=coord_dtype, device=images.device).view(1, height, 1)
    xs = torch.arange(width, dtype=coord_dtype, device=images.device).view(1, 1, width)

    eager = not torch.compiler.is_compiling()  # traced: the gather path (no data-dependent branch)
    # (checks read the matrices where they are: on the CPU they cost the accelerator no sync)
    given = matrices[:, :2, :]
    # no rotation or shear (flips, zooms, shifts): x_in depends on x only and y_in on y
    # only, so coordinates, rounding and fill rules run on (B, 1, W) and (B, H, 1)
    separable = eager and bool((given[:, 0, 1] == 0).all() and (given[:, 1, 0] == 0).all())

    def row(i: int) -> torch.Tensor:  # m[:, i] @ [x, y, 1] for every output pixel: (B, H, W)
        a, b, c = (m[:, i, j].view(batch, 1, 1) for j in range(3))
        if separable:  # broadcastable (B, 1, W) for x, (B, H, 1) for y
            coord = (a * xs if i == 0 else b * ys) + c
        else:
            coord = a * xs + b * ys + c
        nearest = _round(coord).to(coord_dtype)
        return torch.where((coord - nearest).abs() < _SNAP, nearest, coord)

    # every matrix entry (near) an integer: identity, flips, quarter turns, whole-pixel
    # shifts; the snapped coordinates then copy pixels exactly (the gather path)
    integral = eager and bool(((given - torch.round(given)).abs() < _SNAP).all())
    if integral:
        interpolation = "nearest"
    elif eager and interpolation == "bilinear" and fill_mode in _GRID_SAMPLE_PADDING:
        return _grid_sample(images, m, fill_mode, fill_value)
    x_in, y_in = row(0), row(1)
    flat = images.reshape(batch, height * width, channels)

    def read(iy: torch.Tensor, ix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Pixels at integer (iy, ix) after fill_mode, and (for 'constant') inside-masks."""
        inside = None
        if fill_mode == "constant":
            inside = (iy >= 0) & (iy < height) & (ix >= 0) & (ix < width)
        fy, fx = _fix_index(iy, height, fill_mode), _fix_index(ix, width, fill_mode)
        flat_index = (fy * width + fx).expand(batch, height, width)
        index = flat_index.reshape(batch, height * width, 1).expand(-1, -1, channels)
        pixels = flat.gather(1, index).view(batch, height, width, channels)
        return pixels, None if inside is None else inside.unsqueeze(-1)

    if interpolation == "nearest":
        pixels, inside = read(_round(y_in), _round(x_in))
        if inside is not None:
            pixels = torch.where(inside, pixels, pixels.new_full((), fill_value))
        return pixels

    iy0, ix0 = _floor(y_in), _floor(x_in)
    wy1, wx1 = (y_in - iy0).unsqueeze(-1), (x_in - ix0).unsqueeze(-1)
    wy0, wx0 = 1.0 - wy1, 1.0 - wx1
    out = None
    outside_weight = None
    for iy, wy in ((iy0, wy0), (iy0 + 1, wy1)):
        for ix, wx in ((ix0, wx0), (ix0 + 1, wx1)):
            pixels, inside = read(iy, ix)
            weight = (wy * wx).to(images.dtype)
            if inside is not None:
                outside = torch.where(inside, 0.0, weight)
                weight = torch.where(inside, weight, 0.0)
                outside_weight = outside if outside_weight is None else outside_weight + outside
            term = weight * pixels
            out = term if out is None else out + term
    if outside_weight is not None and fill_value != 0.0:
        out = out + outside_weight * fill_value
    return out


# --------------------------------------------------------------------------- builders
def _as_float(t: torch.Tensor | float, like: torch.Tensor | None = None) -> torch.Tensor:
    t = torch.as_tensor(t, device=None if like is None else like.device)
    if not t.is_floating_point():
        t = t.to(torch.float32)
    return t.reshape(-1)


def _stack(rows: list[list[torch.Tensor | float]], like: torch.Tensor) -> torch.Tensor:
    """(B, 3, 3) from 3x3 entries that are (B,) tensors or scalars."""
    entries = [
        e if isinstance(e, torch.Tensor) else torch.full_like(like, float(e))
        for r in rows
        for e in r
    ]
    return torch.stack(entries, dim=-1).view(-1, 3, 3)


def _about_centre(m: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """C @ m @ C^-1: apply `m` about the image centre ((W-1)/2, (H-1)/2) instead of (0, 0)."""
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    ones = torch.ones(m.shape[0], dtype=m.dtype, device=m.device)
    return translation(-cx * ones, -cy * ones) @ m @ translation(cx * ones, cy * ones)


def identity(
    batch: int, device: torch.device | str | None = None, dtype=torch.float32
) -> torch.Tensor:
    """(B, 3, 3) identity matrices: the warp returns the input unchanged."""
    return torch.eye(3, device=device, dtype=dtype).expand(batch, 3, 3).clone()


def rotation(angles_rad: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Rotate content COUNTER-clockwise by `angles_rad` (B,) about the image centre.

    x_in = cos(a) (x - cx) - sin(a) (y - cy) + cx, y_in = sin(a) (x - cx) + cos(a) (y - cy) + cy:
    +pi/2 gives np.rot90(img, k=1) on a square image (Keras RandomRotation's positive sense).
    """
    a = _as_float(angles_rad)
    c, s = torch.cos(a), torch.sin(a)
    return _about_centre(_stack([[c, -s, 0], [s, c, 0], [0, 0, 1]], a), height, width)


def translation(dx: torch.Tensor, dy: torch.Tensor) -> torch.Tensor:
    """Move content by (dx, dy) pixels (B,): +dx to the RIGHT, +dy DOWN (out[x] = in[x - dx])."""
    dx = _as_float(dx)
    dy = _as_float(dy, dx).to(dx.dtype)
    dx, dy = torch.broadcast_tensors(dx, dy)
    return _stack([[1, 0, -dx], [0, 1, -dy], [0, 0, 1]], dx)


def zoom(zx: torch.Tensor, zy: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Scale OUTPUT->INPUT coordinates by (zx, zy) (B,) about the centre.

    x_in = zx (x - cx) + cx: a factor > 1 reads a larger area, so content looks SMALLER
    (zoomed out), as in ImageDataGenerator; < 1 zooms in.
    """
    zx = _as_float(zx)
    zy = _as_float(zy, zx).to(zx.dtype)
    zx, zy = torch.broadcast_tensors(zx, zy)
    return _about_centre(_stack([[zx, 0, 0], [0, zy, 0], [0, 0, 1]], zx), height, width)


def shear(angles_rad: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Shear by `angles_rad` (B,) about the centre, ImageDataGenerator's matrix.

    x_in = (x - cx) - sin(a) (y - cy) + cx, y_in = cos(a) (y - cy) + cy: for a > 0, rows
    below the centre read from the left, so their content moves RIGHT.
    """
    a = _as_float(angles_rad)
    m = _stack([[1, -torch.sin(a), 0], [0, torch.cos(a), 0], [0, 0, 1]], a)
    return _about_centre(m, height, width)


def flip(horizontal: torch.Tensor, vertical: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Mirror columns where `horizontal` (B,) bool is True, rows where `vertical` is; exact."""
    h = torch.as_tensor(horizontal).reshape(-1).bool()
    v = torch.as_tensor(vertical, device=h.device).reshape(-1).bool()
    h, v = torch.broadcast_tensors(h, v)
    sx = torch.where(h, -1.0, 1.0)
    sy = torch.where(v, -1.0, 1.0)
    tx = torch.where(h, float(width - 1), 0.0)
    ty = torch.where(v, float(height - 1), 0.0)
    return _stack([[sx, 0, tx], [0, sy, ty], [0, 0, 1]], sx)


__all__ = [
    "FILL_MODES",
    "INTERPOLATIONS",
    "flip",
    "identity",
    "rotation",
    "shear",
    "translation",
    "warp_affine",
    "zoom",
]
