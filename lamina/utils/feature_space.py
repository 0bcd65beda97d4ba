"""`FeatureSpace`: one-line preprocessing of structured (tabular) data, as `keras.utils`.

    space = FeatureSpace(
        features={"age": "float_normalized", "city": "string_categorical",
                  "rooms": FeatureSpace.integer_categorical(num_oov_indices=0)},
        crosses=[FeatureSpace.cross(("city", "rooms"), crossing_dim=16)],
        output_mode="concat",
    )
    space.adapt({"age": ages, "city": cities, "rooms": rooms})   # or an iterable of dicts
    x = space({"age": ages, "city": cities, "rooms": rooms})     # float32 (batch, width)

Numeric features pass through, rescale, normalize or discretize; categorical ones are
looked up in an adapted vocabulary or hashed, then one-hot encoded (or kept as 'int');
crosses hash the combination of their features' indices into `crossing_dim` bins.
'concat' joins every encoded feature (sorted by name, then the crosses by name);
'dict' returns them by name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from lamina.layers import Input
from lamina.utils import feature_preprocessors as fp

_PRESETS = (
    "float",
    "float_rescaled",
    "float_normalized",
    "float_discretized",
    "integer_categorical",
    "integer_hashed",
    "string_categorical",
    "string_hashed",
)
_KINDS = {
    "Passthrough": fp.Passthrough,
    "Rescale": fp.Rescale,
    "Normalize": fp.Normalize,
    "Discretize": fp.Discretize,
    "Lookup": fp.Lookup,
    "Hash": fp.Hash,
}


def _check_mode(output_mode: str) -> None:
    if output_mode not in ("one_hot", "int", "float"):
        raise ValueError(
            f"Expected output_mode 'one_hot', 'int' or 'float', received: output_mode={output_mode!r}"
        )


class Feature:
    """One input feature: its dtype, its preprocessing step and how its result is encoded."""

    def __init__(self, dtype: str, preprocessor: fp.Preprocessor, output_mode: str):
        _check_mode(output_mode)
        self.dtype, self.preprocessor, self.output_mode = dtype, preprocessor, output_mode

    def get_config(self) -> dict[str, Any]:
        pre = self.preprocessor
        config = {"class_name": type(pre).__name__, "config": pre.get_config()}
        if isinstance(pre, fp.Lookup):
            config["config"]["kind"] = pre.kind
        return {"dtype": self.dtype, "preprocessor": config, "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Feature:
        pre = config["preprocessor"]
        return cls(
            config["dtype"], _KINDS[pre["class_name"]](**pre["config"]), config["output_mode"]
        )


class Cross:
    """A hashed crossing of features (by name) into `crossing_dim` bins."""

    def __init__(
        self, feature_names: Sequence[str], crossing_dim: int, output_mode: str = "one_hot"
    ):
        if output_mode not in ("one_hot", "int"):
            raise ValueError(
                f"Expected output_mode 'one_hot' or 'int' for a cross, received: output_mode={output_mode!r}"
            )
        self.feature_names = tuple(feature_names)
        self.crossing_dim, self.output_mode = crossing_dim, output_mode

    @property
    def name(self) -> str:
        return "_X_".join(self.feature_names)

    def get_config(self) -> dict[str, Any]:
        return {
            "feature_names": list(self.feature_names),
            "crossing_dim": self.crossing_dim,
            "output_mode": self.output_mode,
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Cross:
        return cls(**config)


class FeatureSpace:
    """Preprocess a dict of feature columns into one tensor (see the module docstring)."""

    # -- feature constructors, as Keras's static methods ---------------------------------
    @classmethod
    def cross(
        cls, feature_names: Sequence[str], crossing_dim: int, output_mode: str = "one_hot"
    ) -> Cross:
        return Cross(feature_names, crossing_dim, output_mode)

    @classmethod
    def feature(cls, dtype: str, preprocessor: fp.Preprocessor, output_mode: str) -> Feature:
        return Feature(dtype, preprocessor, output_mode)

    @classmethod
    def float(cls, name: str | None = None) -> Feature:
        return Feature("float32", fp.Passthrough(), "float")

    @classmethod
    def float_rescaled(
        cls, scale: float = 1.0, offset: float = 0.0, name: str | None = None
    ) -> Feature:
        return Feature("float32", fp.Rescale(scale, offset), "float")

    @classmethod
    def float_normalized(cls, name: str | None = None) -> Feature:
        return Feature("float32", fp.Normalize(), "float")

    @classmethod
    def float_discretized(
        cls,
        num_bins: int,
        bin_boundaries: Any = None,
        output_mode: str = "one_hot",
        name: str | None = None,
    ) -> Feature:
        return Feature("float32", fp.Discretize(num_bins, bin_boundaries), output_mode)

    @classmethod
    def integer_categorical(
        cls,
        max_tokens: int | None = None,
        num_oov_indices: int = 1,
        output_mode: str = "one_hot",
        name: str | None = None,
    ) -> Feature:
        return Feature("int32", fp.Lookup(max_tokens, num_oov_indices, "int"), output_mode)

    @classmethod
    def string_categorical(
        cls,
        max_tokens: int | None = None,
        num_oov_indices: int = 1,
        output_mode: str = "one_hot",
        name: str | None = None,
    ) -> Feature:
        return Feature("string", fp.Lookup(max_tokens, num_oov_indices, "string"), output_mode)

    @classmethod
    def string_hashed(
        cls, num_bins: int, output_mode: str = "one_hot", name: str | None = None
    ) -> Feature:
        return Feature("string", fp.Hash(num_bins), output_mode)

    @classmethod
    def integer_hashed(
        cls, num_bins: int, output_mode: str = "one_hot", name: str | None = None
    ) -> Feature:
        return Feature("int32", fp.Hash(num_bins), output_mode)

    # -- the space ---------------------------------------------------------------------
    def __init__(
        self,
        features: Mapping[str, Any],
        output_mode: str = "concat",
        crosses: Sequence[Any] | None = None,
        crossing_dim: int = 32,
        hashing_dim: int = 32,
        num_discretization_bins: int = 32,
        name: str | None = None,
    ):
        if not features:
            raise ValueError("Expected at least one feature, received: features={}")
        if output_mode not in ("concat", "dict"):
            raise ValueError(
                f"Expected output_mode 'concat' or 'dict', received: output_mode={output_mode!r}"
            )
        self.crossing_dim, self.hashing_dim = crossing_dim, hashing_dim
        self.num_discretization_bins = num_discretization_bins
        self.output_mode, self.name = output_mode, name or "feature_space"
        self.features = {key: self._standardize_feature(key, f) for key, f in features.items()}
        self.crosses = [self._standardize_cross(c) for c in crosses or []]
        for cross in self.crosses:
            for key in cross.feature_names:
                if key not in self.features:
                    raise ValueError(
                        f"Expected crossed features among the features, received: {key!r} in cross "
                        f"{cross.name!r} (features: {list(self.features)})"
                    )
        self._is_adapted = False

    def _standardize_feature(self, key: str, feature: Any) -> Feature:
        if isinstance(feature, Feature):
            return feature
        if isinstance(feature, Mapping):
            return Feature.from_config(feature)
        if feature not in _PRESETS:
            raise ValueError(
                f"Expected a Feature or one of {list(_PRESETS)}, received: {key}={feature!r}"
            )
        if feature == "float_discretized":
            return self.float_discretized(num_bins=self.num_discretization_bins)
        if feature in ("integer_hashed", "string_hashed"):
            return getattr(self, feature)(num_bins=self.hashing_dim)
        return getattr(self, feature)()

    def _standardize_cross(self, cross: Any) -> Cross:
        if isinstance(cross, Cross):
            return cross
        if isinstance(cross, Mapping):
            return Cross.from_config(cross)
        return Cross(tuple(cross), self.crossing_dim)

    def adapt(self, dataset: Any) -> None:
        """Learn each feature's state from a dict of columns or an iterable of dict batches
        (or of (dict, target) pairs)."""
        columns: dict[str, list[np.ndarray]] = {key: [] for key in self.features}
        batches: Iterable[Any] = [dataset] if isinstance(dataset, Mapping) else dataset
        for batch in batches:
            if isinstance(batch, (tuple, list)) and batch and isinstance(batch[0], Mapping):
                batch = batch[0]
            if not isinstance(batch, Mapping):
                raise ValueError(
                    "Expected dicts of feature columns, received: a batch of type "
                    f"{type(batch).__name__}"
                )
            for key in self.features:
                if key not in batch:
                    raise ValueError(
                        f"Expected feature {key!r} in the data, received: keys {sorted(batch)}"
                    )
                columns[key].append(fp.column(batch[key]))
        for key, feature in self.features.items():
            if not columns[key]:
                raise ValueError("Expected data to adapt on, received: an empty dataset")
            feature.preprocessor.adapt(np.concatenate(columns[key]))
        self._is_adapted = True

    def get_inputs(self) -> dict[str, Any]:
        """One symbolic `Input` of shape (1,) per feature, as Keras's."""
        return {key: Input(shape=(1,), name=key, dtype=f.dtype) for key, f in self.features.items()}

    def _preprocess(self, data: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        return {key: f.preprocessor(data[key]) for key, f in self.features.items()}

    def __call__(self, data: Mapping[str, Any]) -> Any:
        """Encode a dict of columns (or of single values): a float32 (batch, width) tensor
        for 'concat', a dict of encoded features (and crosses) for 'dict'."""
        if not self._is_adapted and any(
            isinstance(f.preprocessor, (fp.Normalize, fp.Lookup))
            or (isinstance(f.preprocessor, fp.Discretize) and f.preprocessor.bin_boundaries is None)
            for f in self.features.values()
        ):
            raise ValueError(
                "Expected adapt() before calling the FeatureSpace, received: an unadapted one"
            )
        single = all(np.ndim(v) == 0 for v in data.values())
        indices = self._preprocess(data)
        encoded: dict[str, torch.Tensor] = {}
        for key in sorted(self.features):  # Keras's order: features, then crosses, by name
            feature = self.features[key]
            pre = feature.preprocessor
            value = indices[key]
            encoded[key] = (
                fp.encode(value, pre.depth, feature.output_mode) if pre.categorical else value
            )
        for cross in sorted(self.crosses, key=lambda c: c.name):
            crossed = fp.cross([indices[k] for k in cross.feature_names], cross.crossing_dim)
            encoded[cross.name] = fp.encode(crossed, cross.crossing_dim, cross.output_mode)
        if self.output_mode == "dict":
            return {k: v[0] if single else v for k, v in encoded.items()}
        out = torch.cat([v.to(torch.float32) for v in encoded.values()], dim=1)
        return out[0] if single else out

    def get_config(self) -> dict[str, Any]:
        return {
            "features": {key: f.get_config() for key, f in self.features.items()},
            "output_mode": self.output_mode,
            "crosses": [c.get_config() for c in self.crosses],
            "crossing_dim": self.crossing_dim,
            "hashing_dim": self.hashing_dim,
            "num_discretization_bins": self.num_discretization_bins,
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> FeatureSpace:
        return cls(**config)
