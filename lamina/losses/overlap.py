"""Overlap losses for segmentation masks: Dice and its weighted form, Tversky.

Both sum over `axis` (None: every axis, giving one value for the whole batch; a tuple
such as (1, 2, 3): one value per sample), as Keras does.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import config
from lamina.losses.base import LossFunctionWrapper, Tensor, _pred, register_function, register_loss


def _dims(axis: int | list[int] | tuple[int, ...] | None) -> Any:
    """torch's `dim`: None for every axis, a tuple for several."""
    return tuple(axis) if isinstance(axis, (list, tuple)) else axis


def _overlap_pair(y_true: Any, y_pred: Any) -> tuple[Tensor, Tensor]:
    y_pred = _pred(y_pred)
    return torch.as_tensor(y_true, device=y_pred.device).to(y_pred.dtype), y_pred


@register_function("dice")
def dice(y_true: Any, y_pred: Any, axis: int | tuple[int, ...] | None = None) -> Tensor:
    """1 - 2 sum(t p) / (sum(t) + sum(p) + eps), sums over `axis`."""
    t, p = _overlap_pair(y_true, y_pred)
    dim = _dims(axis)
    intersection = torch.sum(t * p, dim=dim)
    return 1.0 - 2.0 * intersection / (
        torch.sum(t, dim=dim) + torch.sum(p, dim=dim) + config.epsilon()
    )


@register_function("tversky")
def tversky(
    y_true: Any,
    y_pred: Any,
    alpha: float = 0.5,
    beta: float = 0.5,
    axis: int | tuple[int, ...] | None = None,
) -> Tensor:
    """1 - tp / (tp + alpha fp + beta fn + eps) with Keras's soft counts over `axis`.

    As in Keras, fp = sum((1 - p) t) and fn = sum(p (1 - t)); alpha = beta = 0.5 is Dice.
    """
    t, p = _overlap_pair(y_true, y_pred)
    dim = _dims(axis)
    tp = torch.sum(t * p, dim=dim)
    fp = torch.sum((1.0 - p) * t, dim=dim)
    fn = torch.sum(p * (1.0 - t), dim=dim)
    return 1.0 - tp / (tp + fp * alpha + fn * beta + config.epsilon())


@register_loss("Dice", "dice")
class Dice(LossFunctionWrapper):
    """Dice loss 1 - 2|T n P| / (|T| + |P|) of soft masks."""

    _target_kind = "same"

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "dice",
        axis: int | tuple[int, ...] | None = None,
        dtype: str | None = None,
    ):
        super().__init__(dice, reduction=reduction, name=name, dtype=dtype, axis=axis)


@register_loss("Tversky", "tversky")
class Tversky(LossFunctionWrapper):
    """Tversky loss: Dice with false positives weighted `alpha` and false negatives `beta`."""

    _target_kind = "same"

    def __init__(
        self,
        alpha: float = 0.5,
        beta: float = 0.5,
        reduction: str | None = "sum_over_batch_size",
        name: str = "tversky",
        axis: int | tuple[int, ...] | None = None,
        dtype: str | None = None,
    ):
        super().__init__(
            tversky, reduction=reduction, name=name, dtype=dtype, alpha=alpha, beta=beta, axis=axis
        )
