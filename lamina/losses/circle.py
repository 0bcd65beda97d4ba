"""Circle loss (Sun et al., 2020) for metric learning on L2-normalized embeddings.

Pairs of the same label are pulled together and pairs of different labels pushed
apart, each pair weighted by how far it is from its optimum. As in Keras, the class
averages over the samples whose loss is positive (the others are masked out).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina.losses.base import LossFunctionWrapper, Tensor, _pred, register_function, register_loss


def _pos_neg_masks(
    labels: Tensor, ref_labels: Tensor, remove_diagonal: bool
) -> tuple[Tensor, Tensor]:
    """(same label, different label) pair masks; the diagonal is no positive pair."""
    positive = labels.reshape(-1, 1) == ref_labels.reshape(1, -1)
    negative = ~positive
    if remove_diagonal:
        eye = torch.eye(*positive.shape, dtype=torch.bool, device=positive.device)
        positive = positive & ~eye
    return positive, negative


@register_function("circle")
def circle(
    y_true: Any,
    y_pred: Any,
    ref_labels: Any = None,
    ref_embeddings: Any = None,
    remove_diagonal: bool = True,
    gamma: float = 80,
    margin: float = 0.4,
) -> Tensor:
    """Per-sample circle loss softplus(logsumexp(positive terms) + logsumexp(negative terms)).

    `y_true` integer labels (N,), `y_pred` normalized embeddings (N, D); the reference
    set defaults to the batch itself.
    """
    y_pred = _pred(y_pred)
    labels = torch.as_tensor(y_true, device=y_pred.device).to(torch.int32)
    refs = y_pred if ref_embeddings is None else _pred(ref_embeddings).to(y_pred.device)
    ref_labels = (
        labels
        if ref_labels is None
        else torch.as_tensor(ref_labels, device=y_pred.device).to(torch.int32)
    )
    distances = (1.0 - y_pred @ refs.T).clamp_min(0.0)
    positive, negative = _pos_neg_masks(labels, ref_labels, remove_diagonal)
    pos_weights = ((margin + distances) * positive).clamp_min(0.0)
    neg_weights = ((1.0 + margin - distances) * negative).clamp_min(0.0)
    pos_terms = -gamma * pos_weights * (margin - distances)
    neg_terms = gamma * neg_weights * ((1.0 - margin) - distances)
    ninf = torch.tensor(float("-inf"), dtype=y_pred.dtype, device=y_pred.device)
    p_loss = torch.logsumexp(torch.where(positive, pos_terms, ninf), dim=1)
    n_loss = torch.logsumexp(torch.where(negative, neg_terms, ninf), dim=1)
    return F.softplus(p_loss + n_loss)


@register_loss("Circle", "circle")
class Circle(LossFunctionWrapper):
    """Circle loss of integer labels and L2-normalized embeddings; mean over positive losses."""

    def __init__(
        self,
        gamma: float = 80.0,
        margin: float = 0.4,
        remove_diagonal: bool = True,
        reduction: str | None = "sum_over_batch_size",
        name: str = "circle",
        dtype: str | None = None,
    ):
        super().__init__(
            circle,
            reduction=reduction,
            name=name,
            dtype=dtype,
            gamma=gamma,
            margin=margin,
            remove_diagonal=remove_diagonal,
        )

    def _mask(self, y_true: Tensor, values: Tensor) -> Tensor | None:
        """Only samples with a positive loss count, as Keras's mask on the values."""
        return values > 0
