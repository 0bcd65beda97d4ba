"""Regression metrics: running means of the regression losses' per-sample values, cosine
similarity, and RMSE.

The per-sample functions are the losses' own (`lamina.losses`), so a metric and the loss
of the same name agree; `RootMeanSquaredError` takes the square root of the mean at the end.
"""

from __future__ import annotations

from typing import Any

from lamina import losses
from lamina.losses import _same_rank
from lamina.metrics.base import Mean, MeanMetricWrapper, Tensor, _register, _tensor


@_register("MeanSquaredError", "mean_squared_error", "mse")
class MeanSquaredError(MeanMetricWrapper):
    """The mean of the squared errors over all samples seen."""

    def __init__(self, name: str = "mean_squared_error", dtype: Any = None):
        super().__init__(losses.mean_squared_error, name=name, dtype=dtype)


@_register("MeanAbsoluteError", "mean_absolute_error", "mae")
class MeanAbsoluteError(MeanMetricWrapper):
    """The mean of the absolute errors over all samples seen."""

    def __init__(self, name: str = "mean_absolute_error", dtype: Any = None):
        super().__init__(losses.mean_absolute_error, name=name, dtype=dtype)


@_register("MeanAbsolutePercentageError", "mean_absolute_percentage_error", "mape")
class MeanAbsolutePercentageError(MeanMetricWrapper):
    """The mean of 100 |y_true - y_pred| / |y_true| over all samples seen."""

    def __init__(self, name: str = "mean_absolute_percentage_error", dtype: Any = None):
        super().__init__(losses.mean_absolute_percentage_error, name=name, dtype=dtype)


@_register("MeanSquaredLogarithmicError", "mean_squared_logarithmic_error", "msle")
class MeanSquaredLogarithmicError(MeanMetricWrapper):
    """The mean of (log(1 + y_true) - log(1 + y_pred))^2 over all samples seen."""

    def __init__(self, name: str = "mean_squared_logarithmic_error", dtype: Any = None):
        super().__init__(losses.mean_squared_logarithmic_error, name=name, dtype=dtype)


def _cosine_similarity(y_true: Tensor, y_pred: Tensor, axis: int = -1) -> Tensor:
    """sum(l2_normalize(y_true) * l2_normalize(y_pred), axis): 1 is best (minus the loss)."""
    return -losses.cosine_similarity(y_true, y_pred, axis=axis)


@_register("CosineSimilarity", "cosine_similarity")
class CosineSimilarity(MeanMetricWrapper):
    """The mean cosine similarity between targets and predictions along `axis`."""

    def __init__(self, name: str = "cosine_similarity", dtype: Any = None, axis: int = -1):
        super().__init__(_cosine_similarity, name=name, dtype=dtype, axis=axis)


@_register("LogCoshError", "logcosh", "log_cosh_error")
class LogCoshError(MeanMetricWrapper):
    """The mean of log(cosh(y_pred - y_true)) over all samples seen."""

    def __init__(self, name: str = "logcosh", dtype: Any = None):
        super().__init__(losses.log_cosh, name=name, dtype=dtype)


@_register("RootMeanSquaredError", "root_mean_squared_error", "rmse")
class RootMeanSquaredError(Mean):
    """sqrt of the mean squared error over all samples seen."""

    def __init__(self, name: str = "root_mean_squared_error", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = _tensor(y_pred)
        y_true, y_pred = _same_rank(_tensor(y_true, y_pred.device).to(y_pred.dtype), y_pred)
        super().update_state((y_pred - y_true).square(), sample_weight)

    def result(self) -> Tensor:
        return super().result().sqrt()
