"""Metrics by Keras name: streaming statistics updated batch by batch.

    from lamina import metrics
    m = metrics.get("accuracy", loss="sparse_categorical_crossentropy")
    m.update_state(torch.tensor([1, 0]), torch.tensor([[0.2, 0.8], [0.6, 0.4]]))
    m.result()  # tensor(1.)

The package, bottom to top: `base` (the Metric contract, Sum, Mean, MeanMetricWrapper),
`accuracy_metrics` (named so it does not shadow the public function `metrics.accuracy`),
`regression`, `probabilistic` (cross-entropies), `confusion` (Precision, Recall, AUC),
`f_score`, and `resolve` (get, serialize). This module only re-exports.
"""

from lamina.metrics.accuracy_metrics import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from lamina.metrics.base import Mean, MeanMetricWrapper, Metric, Sum
from lamina.metrics.confusion import AUC, Precision, Recall
from lamina.metrics.f_score import F1Score, FBetaScore
from lamina.metrics.probabilistic import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
)
from lamina.metrics.regression import (
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    RootMeanSquaredError,
)
from lamina.metrics.resolve import get, serialize

__all__ = [
    "AUC",
    "Accuracy",
    "BinaryAccuracy",
    "BinaryCrossentropy",
    "CategoricalAccuracy",
    "CategoricalCrossentropy",
    "F1Score",
    "FBetaScore",
    "Mean",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanMetricWrapper",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Metric",
    "Precision",
    "Recall",
    "RootMeanSquaredError",
    "SparseCategoricalAccuracy",
    "SparseCategoricalCrossentropy",
    "SparseTopKCategoricalAccuracy",
    "Sum",
    "TopKCategoricalAccuracy",
    "accuracy",
    "binary_accuracy",
    "categorical_accuracy",
    "get",
    "serialize",
    "sparse_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
    "top_k_categorical_accuracy",
]
