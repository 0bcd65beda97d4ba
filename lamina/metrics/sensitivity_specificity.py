"""One rate at the best threshold where another reaches a target (Keras's definitions):
SensitivityAtSpecificity, SpecificityAtSensitivity, PrecisionAtRecall, RecallAtPrecision.

The states are tp/fp/tn/fn counts at `num_thresholds` evenly spaced thresholds from 0 to
1 (0.5 alone when num_thresholds=1), so the states of several ranks add up; `result`
takes the largest rate among the thresholds whose constraint rate is at least `value`
(0 if none is).
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.metrics.base import Metric, Tensor, _div, _register
from lamina.metrics.confusion import _bucketed_counts, _counts, _flat_inputs

_KINDS = ("true_positives", "false_positives", "true_negatives", "false_negatives")


class _RateAtRate(Metric):
    """Counts at evenly spaced thresholds; subclasses pick (constrained, reported) rates."""

    _value_name = "value"

    def __init__(
        self,
        value: float,
        num_thresholds: int = 200,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ):
        super().__init__(name=name, dtype=dtype)
        if not 0.0 <= value <= 1.0:
            raise ValueError(
                f"Metric '{self.name}' expected {self._value_name} in [0, 1], "
                f"received: {self._value_name}={value!r}"
            )
        if num_thresholds <= 0:
            raise ValueError(
                f"Metric '{self.name}' expected num_thresholds > 0, "
                f"received: num_thresholds={num_thresholds!r}"
            )
        self.value, self.num_thresholds, self.class_id = value, num_thresholds, class_id
        if num_thresholds == 1:
            self.thresholds = [0.5]
        else:
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self.thresholds = [0.0, *inner, 1.0]
        self._thr = torch.tensor(self.thresholds, dtype=self.dtype)
        for kind in _KINDS:
            self.add_state(kind, (len(self.thresholds),))

    def to(self, device: torch.device | str) -> Metric:
        super().to(device)
        self._thr = self._thr.to(device)
        return self

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        flat = _flat_inputs(self, y_true, y_pred, sample_weight, class_id=self.class_id)
        if self.num_thresholds == 1:
            counts = _counts(*flat, self._thr)
        else:
            counts = _bucketed_counts(*flat, self.num_thresholds, with_epsilon=False)
        for kind, count in zip(_KINDS, counts):
            self._add(kind, count)

    def _rates(self) -> dict[str, Tensor]:
        tp, fp = self.true_positives, self.false_positives
        tn, fn = self.true_negatives, self.false_negatives
        return {
            "sensitivity": _div(tp, tp + fn),
            "recall": _div(tp, tp + fn),
            "specificity": _div(tn, tn + fp),
            "precision": _div(tp, tp + fp),
        }

    _constrained, _reported = "specificity", "sensitivity"

    def result(self) -> Tensor:
        rates = self._rates()
        feasible = rates[self._constrained] >= self.value
        best = torch.where(feasible, rates[self._reported], torch.zeros_like(self._thr))
        return best.max().clamp_min(0.0)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "class_id": self.class_id,
            "num_thresholds": self.num_thresholds,
            self._value_name: self.value,
        }


@_register("SensitivityAtSpecificity", "sensitivity_at_specificity")
class SensitivityAtSpecificity(_RateAtRate):
    """The best sensitivity (recall) among thresholds with specificity >= `specificity`."""

    _value_name, _constrained, _reported = "specificity", "specificity", "sensitivity"

    def __init__(
        self,
        specificity: float,
        num_thresholds: int = 200,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)
        self.specificity = specificity


@_register("SpecificityAtSensitivity", "specificity_at_sensitivity")
class SpecificityAtSensitivity(_RateAtRate):
    """The best specificity among thresholds with sensitivity >= `sensitivity`."""

    _value_name, _constrained, _reported = "sensitivity", "sensitivity", "specificity"

    def __init__(
        self,
        sensitivity: float,
        num_thresholds: int = 200,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)
        self.sensitivity = sensitivity


@_register("PrecisionAtRecall", "precision_at_recall")
class PrecisionAtRecall(_RateAtRate):
    """The best precision among thresholds with recall >= `recall`."""

    _value_name, _constrained, _reported = "recall", "recall", "precision"

    def __init__(
        self,
        recall: float,
        num_thresholds: int = 200,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ):
        super().__init__(recall, num_thresholds, class_id, name, dtype)
        self.recall = recall


@_register("RecallAtPrecision", "recall_at_precision")
class RecallAtPrecision(_RateAtRate):
    """The best recall among thresholds with precision >= `precision`."""

    _value_name, _constrained, _reported = "precision", "precision", "recall"

    def __init__(
        self,
        precision: float,
        num_thresholds: int = 200,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ):
        super().__init__(precision, num_thresholds, class_id, name, dtype)
        self.precision = precision
