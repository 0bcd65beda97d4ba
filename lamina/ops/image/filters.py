"""Convolution filters on images: Gaussian blur, Sobel edges and the SSIM index.

Each channel is filtered on its own (a grouped F.conv2d).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina.ops.conversion import convert_to_tensor
from lamina.ops.dtypes import result_type, to_torch_dtype
from lamina.ops.image.common import data_format as _data_format
from lamina.ops.image.common import error, images_tensor


def gaussian_1d(size: int, sigma: Any, dtype: torch.dtype, device: Any = None) -> torch.Tensor:
    """A normalised Gaussian window of `size` taps centred on (size - 1) / 2."""
    x = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    w = torch.exp(-0.5 * (x / sigma) ** 2)
    return w / w.sum()


def _pair(op: str, name: str, value: Any) -> tuple[Any, Any]:
    if isinstance(value, (int, float)):
        return value, value
    value = tuple(value)
    if len(value) != 2:
        raise error(op, f"{name} a number or a pair", **{name: value})
    return value[0], value[1]


def gaussian_blur(
    images: Any,
    kernel_size: tuple[int, int] = (3, 3),
    sigma: tuple[float, float] = (1.0, 1.0),
    data_format: str | None = None,
) -> torch.Tensor:
    """Blur each channel with a Gaussian kernel, zero 'same' padding.

    As in Keras's code, the first entries of kernel_size and sigma act along the width
    (x) and the second along the height (y).
    """
    fmt = _data_format("gaussian_blur", data_format)
    x = images_tensor("gaussian_blur", images)
    kx, ky = (int(k) for k in _pair("gaussian_blur", "kernel_size", kernel_size))
    sx, sy = _pair("gaussian_blur", "sigma", sigma)
    unbatched = x.dim() == 3
    if unbatched:
        x = x.unsqueeze(0)
    nchw = x.permute(0, 3, 1, 2) if fmt == "channels_last" else x
    channels = nchw.shape[1]
    wx = gaussian_1d(kx, convert_to_tensor(sx).to(x.device), x.dtype, x.device)
    wy = gaussian_1d(ky, convert_to_tensor(sy).to(x.device), x.dtype, x.device)
    padded = F.pad(nchw, ((kx - 1) // 2, kx // 2, (ky - 1) // 2, ky // 2))
    # separable: a row pass and a column pass (2k taps a pixel instead of k * k)
    rows = F.conv2d(padded, wx.to(x.dtype).expand(channels, 1, 1, kx), groups=channels)
    out = F.conv2d(rows, wy.to(x.dtype).view(ky, 1).expand(channels, 1, ky, 1), groups=channels)
    if fmt == "channels_last":
        out = out.permute(0, 2, 3, 1)
    return out[0] if unbatched else out


def sobel_edges(images: Any, data_format: str | None = None) -> torch.Tensor:
    """Sobel gradients of a batch of images: an extra last axis holds (d/dy, d/dx)."""
    fmt = _data_format("sobel_edges", data_format)
    x = convert_to_tensor(images)
    if x.dim() != 4:
        raise error("sobel_edges", "a rank-4 batch of images", **{"images.shape": tuple(x.shape)})
    nchw = x.permute(0, 3, 1, 2) if fmt == "channels_last" else x
    channels = nchw.shape[1]
    gx = torch.tensor([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=x.dtype, device=x.device)
    kernels = torch.stack([gx.t(), gx]).unsqueeze(1).repeat(channels, 1, 1, 1)
    edges = F.conv2d(nchw, kernels, padding=1, groups=channels)  # (N, 2C, H, W): dy, dx pairs
    edges = edges.unflatten(1, (channels, 2)).permute(0, 1, 3, 4, 2)
    if fmt == "channels_last":
        edges = edges.permute(0, 2, 3, 1, 4)
    return edges


def ssim(
    image1: Any,
    image2: Any,
    max_val: float = 1.0,
    filter_size: int = 11,
    filter_sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
    data_format: str | None = None,
) -> torch.Tensor:
    """Structural similarity of two images (or batches), Gaussian-weighted 'valid' windows,
    averaged over space and channels: one value per image, in image1's dtype."""
    fmt = _data_format("ssim", data_format)
    a, b = convert_to_tensor(image1), convert_to_tensor(image2)
    for name, t in (("image1", a), ("image2", b)):
        if t.dim() not in (3, 4):
            raise error("ssim", f"{name} of rank 3 or 4", **{f"{name}.shape": tuple(t.shape)})
    original = a.dtype
    compute = to_torch_dtype(result_type(a.dtype, float))
    a, b = a.to(compute), b.to(compute).to(a.device)
    unbatched = a.dim() == 3
    if unbatched:
        a, b = a.unsqueeze(0), b.unsqueeze(0)
    if fmt == "channels_last":
        a, b = a.permute(0, 3, 1, 2), b.permute(0, 3, 1, 2)
    batch, channels, height, width = a.shape
    a = a.reshape(batch * channels, 1, height, width)
    b = b.reshape(batch * channels, 1, height, width)
    g = gaussian_1d(filter_size, filter_sigma, compute, a.device)
    kernel = torch.outer(g, g).view(1, 1, filter_size, filter_size)

    def mean(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, kernel)

    mu1, mu2 = mean(a), mean(b)
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    var1 = mean(a * a) - mu1 * mu1
    var2 = mean(b * b) - mu2 * mu2
    cov = mean(a * b) - mu1 * mu2
    num = (2.0 * mu1 * mu2 + c1) * (2.0 * cov + c2)
    den = (mu1 * mu1 + mu2 * mu2 + c1) * (var1 + var2 + c2)
    per_channel = (num / den).mean(dim=(1, 2, 3)).reshape(batch, channels)
    out = per_channel.mean(dim=-1)
    return (out[0] if unbatched else out).to(original)


__all__ = ["gaussian_blur", "sobel_edges", "ssim"]
