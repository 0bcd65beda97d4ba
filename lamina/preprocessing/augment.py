"""ImageDataGenerator's random augmentation, for a whole batch of NHWC tensors at once.

`sample_params` draws every sample's parameters with one `torch.Generator`;
`apply_params` composes ONE output->input matrix per sample (rotation, shift, shear,
zoom, flips, random crop) and calls `warp_affine` once for the batch, then applies the
point-wise steps. The order is Keras's `apply_transform` order, extended:

    affine warp (+ flips, + random crop) -> channel shift -> brightness
    -> histogram equalization -> Gaussian noise

Keras's own convention for the per-image dict (`tx`, `ty`, `theta`, `shear`, `zx`, `zy`):
x is the column axis, y the row axis; `tx=+1` reads the input one pixel to the right (content
moves LEFT), `ty=+1` content moves UP; `theta=+90` turns content counter-clockwise
(np.rot90); `zx > 1` zooms out along the width. Two Keras quirks are not copied: Keras 3
draws `tx` from height_shift_range (so "height" shifts move images sideways, keras-team
issue #17398); here width_shift_range drives `tx` and height_shift_range `ty`. And Keras
centres rotation/shear/zoom at (h/2, w/2) swapped on non-square images; here the centre is
the true image centre (identical on square images).

Checked by hand against Keras 3.15's legacy generator (SciPy backend) on square images: the
warp with fill_mode 'nearest', 'reflect' or 'mirror', channel shift and brightness agree to
float rounding. 'constant' and 'wrap' follow Keras's documentation (and TF's transform
ops) rather than the SciPy modes Keras passes them to: 'constant' blends the edge pixel
with `cval` where bilinear sampling straddles the border (SciPy sets every sample beyond the
edge pixel centres to `cval`), and 'wrap' repeats with period W (SciPy's with period W - 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from lamina.ops import warp as image_ops


@dataclass(frozen=True)
class ShiftRange:
    """A width/height shift setting, as Keras reads it.

    kind 'uniform': uniform in (-value, value); kind 'choice': one of `values` times a random
    sign (an int n is the choice among 0..n-1). `fraction`: multiply by the image size
    (Keras does when the largest value is below 1).
    """

    kind: str = "off"  # 'off' | 'uniform' | 'choice'
    value: float = 0.0
    values: tuple[float, ...] = ()
    fraction: bool = False


@dataclass(frozen=True)
class AugmentSpec:
    """The random-augmentation settings of one ImageDataGenerator, validated and normalised."""

    rotation_range: float = 0.0
    width_shift: ShiftRange = field(default_factory=ShiftRange)
    height_shift: ShiftRange = field(default_factory=ShiftRange)
    shear_range: float = 0.0
    zoom_range: tuple[float, float] = (1.0, 1.0)
    channel_shift_range: float = 0.0
    brightness_range: tuple[float, float] | None = None
    horizontal_flip: bool = False
    vertical_flip: bool = False
    fill_mode: str = "nearest"
    cval: float = 0.0
    interpolation: str = "bilinear"
    noise_std: float = 0.0  # in the units of the images as they arrive (before rescale)
    histogram_equalization: bool = False
    random_crop: tuple[int, int] | None = None

    @property
    def geometric(self) -> bool:
        """Whether any sample of a batch may need the affine warp."""
        return bool(
            self.rotation_range
            or self.width_shift.kind != "off"
            or self.height_shift.kind != "off"
            or self.shear_range
            or self.zoom_range != (1.0, 1.0)
            or self.horizontal_flip
            or self.vertical_flip
            or self.random_crop is not None
        )

    @property
    def active(self) -> bool:
        return bool(
            self.geometric
            or self.channel_shift_range
            or self.brightness_range is not None
            or self.noise_std
            or self.histogram_equalization
        )


@dataclass
class TransformParams:
    """Per-sample parameters of a batch, (B,) tensors on the CPU (noise: on the images' device).

    `theta` and `shear` are in degrees, `tx`/`ty` in pixels (Keras's dict convention),
    `crop` is (B, 2) (top, left) of the random crop window, None when unused.
    """

    theta: torch.Tensor
    tx: torch.Tensor
    ty: torch.Tensor
    shear: torch.Tensor
    zx: torch.Tensor
    zy: torch.Tensor
    flip_horizontal: torch.Tensor
    flip_vertical: torch.Tensor
    channel_shift_intensity: torch.Tensor | None = None
    brightness: torch.Tensor | None = None
    crop: torch.Tensor | None = None
    noise: torch.Tensor | None = None
    geometric: bool = True

    def to_dicts(self) -> list[dict]:
        """Keras's per-image dicts (plus 'crop' and 'noise' when those extras are on)."""
        out = []
        for i in range(self.theta.shape[0]):
            d = {
                "theta": float(self.theta[i]),
                "tx": float(self.tx[i]),
                "ty": float(self.ty[i]),
                "shear": float(self.shear[i]),
                "zx": float(self.zx[i]),
                "zy": float(self.zy[i]),
                "flip_horizontal": bool(self.flip_horizontal[i]),
                "flip_vertical": bool(self.flip_vertical[i]),
                "channel_shift_intensity": _item(self.channel_shift_intensity, i),
                "brightness": _item(self.brightness, i),
            }
            if self.crop is not None:
                d["crop"] = (int(self.crop[i, 0]), int(self.crop[i, 1]))
            if self.noise is not None:
                d["noise"] = self.noise[i].cpu().numpy()
            out.append(d)
        return out

    @classmethod
    def from_dict(cls, params: dict, device: torch.device | str = "cpu") -> TransformParams:
        """One sample's parameters from a Keras-style dict (missing keys: no change)."""

        def num(key: str, default: float) -> torch.Tensor:
            return torch.tensor([float(params.get(key, default))], dtype=torch.float64)

        def opt(key: str) -> torch.Tensor | None:
            v = params.get(key)
            return None if v is None else torch.tensor([float(v)], dtype=torch.float64)

        crop = params.get("crop")
        noise = params.get("noise")
        p = cls(
            theta=num("theta", 0.0),
            tx=num("tx", 0.0),
            ty=num("ty", 0.0),
            shear=num("shear", 0.0),
            zx=num("zx", 1.0),
            zy=num("zy", 1.0),
            flip_horizontal=torch.tensor([bool(params.get("flip_horizontal", False))]),
            flip_vertical=torch.tensor([bool(params.get("flip_vertical", False))]),
            channel_shift_intensity=opt("channel_shift_intensity"),
            brightness=opt("brightness"),
            crop=None if crop is None else torch.tensor([[int(crop[0]), int(crop[1])]]),
            noise=None if noise is None else torch.as_tensor(np.asarray(noise))[None].to(device),
        )
        p.geometric = bool(
            p.theta.any()
            or p.tx.any()
            or p.ty.any()
            or p.shear.any()
            or (p.zx != 1).any()
            or (p.zy != 1).any()
            or p.flip_horizontal.any()
            or p.flip_vertical.any()
            or p.crop is not None
        )
        return p


def _item(t: torch.Tensor | None, i: int) -> float | None:
    return None if t is None else float(t[i])


def _check_crop(spec: AugmentSpec, height: int, width: int) -> None:
    ch, cw = spec.random_crop  # type: ignore[misc]
    if ch > height or cw > width:
        raise ValueError(
            "ImageDataGenerator (lamina/preprocessing/augment.py): Expected random_crop no "
            f"larger than the images ({height}, {width}), received: random_crop={(ch, cw)}"
        )


# ------------------------------------------------------------------------ sampling (torch)
def _uniform(n: int, lo: float, hi: float, gen: torch.Generator) -> torch.Tensor:
    return torch.rand(n, generator=gen, dtype=torch.float64) * (hi - lo) + lo


def _shift(rng: ShiftRange, n: int, size: int, gen: torch.Generator) -> torch.Tensor:
    if rng.kind == "off":
        return torch.zeros(n, dtype=torch.float64)
    if rng.kind == "uniform":
        out = _uniform(n, -rng.value, rng.value, gen)
    else:
        values = torch.tensor(rng.values, dtype=torch.float64)
        pick = values[torch.randint(len(values), (n,), generator=gen)]
        sign = torch.randint(2, (n,), generator=gen).to(torch.float64) * 2 - 1
        out = pick * sign
    return out * size if rng.fraction else out


def sample_params(
    spec: AugmentSpec,
    shape: tuple[int, int, int, int],
    generator: torch.Generator,
    device: torch.device | str = "cpu",
) -> TransformParams:
    """Random parameters for a (B, H, W, C) batch; `generator` is a CPU torch.Generator."""
    n, height, width, channels = shape
    zeros = torch.zeros(n, dtype=torch.float64)
    ones = torch.ones(n, dtype=torch.float64)
    theta = (
        _uniform(n, -spec.rotation_range, spec.rotation_range, generator)
        if spec.rotation_range
        else zeros
    )
    ty = _shift(spec.height_shift, n, height, generator)
    tx = _shift(spec.width_shift, n, width, generator)
    shear = (
        _uniform(n, -spec.shear_range, spec.shear_range, generator) if spec.shear_range else zeros
    )
    if spec.zoom_range == (1.0, 1.0):
        zx, zy = ones, ones
    else:
        zx = _uniform(n, *spec.zoom_range, generator)
        zy = _uniform(n, *spec.zoom_range, generator)
    coin_h = torch.rand(n, generator=generator) < 0.5
    coin_v = torch.rand(n, generator=generator) < 0.5
    flip_h = coin_h & spec.horizontal_flip
    flip_v = coin_v & spec.vertical_flip
    shift = None
    if spec.channel_shift_range:
        r = spec.channel_shift_range
        shift = _uniform(n, -r, r, generator)
    bright = None
    if spec.brightness_range is not None:
        bright = _uniform(n, *spec.brightness_range, generator)
    crop = None
    if spec.random_crop is not None:
        _check_crop(spec, height, width)
        ch, cw = spec.random_crop
        top = torch.randint(height - ch + 1, (n,), generator=generator)
        left = torch.randint(width - cw + 1, (n,), generator=generator)
        crop = torch.stack([top, left], dim=1)
    noise = None
    if spec.noise_std:
        dev = torch.device(device)
        noise_gen = torch.Generator(device=dev)
        noise_gen.manual_seed(int(torch.randint(2**62, (1,), generator=generator)))
        noise = torch.randn(shape, generator=noise_gen, device=dev) * spec.noise_std
    return TransformParams(
        theta, tx, ty, shear, zx, zy, flip_h, flip_v, shift, bright, crop, noise, spec.geometric
    )


def sample_params_numpy(spec: AugmentSpec, img_shape: tuple[int, ...]) -> dict:
    """One image's parameters drawn from NumPy's global RNG in Keras's order (a Keras dict)."""
    height, width = int(img_shape[0]), int(img_shape[1])

    def shift(rng: ShiftRange, size: int) -> float:
        if rng.kind == "off":
            return 0
        if rng.kind == "uniform":
            v = np.random.uniform(-rng.value, rng.value)
        else:
            v = np.random.choice(rng.values) * np.random.choice([-1, 1])
        return float(v * size if rng.fraction else v)

    r = spec.rotation_range
    theta = float(np.random.uniform(-r, r)) if r else 0
    ty = shift(spec.height_shift, height)  # Keras draws the height shift first
    tx = shift(spec.width_shift, width)
    s = spec.shear_range
    shear = float(np.random.uniform(-s, s)) if s else 0
    if spec.zoom_range == (1.0, 1.0):
        zx, zy = 1, 1
    else:
        zx, zy = (float(v) for v in np.random.uniform(*spec.zoom_range, 2))
    flip_h = bool(np.random.random() < 0.5) and spec.horizontal_flip
    flip_v = bool(np.random.random() < 0.5) and spec.vertical_flip
    c = spec.channel_shift_range
    shift_i = float(np.random.uniform(-c, c)) if c else None
    b = spec.brightness_range
    bright = None if b is None else float(np.random.uniform(b[0], b[1]))
    params = {
        "theta": theta,
        "tx": tx,
        "ty": ty,
        "shear": shear,
        "zx": zx,
        "zy": zy,
        "flip_horizontal": flip_h,
        "flip_vertical": flip_v,
        "channel_shift_intensity": shift_i,
        "brightness": bright,
    }
    if spec.random_crop is not None:
        _check_crop(spec, height, width)
        ch, cw = spec.random_crop
        params["crop"] = (
            int(np.random.randint(0, height - ch + 1)),
            int(np.random.randint(0, width - cw + 1)),
        )
    if spec.noise_std:
        shape = tuple(int(v) for v in img_shape)
        params["noise"] = (np.random.standard_normal(shape) * spec.noise_std).astype(np.float32)
    return params


# ------------------------------------------------------------------------------ applying
def transform_matrices(
    p: TransformParams, height: int, width: int, crop_size: tuple[int, int] | None = None
) -> torch.Tensor:
    """(B, 3, 3) float64 OUTPUT->INPUT matrices: Keras's R @ shift @ shear @ zoom, then flips
    and the crop window (applied last to the output, so composed on the right)."""
    m = (
        image_ops.rotation(p.theta * (math.pi / 180.0), height, width)
        @ image_ops.translation(-p.tx, -p.ty)
        @ image_ops.shear(p.shear * (math.pi / 180.0), height, width)
        @ image_ops.zoom(p.zx, p.zy, height, width)
        @ image_ops.flip(p.flip_horizontal, p.flip_vertical, height, width).to(torch.float64)
    )
    if p.crop is not None:
        if crop_size is None:
            raise ValueError(
                "apply_transform (lamina/preprocessing/augment.py): Expected random_crop set "
                "on the generator for a 'crop' parameter, received: random_crop=None"
            )
        ch, cw = crop_size
        sx = (cw - 1) / (width - 1) if width > 1 else 1.0
        sy = (ch - 1) / (height - 1) if height > 1 else 1.0
        c = torch.zeros(p.crop.shape[0], 3, 3, dtype=torch.float64)
        c[:, 0, 0], c[:, 1, 1], c[:, 2, 2] = sx, sy, 1.0
        c[:, 0, 2] = p.crop[:, 1].to(torch.float64)
        c[:, 1, 2] = p.crop[:, 0].to(torch.float64)
        m = m @ c
    return m


def _per_image(x: torch.Tensor, fn) -> torch.Tensor:
    return fn(x.reshape(x.shape[0], -1), dim=1).values.view(-1, 1, 1, 1)


def channel_shift(x: torch.Tensor, intensity: torch.Tensor) -> torch.Tensor:
    """Keras's channel shift: add `intensity` (B,) to every channel, clipped to each image's
    own [min, max]."""
    lo, hi = _per_image(x, torch.min), _per_image(x, torch.max)
    shifted = x + intensity.to(x.device, x.dtype).view(-1, 1, 1, 1)
    return torch.maximum(torch.minimum(shifted, hi), lo)


def brightness(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Keras's brightness: through an 8-bit image and PIL's ImageEnhance.Brightness, i.e.
    floor(floor(x) * factor) clipped to 0..255. Images with values outside 0..255 are first
    mapped to 0..255 by their own min/max and mapped back after, as Keras does."""
    f = factor.to(x.device, x.dtype).view(-1, 1, 1, 1)
    lo, hi = _per_image(x, torch.min), _per_image(x, torch.max)
    outside = (lo < 0) | (hi > 255)
    span = torch.where(hi > lo, hi - lo, torch.ones_like(hi))
    as_8bit = torch.where(outside, (x - lo) / span * 255.0, x).clamp(0.0, 255.0).floor()
    out = (as_8bit * f).clamp(0.0, 255.0).floor()
    return torch.where(outside, out / 255.0 * (hi - lo) + lo, out)


def equalize_histogram(x: torch.Tensor) -> torch.Tensor:
    """Per image and channel, PIL's ImageOps.equalize on 0..255 values (truncated to integers,
    as an 8-bit image would be): a look-up table from the cumulative histogram."""
    b, h, w, c = x.shape
    v = x.clamp(0, 255).to(torch.int64).permute(0, 3, 1, 2).reshape(b * c, h * w)
    offset = torch.arange(b * c, device=x.device).view(-1, 1) * 256
    hist = torch.bincount((v + offset).flatten(), minlength=b * c * 256).view(b * c, 256)
    present = hist > 0
    last_bin = 255 - present.flip(1).to(torch.int64).argmax(1, keepdim=True)
    step = (h * w - hist.gather(1, last_bin)) // 255
    before = hist.cumsum(1) - hist
    lut = ((step // 2 + before) // step.clamp(min=1)).clamp(max=255)
    keep = (present.sum(1, keepdim=True) <= 1) | (step == 0)
    lut = torch.where(keep, torch.arange(256, device=x.device).view(1, 256), lut)
    out = lut.gather(1, v).view(b, c, h, w).permute(0, 2, 3, 1)
    return out.to(x.dtype)


def apply_params(spec: AugmentSpec, x: torch.Tensor, p: TransformParams) -> torch.Tensor:
    """Augment float (B, H, W, C) images `x` with parameters `p` (one warp for the batch)."""
    _, height, width, _ = x.shape
    if p.geometric:
        m = transform_matrices(p, height, width, spec.random_crop)
        m = m.to(torch.float32)  # stays on the CPU: warp_affine moves it without a sync
        x = image_ops.warp_affine(x, m, spec.fill_mode, float(spec.cval), spec.interpolation)
    if p.channel_shift_intensity is not None:
        x = channel_shift(x, p.channel_shift_intensity)
    if p.brightness is not None:
        x = brightness(x, p.brightness)
    if spec.histogram_equalization:
        x = equalize_histogram(x)
    if p.noise is not None:
        x = x + p.noise.to(x.device, x.dtype)
    return x


__all__ = [
    "AugmentSpec",
    "ShiftRange",
    "TransformParams",
    "apply_params",
    "brightness",
    "channel_shift",
    "equalize_histogram",
    "sample_params",
    "sample_params_numpy",
    "transform_matrices",
]
