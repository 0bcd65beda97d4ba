"""Probabilistic losses: binary, categorical and sparse categorical cross-entropy,
Kullback-Leibler divergence and Poisson, each as a per-sample function and a Keras class.

Cross-entropies on probabilities clip to [eps, 1 - eps]; the classes fuse with the
output layer's sigmoid/softmax (`Loss.logits_variant`), which the engine uses to
compute the loss from logits, stable where the probabilities saturate.
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


@register_function("binary_crossentropy", "log_loss", "bce")
def binary_crossentropy(
    y_true: Any,
    y_pred: Any,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Tensor:
    """mean(-(t log p + (1 - t) log(1 - p)), axis); label smoothing pulls t towards 0.5."""
    y_true, y_pred = _pair(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        bce = F.binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
    else:
        eps = config.epsilon()
        p = y_pred.clamp(eps, 1.0 - eps)
        bce = -(y_true * torch.log(p) + (1.0 - y_true) * torch.log1p(-p))
    return bce.mean(axis)


@register_function("categorical_crossentropy", "cce")
def categorical_crossentropy(
    y_true: Any,
    y_pred: Any,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Tensor:
    """-sum(t * log p, axis) with p = y_pred / sum(y_pred) clipped to [eps, 1 - eps].

    Label smoothing mixes t with the uniform distribution: t (1 - ls) + ls / C.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    if from_logits:
        # torch's label_smoothing is Keras's definition (checked in the tests).
        return F.cross_entropy(
            y_pred.movedim(axis, 1),
            y_true.movedim(axis, 1),
            reduction="none",
            label_smoothing=float(label_smoothing),
        )
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[axis]
    eps = config.epsilon()
    p = (y_pred / y_pred.sum(axis, keepdim=True)).clamp(eps, 1.0 - eps)
    return -(y_true * torch.log(p)).sum(axis)


@register_function("sparse_categorical_crossentropy", "scce")
def sparse_categorical_crossentropy(
    y_true: Any,
    y_pred: Any,
    from_logits: bool = False,
    ignore_class: int | None = None,
    axis: int = -1,
) -> Tensor:
    """-log p[label]: integer labels (N,) or (N, 1), float or int; ignore_class gives 0."""
    y_pred = _pred(y_pred)
    labels = _labels(y_true, y_pred)
    valid = None
    if ignore_class is not None:
        valid = labels != ignore_class
        labels = torch.where(valid, labels, torch.zeros_like(labels))
    labels = labels.long()
    if from_logits:
        res = F.cross_entropy(y_pred.movedim(axis, 1), labels, reduction="none")
    else:
        eps = config.epsilon()
        p = (y_pred / y_pred.sum(axis, keepdim=True)).clamp(eps, 1.0 - eps)
        res = -torch.log(p.gather(axis, labels.unsqueeze(axis))).squeeze(axis)
    return res if valid is None else torch.where(valid, res, torch.zeros_like(res))


@register_function("kl_divergence", "kld", "kullback_leibler_divergence")
def kl_divergence(y_true: Any, y_pred: Any) -> Tensor:
    """sum(t log(t / p), axis=-1), both clipped to [eps, 1]."""
    y_true, y_pred = _pair(y_true, y_pred)
    eps = config.epsilon()
    t, p = y_true.clamp(eps, 1.0), y_pred.clamp(eps, 1.0)
    return (t * torch.log(t / p)).sum(-1)


@register_function("poisson")
def poisson(y_true: Any, y_pred: Any) -> Tensor:
    """mean(y_pred - y_true * log(y_pred + eps), axis=-1)"""
    y_true, y_pred = _pair(y_true, y_pred)
    return (y_pred - y_true * torch.log(y_pred + config.epsilon())).mean(-1)


def _fusable(loss: LossFunctionWrapper, y_true: Any, y_pred: Tensor) -> bool:
    """Whether the unweighted batch mean of this logits loss is one `F.cross_entropy`."""
    return (
        bool(loss.from_logits)
        and isinstance(y_true, Tensor)
        and y_pred.ndim == 2
        and loss.axis in (-1, 1)
    )


# ----------------------------------------------------------------- classes


@register_loss("BinaryCrossentropy", "binary_crossentropy", "log_loss", "bce")
class BinaryCrossentropy(LossFunctionWrapper):
    """Cross-entropy of independent 0/1 targets; fuses with a final sigmoid."""

    _target_kind = "binary"
    _fuses_with = "sigmoid"

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str | None = "sum_over_batch_size",
        name: str = "binary_crossentropy",
        dtype: str | None = None,
    ):
        super().__init__(
            binary_crossentropy,
            reduction=reduction,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )


@register_loss("CategoricalCrossentropy", "categorical_crossentropy", "cce")
class CategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy of one-hot (or soft) targets; fuses with a final softmax."""

    _target_kind = "categorical"
    _fuses_with = "softmax"

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str | None = "sum_over_batch_size",
        name: str = "categorical_crossentropy",
        dtype: str | None = None,
    ):
        super().__init__(
            categorical_crossentropy,
            reduction=reduction,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )

    def _fused_mean(self, y_true: Any, y_pred: Tensor) -> Tensor | None:
        if (
            _fusable(self, y_true, y_pred)
            and not self.label_smoothing
            and y_true.shape == y_pred.shape
            and y_true.dtype == y_pred.dtype
        ):
            return F.cross_entropy(y_pred, y_true)
        return None


@register_loss("SparseCategoricalCrossentropy", "sparse_categorical_crossentropy", "scce")
class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy of integer class labels; `ignore_class` entries count for nothing."""

    _target_kind = "sparse"
    _fuses_with = "softmax"

    def __init__(
        self,
        from_logits: bool = False,
        ignore_class: int | None = None,
        reduction: str | None = "sum_over_batch_size",
        axis: int = -1,
        name: str = "sparse_categorical_crossentropy",
        dtype: str | None = None,
    ):
        super().__init__(
            sparse_categorical_crossentropy,
            reduction=reduction,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            ignore_class=ignore_class,
            axis=axis,
        )

    def _fused_mean(self, y_true: Any, y_pred: Tensor) -> Tensor | None:
        if (
            _fusable(self, y_true, y_pred)
            and self.ignore_class is None
            and y_true.ndim == 1
            and not y_true.is_floating_point()
        ):
            return F.cross_entropy(y_pred, y_true.long())
        return None


@register_loss("KLDivergence", "kl_divergence", "kld", "kullback_leibler_divergence")
class KLDivergence(LossFunctionWrapper):
    """Kullback-Leibler divergence of y_pred from the target distribution y_true."""

    _target_kind = "same"

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "kl_divergence",
        dtype: str | None = None,
    ):
        super().__init__(kl_divergence, reduction=reduction, name=name, dtype=dtype)


@register_loss("Poisson", "poisson")
class Poisson(LossFunctionWrapper):
    """Poisson negative log-likelihood of counts y_true with rate y_pred (up to a constant)."""

    _target_kind = "same"

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "poisson",
        dtype: str | None = None,
    ):
        super().__init__(poisson, reduction=reduction, name=name, dtype=dtype)
