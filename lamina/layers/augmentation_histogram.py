"""Keras 3's histogram equalizations: Equalization and
ContrastLimitedAdaptiveHistogramEqualization (CLAHE).

Both work on the [0, 255] scale (values are mapped there from `value_range` and back).
Equalization builds one histogram per channel over the whole batch, as Keras 3 does;
CLAHE one per tile, image and channel, clipped at `clip_limit` times the mean bin count,
with bilinear blending between the four nearest tiles' lookup tables.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import registry
from lamina.layers.augmentation_base import ImageAugmentation, layer_error, rescale
from lamina.layers.augmentation_base import value_range as _value_range


def _scale(x: torch.Tensor, source: Any, target: Any) -> torch.Tensor:
    scale = (target[1] - target[0]) / (source[1] - source[0])
    return x * scale + (target[0] - source[0] * scale)


@registry.register("layer", "Equalization")
class Equalization(ImageAugmentation):
    """Histogram-equalize each channel (one histogram of `bins` bins per channel, over the
    batch) so that its values spread evenly over the value range."""

    def __init__(
        self,
        value_range: Any = (0, 255),
        bins: int = 256,
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(data_format=data_format, **kwargs)
        if not isinstance(bins, int) or isinstance(bins, bool) or bins < 2:
            raise layer_error(self, "an integer bins >= 2", bins=bins)
        self.bins = bins
        self.value_range = _value_range(self, value_range)

    def _equalize(self, channel: torch.Tensor) -> torch.Tensor:
        channel = _scale(channel, self.value_range, (0, 255))
        bins = self.bins
        index = (channel.float() * (bins - 1) / 255.0).to(torch.int32).clamp(0, bins - 1)
        hist = torch.bincount(index.reshape(-1).long(), minlength=bins)
        if int(torch.count_nonzero(hist)) > 1:
            cdf = torch.cumsum(hist, 0)
            cdf_min = cdf[torch.nonzero(cdf)[0, 0]]
            denom = cdf[-1] - cdf_min
            denom = torch.where(denom == 0, torch.ones_like(denom), denom)
            lut = torch.round((cdf - cdf_min) * 255 / denom).clamp(0, 255)
            pos = ((channel / 255.0) * (bins - 1)).clamp(0, bins - 1).to(torch.int32).long()
            channel = lut[pos].to(channel.dtype)
        return _scale(channel, (0, 255), self.value_range)

    def transform_images(self, images, transformation=None, training=True):
        if not training:
            return images
        images = images.to(self._dtype)
        axis = -3 if self.data_format == "channels_first" else -1
        channels = [self._equalize(c) for c in images.unbind(axis)]
        return torch.stack(channels, dim=axis).to(self._dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "value_range": self.value_range, "bins": self.bins}


@registry.register("layer", "ContrastLimitedAdaptiveHistogramEqualization")
class ContrastLimitedAdaptiveHistogramEqualization(ImageAugmentation):
    """Equalize each of tile_grid_size (rows, cols) tiles of each image and channel, with
    each histogram bin clipped at clip_limit * (tile pixels / 256) and the excess spread
    evenly; deterministic, and applied at inference too (as Keras does)."""

    _ALWAYS = True

    def __init__(
        self,
        value_range: Any = (0, 255),
        clip_limit: float = 4.0,
        tile_grid_size: tuple[int, int] = (8, 8),
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = value_range
        self._vr = value_range_pair(self, value_range)
        self.clip_limit = clip_limit
        if len(tuple(tile_grid_size)) != 2:
            raise layer_error(self, "tile_grid_size a pair of ints", tile_grid_size=tile_grid_size)
        self.tile_grid_size = tile_grid_size

    def transform_images(self, images, transformation=None, training=True):
        dtype = images.dtype
        x = self._nhwc(images)
        x = rescale(x.to(torch.float32), self._vr, (0, 255))
        x = rescale(self._clahe(x), (0, 255), self._vr).to(dtype)
        return self._from_nhwc(x)

    def _clahe(self, x: torch.Tensor) -> torch.Tensor:
        batch, height, width, channels = x.shape
        gh, gw = (int(g) for g in self.tile_grid_size)
        th, tw = -(-height // gh), -(-width // gw)
        ph, pw = th * gh - height, tw * gw - width
        if ph or pw:  # symmetric (edge-including) padding at the bottom and right
            rows = torch.cat([torch.arange(height), height - 1 - torch.arange(ph) % height])
            cols = torch.cat([torch.arange(width), width - 1 - torch.arange(pw) % width])
            x = x[:, rows.to(x.device)][:, :, cols.to(x.device)]
        tiles = x.reshape(batch, gh, th, gw, tw, channels).permute(0, 1, 3, 5, 2, 4)
        pixels = tiles.reshape(batch, gh, gw, channels, th * tw).to(torch.int32).clamp(0, 255)
        flat = pixels.long().reshape(-1, th * tw)  # one histogram per tile, image, channel
        hist = torch.zeros(flat.shape[0], 256, dtype=torch.float32, device=x.device)
        hist.scatter_add_(1, flat, torch.ones_like(flat, dtype=torch.float32))
        hist = hist.view(batch, gh, gw, channels, 256)
        if self.clip_limit > 0:
            limit = float(self.clip_limit) * (th * tw) / 256.0
            clipped = hist.clamp(0, limit)
            hist = clipped + (hist - clipped).sum(dim=-1, keepdim=True) / 256.0
        cdf = torch.cumsum(hist, dim=-1)
        cdf_min = cdf.amin(dim=-1, keepdim=True)
        denom = float(th * tw) - cdf_min
        denom = torch.where(denom == 0, torch.ones_like(denom), denom)
        lut = ((cdf - cdf_min) * 255.0 / denom).clamp(0, 255)  # (B, gh, gw, C, 256)
        lut = torch.cat([lut[:, :1], lut, lut[:, -1:]], dim=1)
        lut = torch.cat([lut[:, :, :1], lut, lut[:, :, -1:]], dim=2)  # edge tiles repeated

        def axis(n_pix: int, tile: int, grid: int):
            pos = (torch.arange(n_pix, dtype=torch.float32, device=x.device) - tile / 2.0) / tile
            pos = pos + 1.0
            lo = torch.floor(pos)
            w = pos - lo
            return lo.clamp(0, grid + 1).long(), (lo + 1).clamp(0, grid + 1).long(), w

        y0, y1, wy = axis(th * gh, th, gh)
        x0, x1, wx = axis(tw * gw, tw, gw)
        values = x.clamp(0, 255).to(torch.int32).long()  # (B, H', W', C)
        b = torch.arange(batch, device=x.device).view(-1, 1, 1, 1)
        c = torch.arange(channels, device=x.device).view(1, 1, 1, -1)

        def read(ys: torch.Tensor, xs: torch.Tensor) -> torch.Tensor:
            return lut[b, ys.view(1, -1, 1, 1), xs.view(1, 1, -1, 1), c, values]

        wx_, wy_ = wx.view(1, 1, -1, 1), wy.view(1, -1, 1, 1)
        top = read(y0, x0) * (1.0 - wx_) + read(y0, x1) * wx_
        bottom = read(y1, x0) * (1.0 - wx_) + read(y1, x1) * wx_
        out = top * (1.0 - wy_) + bottom * wy_
        return out[:, :height, :width, :]

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "value_range": self.value_range,
            "clip_limit": self.clip_limit,
            "tile_grid_size": self.tile_grid_size,
        }


def value_range_pair(layer: ImageAugmentation, values: Any) -> list[float]:
    return _value_range(layer, values)
