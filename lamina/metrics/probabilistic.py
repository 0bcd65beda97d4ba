"""Cross-entropy metrics: running means of the cross-entropy losses' per-sample values.

`get('crossentropy')` picks one of these by the compiled loss, as `get('accuracy')` does.
"""

from __future__ import annotations

from typing import Any

from lamina import losses
from lamina.metrics.base import MeanMetricWrapper, _register


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
    ):
        super().__init__(
            losses.categorical_crossentropy,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
        )


@_register("SparseCategoricalCrossentropy", "sparse_categorical_crossentropy")
class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """The mean cross-entropy between integer labels and class probabilities (or logits)."""

    def __init__(
        self,
        name: str = "sparse_categorical_crossentropy",
        dtype: Any = None,
        from_logits: bool = False,
    ):
        super().__init__(
            losses.sparse_categorical_crossentropy,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
        )
