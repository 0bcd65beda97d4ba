"""F-scores: FBetaScore and F1Score from per-class true/false positive and negative counts.

The states are weighted counts per class (created on the first batch, when the number of
classes is known), so the states of several ranks add up.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import config
from lamina.metrics.base import Metric, Tensor, _register, _tensor


@_register("FBetaScore", "fbeta_score")
class FBetaScore(Metric):
    """Per-class F-beta from tp/fp/fn counts on one-hot or multi-label (N, C) targets.

    threshold=None marks the top-scoring class of each sample as predicted; otherwise
    y_pred > threshold. average: None (one value per class), 'micro', 'macro', 'weighted'.
    """

    def __init__(
        self,
        average: str | None = None,
        beta: float = 1.0,
        threshold: float | None = None,
        name: str = "fbeta_score",
        dtype: Any = None,
    ):
        super().__init__(name=name, dtype=dtype)
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError(
                f"Metric '{self.name}' expected average in [None, 'micro', 'macro', 'weighted'], "
                f"received: average={average!r}"
            )
        if not beta > 0:
            raise ValueError(f"Metric '{self.name}' expected beta > 0, received: beta={beta!r}")
        self.average, self.beta, self.threshold = average, float(beta), threshold

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = _tensor(y_pred).to(self.dtype)
        self._follow(y_pred)
        y_true = _tensor(y_true, y_pred.device).to(self.dtype)
        if not self._states:
            for kind in (
                "true_positives",
                "false_positives",
                "false_negatives",
                "intermediate_weights",
            ):
                self.add_state(kind, (y_pred.shape[-1],))
        if self.threshold is None:
            top = y_pred.amax(-1, keepdim=True)
            pred = ((y_pred >= top) & (y_pred.abs() > 1e-9)).to(self.dtype)
        else:
            pred = (y_pred > self.threshold).to(self.dtype)
        w = None if sample_weight is None else _tensor(sample_weight, y_pred.device).to(self.dtype)

        def wsum(v: Tensor) -> Tensor:
            return (v if w is None else v * w.reshape(-1, 1)).sum(0)

        self._add("true_positives", wsum(pred * y_true))
        self._add("false_positives", wsum(pred * (1.0 - y_true)))
        self._add("false_negatives", wsum((1.0 - pred) * y_true))
        self._add("intermediate_weights", wsum(y_true))

    def result(self) -> Tensor:
        if not self._states:
            return torch.zeros((), dtype=self.dtype)
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        if self.average == "micro":
            tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
        eps, b2 = config.epsilon(), self.beta**2
        precision = tp / (tp + fp + eps)
        recall = tp / (tp + fn + eps)
        score = (1.0 + b2) * precision * recall / (b2 * precision + recall + eps)
        if self.average == "weighted":
            support = self.intermediate_weights
            return (score * support / (support.sum() + eps)).sum()
        return score.mean() if self.average is not None else score

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "average": self.average,
            "beta": self.beta,
            "threshold": self.threshold,
        }


@_register("F1Score", "f1_score", "f1")
class F1Score(FBetaScore):
    """F-beta with beta = 1: the harmonic mean of precision and recall."""

    def __init__(
        self,
        average: str | None = None,
        threshold: float | None = None,
        name: str = "f1_score",
        dtype: Any = None,
    ):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["beta"]
        return config
