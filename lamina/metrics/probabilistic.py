"""Probabilistic metrics: running means of the cross-entropy, Kullback-Leibler and Poisson
losses' per-sample values.

`get('crossentropy')` picks one of these by the compiled loss, as `get('accuracy')` does.
"""

from __future__ import annotations

from typing import Any

from lamina import losses
from lamina.metrics.base import MeanMetricWrapper, _register, _tensor


@_register("BinaryCrossentropy", "binary_crossentropy")
class BinaryCrossentropy(MeanMetricWrapper):
    """The mean binary cross-entropy between 0/1 targets and probabilities (or logits)."""

    def __init__(
        self,
        name: str = "binary_crossentropy",
        dtype: Any = None,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
    ):
        super().__init__(
            losses.binary_crossentropy,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
        )


@_register("CategoricalCrossentropy", "categorical_crossentropy")
class CategoricalCrossentropy(MeanMetricWrapper):
    """The mean cross-entropy between one-hot targets and class probabilities (or logits)."""

    def __init__(
        self,
        name: str = "categorical_crossentropy",
        dtype: Any = None,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
    ):
        super().__init__(
            losses.categorical_crossentropy,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )


@_register("SparseCategoricalCrossentropy", "sparse_categorical_crossentropy")
class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """The mean cross-entropy between integer labels and class probabilities (or logits).

    As in Keras, `ignore_class` entries give 0 and still count in the mean, unless
    sample weights are given: then they weigh 0.
    """

    def __init__(
        self,
        name: str = "sparse_categorical_crossentropy",
        dtype: Any = None,
        from_logits: bool = False,
        ignore_class: int | None = None,
        axis: int = -1,
    ):
        super().__init__(
            losses.sparse_categorical_crossentropy,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            ignore_class=ignore_class,
            axis=axis,
        )
        self.ignore_class = ignore_class

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        if self.ignore_class is not None and sample_weight is not None:
            y_pred = _tensor(y_pred)
            labels = losses._labels(_tensor(y_true, y_pred.device), y_pred)
            weight = _tensor(sample_weight, y_pred.device).to(self.dtype)
            while weight.ndim > labels.ndim and weight.shape[-1] == 1:
                weight = weight.squeeze(-1)
            while weight.ndim < labels.ndim:
                weight = weight.unsqueeze(-1)
            sample_weight = weight * (labels != self.ignore_class).to(self.dtype)
        super().update_state(y_true, y_pred, sample_weight)


@_register("KLDivergence", "kl_divergence", "kld")
class KLDivergence(MeanMetricWrapper):
    """The mean Kullback-Leibler divergence of y_pred from the target distribution."""

    def __init__(self, name: str = "kl_divergence", dtype: Any = None):
        super().__init__(losses.kl_divergence, name=name, dtype=dtype)


@_register("Poisson", "poisson")
class Poisson(MeanMetricWrapper):
    """The mean Poisson negative log-likelihood y_pred - y_true log(y_pred)."""

    def __init__(self, name: str = "poisson", dtype: Any = None):
        super().__init__(losses.poisson, name=name, dtype=dtype)
