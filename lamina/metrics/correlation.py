"""Correlation metrics: per-sample Pearson and concordance correlation along `axis`, and
their running means (Keras's PearsonCorrelation and ConcordanceCorrelation)."""

from __future__ import annotations

from typing import Any

from lamina import config
from lamina.losses import _same_rank
from lamina.metrics.base import MeanMetricWrapper, Tensor, _register, _tensor


def _aligned(y_true: Any, y_pred: Any) -> tuple[Tensor, Tensor]:
    y_pred = _tensor(y_pred)
    if not y_pred.is_floating_point():
        y_pred = y_pred.to(config.torch_dtype(None))
    return _same_rank(_tensor(y_true, y_pred.device).to(y_pred.dtype), y_pred)


def pearson_correlation(y_true: Any, y_pred: Any, axis: int = -1) -> Tensor:
    """Pearson's r of y_true and y_pred along `axis` (population standard deviations)."""
    y_true, y_pred = _aligned(y_true, y_pred)
    t = y_true - y_true.mean(axis, keepdim=True)
    p = y_pred - y_pred.mean(axis, keepdim=True)
    t = t / t.std(axis, correction=0, keepdim=True)
    p = p / p.std(axis, correction=0, keepdim=True)
    return (t * p).mean(axis)


def concordance_correlation(y_true: Any, y_pred: Any, axis: int = -1) -> Tensor:
    """Lin's concordance 2 cov / (var_t + var_p + (mean_t - mean_p)**2) along `axis`."""
    y_true, y_pred = _aligned(y_true, y_pred)
    mean_t = y_true.mean(axis, keepdim=True)
    mean_p = y_pred.mean(axis, keepdim=True)
    var_t = y_true.var(axis, correction=0, keepdim=True)
    var_p = y_pred.var(axis, correction=0, keepdim=True)
    covariance = (y_true - mean_p) * (y_pred - mean_p)  # averages to cov: mean(p - mean_p) = 0
    norm = var_t + var_p + (mean_t - mean_p).square()
    return (2.0 * covariance / (norm + config.epsilon())).mean(axis)


@_register("PearsonCorrelation", "pearson_correlation")
class PearsonCorrelation(MeanMetricWrapper):
    """The mean per-sample Pearson correlation along `axis`."""

    def __init__(self, name: str = "pearson_correlation", dtype: Any = None, axis: int = -1):
        super().__init__(pearson_correlation, name=name, dtype=dtype, axis=axis)


@_register("ConcordanceCorrelation", "concordance_correlation")
class ConcordanceCorrelation(MeanMetricWrapper):
    """The mean per-sample concordance correlation along `axis`."""

    def __init__(self, name: str = "concordance_correlation", dtype: Any = None, axis: int = -1):
        super().__init__(concordance_correlation, name=name, dtype=dtype, axis=axis)
