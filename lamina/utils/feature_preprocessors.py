"""The per-feature steps a `FeatureSpace` runs: rescale, normalize, discretize, look up
and hash, each adapted from data with NumPy and applied with torch.

Categorical steps return int64 indices of shape (batch, 1); `encode` one-hots them
afterwards, as Keras's FeatureSpace encodes its lookups' integer outputs. Hashed features
and crosses run Lamina's `Hashing` and `HashedCrossing` layers (TensorFlow's FarmHash, so
the bins are Keras's); discretization adapts with the `Discretization` layer's quantiles;
vocabularies are the `StringLookup` / `IntegerLookup` layers'.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lamina.layers import Discretization, HashedCrossing, Hashing, IntegerLookup, StringLookup


def column(values: Any) -> np.ndarray:
    """One feature's batch as a flat NumPy array (tensors and lists too)."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    array = np.asarray(values)
    if array.dtype.kind == "S":
        array = array.astype(str)
    return array.reshape(-1)


class Preprocessor:
    """A feature's step: `adapt(values)` learns state, `__call__(values)` applies it."""

    categorical = False
    depth = 1  # the one-hot width of a categorical step's indices

    def adapt(self, values: np.ndarray) -> None:
        """Learn from the feature's values (nothing to learn by default)."""

    def __call__(self, values: Any) -> torch.Tensor:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}


class Passthrough(Preprocessor):
    """The value as float32, shape (batch, 1)."""

    def __call__(self, values):
        return torch.as_tensor(column(values).astype(np.float32)).reshape(-1, 1)


class Rescale(Preprocessor):
    """`value * scale + offset`, as Keras's Rescaling."""

    def __init__(self, scale: float = 1.0, offset: float = 0.0):
        self.scale, self.offset = scale, offset

    def __call__(self, values):
        return Passthrough()(values) * self.scale + self.offset

    def get_config(self):
        return {"scale": self.scale, "offset": self.offset}


class Normalize(Preprocessor):
    """`(value - mean) / max(std, 1e-7)` with the adapted mean and (population) variance."""

    def __init__(self) -> None:
        self.mean: float | None = None
        self.variance: float | None = None

    def adapt(self, values):
        data = values.astype(np.float64)
        self.mean, self.variance = float(data.mean()), float(data.var())

    def __call__(self, values):
        if self.mean is None:
            raise ValueError("Expected adapt() before use, received: an unadapted normalization")
        std = max(self.variance**0.5, 1e-7)
        return (Passthrough()(values) - self.mean) / std


class Discretize(Preprocessor):
    """The bin index of each value: bin i holds boundaries[i-1] <= value < boundaries[i]."""

    categorical = True

    def __init__(self, num_bins: int | None = None, bin_boundaries: Any = None):
        if num_bins is None and bin_boundaries is None:
            raise ValueError("Expected num_bins or bin_boundaries, received: neither")
        self.num_bins = num_bins
        self.bin_boundaries = None if bin_boundaries is None else [float(b) for b in bin_boundaries]
        self.depth = num_bins if bin_boundaries is None else len(self.bin_boundaries) + 1

    def adapt(self, values):
        if self.bin_boundaries is None:  # equal-frequency bins: Keras's approximate quantiles
            layer = Discretization(num_bins=self.num_bins)
            layer.adapt(values.astype(np.float32))
            self.bin_boundaries = [float(b) for b in layer.bin_boundaries]

    def __call__(self, values):
        if self.bin_boundaries is None:
            raise ValueError("Expected adapt() or bin_boundaries, received: neither")
        x = torch.as_tensor(column(values).astype(np.float64))
        edges = torch.tensor(self.bin_boundaries, dtype=torch.float64)
        return torch.bucketize(x, edges, right=True).reshape(-1, 1)

    def get_config(self):
        return {"num_bins": self.num_bins, "bin_boundaries": self.bin_boundaries}


class Lookup(Preprocessor):
    """Vocabulary index through the `StringLookup` / `IntegerLookup` layer: OOV indices
    first, then the adapted vocabulary, most frequent first (Keras's order)."""

    categorical = True

    def __init__(
        self, max_tokens: int | None = None, num_oov_indices: int = 1, kind: str = "string"
    ):
        if kind not in ("string", "int"):
            raise ValueError(f"Expected kind 'string' or 'int', received: kind={kind!r}")
        self.max_tokens, self.num_oov_indices, self.kind = max_tokens, num_oov_indices, kind
        layer_cls = StringLookup if kind == "string" else IntegerLookup
        self._layer = layer_cls(max_tokens=max_tokens, num_oov_indices=num_oov_indices)
        self._adapted = False

    def adapt(self, values):
        self._layer.adapt(values.astype(str) if self.kind == "string" else values.astype(np.int64))
        self._adapted = True

    @property
    def vocabulary(self) -> list[Any] | None:
        return self._layer.get_vocabulary() if self._adapted else None

    @property
    def depth(self) -> int:  # type: ignore[override]
        return int(self._layer.vocabulary_size())

    def __call__(self, values):
        if not self._adapted:
            raise ValueError("Expected adapt() before use, received: an unadapted lookup")
        values = column(values)
        values = values.astype(str) if self.kind == "string" else values.astype(np.int64)
        return torch.as_tensor(self._layer(values)).to(torch.int64).reshape(-1, 1)

    def get_config(self):
        return {"max_tokens": self.max_tokens, "num_oov_indices": self.num_oov_indices}


class Hash(Preprocessor):
    """The `Hashing` layer's bin of each value (FarmHash64 of its text, modulo num_bins)."""

    categorical = True

    def __init__(self, num_bins: int):
        self.num_bins = self.depth = num_bins
        self._layer = Hashing(num_bins=num_bins)

    def __call__(self, values):
        return torch.as_tensor(self._layer(column(values))).to(torch.int64).reshape(-1, 1)

    def get_config(self):
        return {"num_bins": self.num_bins}


def cross(indices: list[torch.Tensor], num_bins: int) -> torch.Tensor:
    """The `HashedCrossing` bin of several features' indices (one per combination)."""
    crossed = HashedCrossing(num_bins=num_bins)(tuple(i.reshape(-1) for i in indices))
    return torch.as_tensor(crossed).to(torch.int64).reshape(-1, 1)


def encode(indices: torch.Tensor, depth: int, output_mode: str) -> torch.Tensor:
    """Indices as one-hot float32 rows of width `depth`, or kept as int ('int')."""
    if output_mode == "int":
        return indices
    return torch.nn.functional.one_hot(indices.reshape(-1), depth).to(torch.float32)
