"""Cross-entropies that down-weight easy or noisy examples: binary and categorical focal
cross-entropy (Lin et al., 2018) and generalized cross-entropy (Zhang & Sabuncu, 2018).

Like Keras, the focal losses with `from_logits=True` apply the sigmoid/softmax first and
then compute on clipped probabilities, so they agree with Keras to float precision.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina import config
from lamina.losses.base import (
    LossFunctionWrapper,
    Tensor,
    _labels,
    _pair,
    _pred,
    register_function,
    register_loss,
)

# ------------------------------------------------------ per-sample functions


@register_function("binary_focal_crossentropy")
def binary_focal_crossentropy(
    y_true: Any,
    y_pred: Any,
    apply_class_balancing: bool = False,
    alpha: float = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Tensor:
    """mean((1 - p_t)**gamma * bce, axis), p_t the probability given to the true label.

    With `apply_class_balancing`, positives weigh `alpha` and negatives `1 - alpha`.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        y_pred = torch.sigmoid(y_pred)
    eps = config.epsilon()
    p = y_pred.clamp(eps, 1.0 - eps)
    bce = -(y_true * torch.log(p) + (1.0 - y_true) * torch.log1p(-p))
    p_t = y_true * y_pred + (1.0 - y_true) * (1.0 - y_pred)
    focal = (1.0 - p_t).pow(gamma) * bce
    if apply_class_balancing:
        focal = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * focal
    return focal.mean(axis)


@register_function("categorical_focal_crossentropy")
def categorical_focal_crossentropy(
    y_true: Any,
    y_pred: Any,
    alpha: float | list[float] = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Tensor:
    """sum(alpha (1 - p)**gamma * (-t log p), axis), p = y_pred / sum(y_pred) clipped.

    `alpha` is a scalar or one weight per class; label smoothing is categorical's.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[-1]
    if from_logits:
        y_pred = torch.softmax(y_pred, dim=axis)
    eps = config.epsilon()
    p = (y_pred / y_pred.sum(axis, keepdim=True)).clamp(eps, 1.0 - eps)
    weight = torch.as_tensor(alpha, dtype=p.dtype, device=p.device) * (1.0 - p).pow(gamma)
    return (weight * -(y_true * torch.log(p))).sum(axis)


@register_function("categorical_generalized_cross_entropy")
def categorical_generalized_cross_entropy(y_true: Any, y_pred: Any, q: float) -> Tensor:
    """(1 - p**q) / q, p the probability of the integer label: CE as q -> 0, MAE at q = 1."""
    y_pred = _pred(y_pred)
    labels = _labels(y_true, y_pred).long()
    p = F.one_hot(labels, y_pred.shape[-1]).to(y_pred.dtype).mul(y_pred).sum(-1)
    return (1.0 - p.pow(q)) / q


# ----------------------------------------------------------------- classes


@register_loss("BinaryFocalCrossentropy", "binary_focal_crossentropy")
class BinaryFocalCrossentropy(LossFunctionWrapper):
    """Binary cross-entropy scaled by (1 - p_t)**gamma: hard examples dominate."""

    _target_kind = "binary"

    def __init__(
        self,
        apply_class_balancing: bool = False,
        alpha: float = 0.25,
        gamma: float = 2.0,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str | None = "sum_over_batch_size",
        name: str = "binary_focal_crossentropy",
        dtype: str | None = None,
    ):
        super().__init__(
            binary_focal_crossentropy,
            reduction=reduction,
            name=name,
            dtype=dtype,
            apply_class_balancing=apply_class_balancing,
            alpha=alpha,
            gamma=gamma,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )


@register_loss("CategoricalFocalCrossentropy", "categorical_focal_crossentropy")
class CategoricalFocalCrossentropy(LossFunctionWrapper):
    """Categorical cross-entropy scaled by alpha (1 - p)**gamma per class, one-hot targets."""

    _target_kind = "categorical"

    def __init__(
        self,
        alpha: float | list[float] = 0.25,
        gamma: float = 2.0,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str | None = "sum_over_batch_size",
        name: str = "categorical_focal_crossentropy",
        dtype: str | None = None,
    ):
        super().__init__(
            categorical_focal_crossentropy,
            reduction=reduction,
            name=name,
            dtype=dtype,
            alpha=alpha,
            gamma=gamma,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )


@register_loss("CategoricalGeneralizedCrossEntropy", "categorical_generalized_cross_entropy")
class CategoricalGeneralizedCrossEntropy(LossFunctionWrapper):
    """Generalized cross-entropy (1 - p**q) / q of integer labels: robust to noisy labels."""

    _target_kind = "sparse"

    def __init__(
        self,
        q: float = 0.5,
        reduction: str | None = "sum_over_batch_size",
        name: str = "categorical_generalized_cross_entropy",
        dtype: str | None = None,
    ):
        if not 0 < q < 1:
            raise ValueError(f"Loss '{name}' expected q in the interval (0, 1), received: q={q!r}")
        super().__init__(
            categorical_generalized_cross_entropy, reduction=reduction, name=name, dtype=dtype, q=q
        )
