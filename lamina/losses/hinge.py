"""Hinge (max-margin) losses for -1/+1 labels (0/1 labels are converted), as per-sample
functions and Keras classes."""

from __future__ import annotations

from typing import Any

import torch

from lamina.losses.base import LossFunctionWrapper, Tensor, _pair, register_function, register_loss


def _hinge_targets(y_true: Tensor) -> Tensor:
    """0/1 labels become -1/+1 (decided on the whole batch, without a host sync)."""
    is_binary = ((y_true == 0) | (y_true == 1)).all()
    return torch.where(is_binary, 2.0 * y_true - 1.0, y_true)


@register_function("hinge")
def hinge(y_true: Any, y_pred: Any) -> Tensor:
    """mean(max(1 - y_true * y_pred, 0), axis=-1), labels -1/+1 (0/1 converted)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return (1.0 - _hinge_targets(y_true) * y_pred).clamp_min(0.0).mean(-1)


@register_function("squared_hinge")
def squared_hinge(y_true: Any, y_pred: Any) -> Tensor:
    """mean(max(1 - y_true * y_pred, 0)**2, axis=-1)"""
    y_true, y_pred = _pair(y_true, y_pred)
    return (1.0 - _hinge_targets(y_true) * y_pred).clamp_min(0.0).square().mean(-1)


@register_function("categorical_hinge")
def categorical_hinge(y_true: Any, y_pred: Any) -> Tensor:
    """max(max((1 - t) * p) - sum(t * p) + 1, 0) per sample, t one-hot."""
    y_true, y_pred = _pair(y_true, y_pred)
    pos = (y_true * y_pred).sum(-1)
    neg = ((1.0 - y_true) * y_pred).amax(-1)
    return (neg - pos + 1.0).clamp_min(0.0)


@register_loss("Hinge", "hinge")
class Hinge(LossFunctionWrapper):
    """Mean hinge loss max(1 - t p, 0) over the last axis."""

    _target_kind = "same"

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "hinge",
        dtype: str | None = None,
    ):
        super().__init__(hinge, reduction=reduction, name=name, dtype=dtype)


@register_loss("SquaredHinge", "squared_hinge")
class SquaredHinge(LossFunctionWrapper):
    """Mean squared hinge loss max(1 - t p, 0)**2 over the last axis."""

    _target_kind = "same"

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "squared_hinge",
        dtype: str | None = None,
    ):
        super().__init__(squared_hinge, reduction=reduction, name=name, dtype=dtype)


@register_loss("CategoricalHinge", "categorical_hinge")
class CategoricalHinge(LossFunctionWrapper):
    """Margin between the true class's score and the best other class's, one-hot targets."""

    _target_kind = "same"

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "categorical_hinge",
        dtype: str | None = None,
    ):
        super().__init__(categorical_hinge, reduction=reduction, name=name, dtype=dtype)
