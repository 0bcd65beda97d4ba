"""ImageDataGenerator's normalisation: per-sample, dataset-wide (featurewise) and ZCA whitening.

Keras's `standardize` order, which this follows for batches of NHWC tensors:

    preprocessing_function -> rescale -> samplewise center -> samplewise std
    -> featurewise center (mean) -> featurewise std -> ZCA whitening

`fit_statistics` computes the featurewise mean/std per channel and the ZCA matrix in float64
on torch, in chunks (the data is never held twice in float64). The ZCA matrix is Keras's:
with the centred images flattened to rows X (n, D) and X^T = U S V^T,
W = U diag(sqrt(n) / (S + zca_epsilon)) U^T, so X @ W has (near) identity covariance.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

_CHUNK = 2048
_ZCA_MAX_BYTES = 4 * 2**30  # the D x D matrices ZCA needs, in float64


@dataclass
class Standardizer:
    """The normalisation settings and fitted statistics of one ImageDataGenerator."""

    preprocessing_function: Callable[[np.ndarray], Any] | None = None
    rescale: float | None = None
    samplewise_center: bool = False
    samplewise_std_normalization: bool = False
    featurewise_center: bool = False
    featurewise_std_normalization: bool = False
    zca_whitening: bool = False
    zca_epsilon: float = 1e-6
    mean: np.ndarray | None = None  # (1, 1, C), as Keras stores it
    std: np.ndarray | None = None  # (1, 1, C)
    zca_whitening_matrix: np.ndarray | None = None  # (D, D), D = h * w * c
    _cache: dict = field(default_factory=dict, repr=False)
    _warned: set = field(default_factory=set, repr=False)

    def _device_stat(self, name: str, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        key = (name, str(device), dtype)
        if key not in self._cache:
            self._cache[key] = torch.as_tensor(getattr(self, name)).to(device, dtype)
        return self._cache[key]

    def _warn_unfit(self, option: str) -> None:
        if option in self._warned:
            return
        self._warned.add(option)
        warnings.warn(
            f"ImageDataGenerator: {option}=True, but the generator has not been fit on any "
            "data, so this step is skipped. Call .fit(x_train) first.",
            stacklevel=4,
        )

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise a float (B, H, W, C) batch (a new tensor; `x` is not modified)."""
        if self.preprocessing_function is not None:
            x = _per_image_function(self.preprocessing_function, x)
        if self.rescale:
            x = x * self.rescale
        if self.samplewise_center:
            x = x - x.mean(dim=(1, 2, 3), keepdim=True)
        if self.samplewise_std_normalization:
            x = x / (x.std(dim=(1, 2, 3), keepdim=True, correction=0) + 1e-6)
        if self.featurewise_center:
            if self.mean is None:
                self._warn_unfit("featurewise_center")
            else:
                x = x - self._device_stat("mean", x.device, x.dtype)
        if self.featurewise_std_normalization:
            if self.std is None:
                self._warn_unfit("featurewise_std_normalization")
            else:
                x = x / (self._device_stat("std", x.device, x.dtype) + 1e-6)
        if self.zca_whitening:
            if self.zca_whitening_matrix is None:
                self._warn_unfit("zca_whitening")
            else:
                w = self._device_stat("zca_whitening_matrix", x.device, x.dtype)
                if w.shape[0] != x[0].numel():
                    raise ValueError(
                        "ImageDataGenerator.standardize (lamina/preprocessing/standardize.py): "
                        f"Expected images of {w.shape[0]} values (the shape given to fit), "
                        f"received: image shape={tuple(x.shape[1:])}"
                    )
                x = (x.reshape(x.shape[0], -1) @ w).view(x.shape)
        return x

    def fit(self, chunks: Callable[[], Iterator[torch.Tensor]], dtype: np.dtype) -> None:
        """Compute mean/std per channel and the ZCA matrix from float64 (n, H, W, C) chunks.

        `chunks()` yields the (rescaled, optionally augmented) data; it is called once per
        pass, so nothing is held in float64 beyond one chunk (and the D x D covariance).
        """
        self._cache.clear()
        self.mean = self.std = self.zca_whitening_matrix = None
        n, total = 0, None
        for c in chunks():
            n += c.shape[0]
            s = c.sum(dim=(0, 1, 2))
            total = s if total is None else total + s
        if not n:
            raise ValueError("ImageDataGenerator.fit: Expected at least one image, received: 0")
        pixels = n * math.prod(_first(chunks).shape[1:3])
        channel_mean = total / pixels
        mean = channel_mean if self.featurewise_center else None
        std = None
        if self.featurewise_std_normalization:
            sq = None
            for c in chunks():
                s = (c - channel_mean).square().sum(dim=(0, 1, 2))
                sq = s if sq is None else sq + s
            std = (sq / pixels).sqrt()
        if mean is not None:
            self.mean = mean.numpy().reshape(1, 1, -1).astype(dtype)
        if std is not None:
            self.std = std.numpy().reshape(1, 1, -1).astype(dtype)
        if self.zca_whitening:
            self.zca_whitening_matrix = _zca(chunks, mean, std, n, self.zca_epsilon).astype(dtype)

    def describe(self) -> dict:
        return {
            "samplewise_center": self.samplewise_center,
            "samplewise_std_normalization": self.samplewise_std_normalization,
            "featurewise_center": self.featurewise_center,
            "featurewise_std_normalization": self.featurewise_std_normalization,
            "zca_whitening": self.zca_whitening,
        }


