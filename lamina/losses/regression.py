"""Regression losses: squared, absolute, percentage and logarithmic errors, Huber,
log-cosh and cosine similarity, each as a per-sample function and a Keras class."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from lamina import config
from lamina.losses.base import (
    LossFunctionWrapper,
    Tensor,
    _pair,
    register_function,
    register_loss,
)

# ------------------------------------------------------ per-sample functions


@register_function("mean_squared_error", "mse")
def mean_squared_error(y_true: Any, y_pred: Any) -> Tensor:
    """mean((y_pred - y_true)**2, axis=-1)"""
    y_true, y_pred = _pair(y_true, y_pred)
    return (y_pred - y_true).square().mean(-1)


@register_function("mean_absolute_error", "mae")
def mean_absolute_error(y_true: Any, y_pred: Any) -> Tensor:
    """mean(|y_pred - y_true|, axis=-1)"""
    y_true, y_pred = _pair(y_true, y_pred)
    return (y_pred - y_true).abs().mean(-1)


@register_function("mean_absolute_percentage_error", "mape")
def mean_absolute_percentage_error(y_true: Any, y_pred: Any) -> Tensor:
    """100 * mean(|(y_true - y_pred) / max(|y_true|, eps)|, axis=-1)"""
    y_true, y_pred = _pair(y_true, y_pred)
    diff = (y_true - y_pred) / y_true.abs().clamp_min(config.epsilon())
    return 100.0 * diff.abs().mean(-1)


@register_function("mean_squared_logarithmic_error", "msle")
def mean_squared_logarithmic_error(y_true: Any, y_pred: Any) -> Tensor:
    """mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))**2, axis=-1)"""
    y_true, y_pred = _pair(y_true, y_pred)
    eps = config.epsilon()
    return (
        (torch.log1p(y_pred.clamp_min(eps)) - torch.log1p(y_true.clamp_min(eps))).square().mean(-1)
    )


@register_function("sum_squared_error", "sse")
def sum_squared_error(y_true: Any, y_pred: Any) -> Tensor:
    """The courses' SSE per sample: sum((y_pred - y_true)**2, axis=-1)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return (y_pred - y_true).square().sum(-1)


@register_function("huber", "huber_loss")
def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> Tensor:
    """mean(0.5 e**2 if |e| <= delta else delta |e| - 0.5 delta**2, axis=-1)"""
    y_true, y_pred = _pair(y_true, y_pred)
    err = y_pred - y_true
    abs_err = err.abs()
    quad = 0.5 * err.square()
    lin = delta * abs_err - 0.5 * delta**2
    return torch.where(abs_err <= delta, quad, lin).mean(-1)


@register_function("log_cosh", "logcosh")
def log_cosh(y_true: Any, y_pred: Any) -> Tensor:
    """mean(log(cosh(y_pred - y_true)), axis=-1), computed without overflow."""
    y_true, y_pred = _pair(y_true, y_pred)
    x = y_pred - y_true
    return (x + F.softplus(-2.0 * x) - math.log(2.0)).mean(-1)


@register_function("cosine_similarity")
def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> Tensor:
    """-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis): -1 is best."""
    y_true, y_pred = _pair(y_true, y_pred)
    eps = config.epsilon()
    t = F.normalize(y_true, dim=axis, eps=eps)
    p = F.normalize(y_pred, dim=axis, eps=eps)
    return -(t * p).sum(axis)


# ----------------------------------------------------------------- classes


@register_loss("MeanSquaredError", "mean_squared_error", "mse")
class MeanSquaredError(LossFunctionWrapper):
    """Mean of squared errors over the last axis (`mean_squared_error`)."""

    _target_kind = "same"

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "mean_squared_error",
        dtype: str | None = None,
    ):
        super().__init__(mean_squared_error, reduction=reduction, name=name, dtype=dtype)


@register_loss("MeanAbsoluteError", "mean_absolute_error", "mae")
class MeanAbsoluteError(LossFunctionWrapper):
    """Mean of absolute errors over the last axis (`mean_absolute_error`)."""

    _target_kind = "same"

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "mean_absolute_error",
        dtype: str | None = None,
    ):
        super().__init__(mean_absolute_error, reduction=reduction, name=name, dtype=dtype)


@register_loss("MeanAbsolutePercentageError", "mean_absolute_percentage_error", "mape")
class MeanAbsolutePercentageError(LossFunctionWrapper):
    """Mean absolute error relative to |y_true|, in percent."""

    _target_kind = "same"

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "mean_absolute_percentage_error",
        dtype: str | None = None,
    ):
        super().__init__(
            mean_absolute_percentage_error, reduction=reduction, name=name, dtype=dtype
        )


@register_loss("MeanSquaredLogarithmicError", "mean_squared_logarithmic_error", "msle")
class MeanSquaredLogarithmicError(LossFunctionWrapper):
    """Mean squared error of log(1 + y): relative errors for positive targets."""

    _target_kind = "same"

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "mean_squared_logarithmic_error",
        dtype: str | None = None,
    ):
        super().__init__(
            mean_squared_logarithmic_error, reduction=reduction, name=name, dtype=dtype
        )


@register_loss("SumSquaredError", "sum_squared_error", "sse")
class SumSquaredError(LossFunctionWrapper):
    """Sum of squared errors over the last axis: the courses' SSE (not in Keras)."""

    _target_kind = "same"

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "sum_squared_error",
        dtype: str | None = None,
    ):
        super().__init__(sum_squared_error, reduction=reduction, name=name, dtype=dtype)


@register_loss("Huber", "huber", "huber_loss")
class Huber(LossFunctionWrapper):
    """Squared error below `delta`, linear above: robust to outliers."""

    _target_kind = "same"

    def __init__(
        self,
        delta: float = 1.0,
        reduction: str | None = "sum_over_batch_size",
        name: str = "huber_loss",
        dtype: str | None = None,
    ):
        super().__init__(huber, reduction=reduction, name=name, dtype=dtype, delta=delta)


@register_loss("LogCosh", "log_cosh", "logcosh")
class LogCosh(LossFunctionWrapper):
    """log(cosh(error)): about e**2 / 2 for small errors and |e| - log 2 for large ones."""

    _target_kind = "same"

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "log_cosh",
        dtype: str | None = None,
    ):
        super().__init__(log_cosh, reduction=reduction, name=name, dtype=dtype)


@register_loss("CosineSimilarity", "cosine_similarity")
class CosineSimilarity(LossFunctionWrapper):
    """Negative cosine similarity along `axis`: -1 when the vectors point the same way."""

    _target_kind = "same"

    def __init__(
        self,
        axis: int = -1,
        reduction: str | None = "sum_over_batch_size",
        name: str = "cosine_similarity",
        dtype: str | None = None,
    ):
        super().__init__(cosine_similarity, reduction=reduction, name=name, dtype=dtype, axis=axis)
