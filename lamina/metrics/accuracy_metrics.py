"""Accuracy metrics: the per-sample hit functions and the running means of them.

Each function returns 1.0 where the prediction is right and 0.0 elsewhere (in floatx);
each class is a `MeanMetricWrapper` of its function, named and registered as in Keras.
The arguments follow Keras's order (`name`, `dtype`, then the function's options),
except top-k, where Keras puts `k` first.
"""

from __future__ import annotations

from typing import Any

from lamina import config
from lamina.losses import _labels, _same_rank
from lamina.metrics.base import MeanMetricWrapper, Tensor, _register, _tensor


def _floatx(mask: Tensor) -> Tensor:
    return mask.to(config.torch_dtype(None))


def accuracy(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """1 where y_pred equals y_true exactly (element-wise)."""
    y_true, y_pred = _same_rank(_tensor(y_true, y_pred.device), y_pred)
    return _floatx(y_true.to(y_pred.dtype) == y_pred)


def binary_accuracy(y_true: Tensor, y_pred: Tensor, threshold: float = 0.5) -> Tensor:
    """1 where (y_pred > threshold) equals the 0/1 label (element-wise)."""
    y_true, y_pred = _same_rank(_tensor(y_true, y_pred.device), y_pred)
    return _floatx(y_true.to(y_pred.dtype) == (y_pred > threshold).to(y_pred.dtype))


def categorical_accuracy(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """1 where argmax(y_pred) equals argmax(one-hot y_true), per sample."""
    return _floatx(_tensor(y_true, y_pred.device).argmax(-1) == y_pred.argmax(-1))


def sparse_categorical_accuracy(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """1 where argmax(y_pred) equals the integer label ((N,) or (N, 1)), per sample."""
    labels = _labels(y_true, y_pred)
    return _floatx(labels == y_pred.argmax(-1).to(labels.dtype))


def _in_top_k(labels: Tensor, y_pred: Tensor, k: int) -> Tensor:
    """Keras's rule: the label's score is at least the k-th largest score (ties count)."""
    kth = y_pred.topk(min(k, y_pred.shape[-1]), dim=-1).values[..., -1:]
    return _floatx(y_pred.gather(-1, labels.long().unsqueeze(-1)) >= kth).squeeze(-1)


def top_k_categorical_accuracy(y_true: Tensor, y_pred: Tensor, k: int = 5) -> Tensor:
    """1 where the one-hot target is among the k highest scores."""
    return _in_top_k(_tensor(y_true, y_pred.device).argmax(-1), y_pred, k)


def sparse_top_k_categorical_accuracy(
    y_true: Tensor, y_pred: Tensor, k: int = 5, from_sorted_ids: bool = False
) -> Tensor:
    """1 where the integer label is among the k highest scores, shaped like y_true.

    With `from_sorted_ids`, y_pred holds class ids sorted by score (e.g. from a
    top-k retrieval): 1 where the label is among its first k columns.
    """
    labels = _tensor(y_true, y_pred.device)
    if y_pred.ndim > 2:
        y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    flat = labels.reshape(-1)
    if from_sorted_ids:
        hits = _floatx((flat.unsqueeze(1).to(y_pred.dtype) == y_pred[:, :k]).any(1))
    else:
        hits = _in_top_k(flat, y_pred, k)
    return hits.reshape(labels.shape)


@_register("Accuracy", "accuracy")
class Accuracy(MeanMetricWrapper):
    """How often the prediction equals the target exactly."""

    def __init__(self, name: str = "accuracy", dtype: Any = None):
        super().__init__(accuracy, name=name, dtype=dtype)


@_register("BinaryAccuracy", "binary_accuracy")
class BinaryAccuracy(MeanMetricWrapper):
    """How often `y_pred > threshold` matches the 0/1 target (element-wise)."""

    def __init__(self, name: str = "binary_accuracy", dtype: Any = None, threshold: float = 0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)


@_register("CategoricalAccuracy", "categorical_accuracy")
class CategoricalAccuracy(MeanMetricWrapper):
    """How often the top-scoring class is the one-hot target's class."""

    def __init__(self, name: str = "categorical_accuracy", dtype: Any = None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


@_register("SparseCategoricalAccuracy", "sparse_categorical_accuracy")
class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the top-scoring class is the integer label."""

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype: Any = None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


@_register("TopKCategoricalAccuracy", "top_k_categorical_accuracy")
class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot target's class is among the `k` highest scores."""

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype: Any = None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)


@_register("SparseTopKCategoricalAccuracy", "sparse_top_k_categorical_accuracy")
class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the `k` highest scores."""

    def __init__(
        self,
        k: int = 5,
        name: str = "sparse_top_k_categorical_accuracy",
        dtype: Any = None,
        from_sorted_ids: bool = False,
    ):
        super().__init__(
            sparse_top_k_categorical_accuracy,
            name=name,
            dtype=dtype,
            k=k,
            from_sorted_ids=from_sorted_ids,
        )