def _first(chunks: Callable[[], Iterator[torch.Tensor]]) -> torch.Tensor:
    return next(iter(chunks()))


def _prepared(
    chunks: Callable[[], Iterator[torch.Tensor]],
    mean: torch.Tensor | None,
    std: torch.Tensor | None,
) -> Iterator[torch.Tensor]:
    for c in chunks():
        if mean is not None:
            c = c - mean
        if std is not None:
            c = c / (std + 1e-6)
        yield c.reshape(c.shape[0], -1)


def _zca(
    chunks: Callable[[], Iterator[torch.Tensor]],
    mean: torch.Tensor | None,
    std: torch.Tensor | None,
    n: int,
    epsilon: float,
) -> np.ndarray:
    """Keras's ZCA matrix U diag(sqrt(n) / (S + eps)) U^T, S the singular values of X."""
    dim = _first(chunks)[0].numel()
    if dim * dim * 8 > _ZCA_MAX_BYTES:
        raise ValueError(
            "ImageDataGenerator.fit (lamina/preprocessing/standardize.py): Expected images of "
            f"at most {int((_ZCA_MAX_BYTES / 8) ** 0.5)} values for zca_whitening (it needs a "
            f"values x values float64 matrix), received: {dim} values per image "
            f"({dim * dim * 8 / 2**30:.1f} GiB). Resize the images or drop zca_whitening."
        )
    if n >= dim:  # X^T X = U S^2 U^T: accumulate the D x D Gram matrix chunk by chunk
        gram = torch.zeros(dim, dim, dtype=torch.float64)
        for flat in _prepared(chunks, mean, std):
            gram += flat.T @ flat
        eigvals, u = torch.linalg.eigh(gram)
        s = eigvals.clamp(min=0).sqrt()
    else:  # fewer images than values: the thin SVD keeps only the n directions with data
        flat = torch.cat(list(_prepared(chunks, mean, std)))
        _, s, vh = torch.linalg.svd(flat, full_matrices=False)
        u = vh.T
    scale = math.sqrt(n) / (s + epsilon)
    return ((u * scale) @ u.T).numpy()


def _per_image_function(fn: Callable[[np.ndarray], Any], x: torch.Tensor) -> torch.Tensor:
    """Keras calls preprocessing_function on one (H, W, C) NumPy image at a time."""
    arrays = x.detach().cpu().numpy()
    out = []
    for i, img in enumerate(arrays):
        res = np.asarray(fn(img))
        if res.shape != img.shape:
            raise ValueError(
                "ImageDataGenerator (lamina/preprocessing/standardize.py): Expected "
                f"preprocessing_function to return an image of shape {img.shape}, "
                f"received: shape={res.shape} for image {i}"
            )
        out.append(res)
    return torch.from_numpy(np.stack(out)).to(x.device, x.dtype)


def float64_chunks(x: torch.Tensor, chunk: int = _CHUNK) -> Callable[[], Iterator[torch.Tensor]]:
    """A re-iterable source of float64 chunks of `x` (any dtype, (n, H, W, C))."""

    def gen() -> Iterator[torch.Tensor]:
        for start in range(0, x.shape[0], chunk):
            yield x[start : start + chunk].to(torch.float64)

    return gen


__all__ = ["Standardizer", "float64_chunks"]
