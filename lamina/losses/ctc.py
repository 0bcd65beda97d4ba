"""Connectionist Temporal Classification loss, on `torch.nn.functional.ctc_loss`.

Keras's conventions: `y_true` (batch, max_label_length) integer labels where 0 is the
blank and pads the end of shorter label sequences; `y_pred` (batch, time, classes)
unnormalized logits. Every sequence uses all `time` steps.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina.losses.base import LossFunctionWrapper, Tensor, _pred, register_function, register_loss

BLANK = 0


@register_function("ctc")
def ctc(y_true: Any, y_pred: Any) -> Tensor:
    """Per-sample CTC negative log-likelihood of the labels (0 = blank/padding) given logits."""
    y_pred = _pred(y_pred)
    labels = torch.as_tensor(y_true, device=y_pred.device)
    if labels.ndim != 2:
        raise ValueError(
            "Loss 'ctc' expected y_true of shape (batch_size, max_length) with integer labels, "
            f"received: y_true.shape={tuple(labels.shape)}"
        )
    if y_pred.ndim != 3:
        raise ValueError(
            "Loss 'ctc' expected y_pred logits of shape (batch_size, max_length, num_classes), "
            f"received: y_pred.shape={tuple(y_pred.shape)}"
        )
    labels = labels.long()
    batch, steps = y_pred.shape[0], y_pred.shape[1]
    log_probs = F.log_softmax(y_pred, dim=-1).transpose(0, 1)  # (time, batch, classes)
    input_lengths = torch.full((batch,), steps, dtype=torch.long, device=y_pred.device)
    target_lengths = (labels != BLANK).sum(-1)
    return F.ctc_loss(
        log_probs, labels, input_lengths, target_lengths, blank=BLANK, reduction="none"
    )


@register_loss("CTC", "ctc")
class CTC(LossFunctionWrapper):
    """CTC loss of padded integer label sequences against per-step class logits."""

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "ctc",
        dtype: str | None = None,
    ):
        super().__init__(ctc, reduction=reduction, name=name, dtype=dtype)
