"""Weighted confusion counts at thresholds: TruePositives, FalsePositives, TrueNegatives,
FalseNegatives (Keras's definitions).

A prediction counts as positive when `y_pred > threshold`, a label when it is nonzero.
One threshold gives a scalar, a list one count per threshold. As in Keras, a list of at
least three evenly spaced thresholds from 0 to 1 is counted by bucketing the
predictions (a prediction of exactly 0 is then below every threshold).
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import config
from lamina.metrics.base import Metric, Tensor, _register
from lamina.metrics.confusion import _bucketed_counts, _check_thresholds, _counts, _flat_inputs

_INDEX = {"true_positives": 0, "false_positives": 1, "true_negatives": 2, "false_negatives": 3}


def _evenly_spaced(thresholds: list[float]) -> bool:
    """Keras's test: at least 3 thresholds equal to linspace(0, 1) within epsilon."""
    n = len(thresholds)
    if n < 3:
        return False
    return all(abs(t - i / (n - 1)) <= config.epsilon() for i, t in enumerate(thresholds))


class _ConfusionCount(Metric):
    """One weighted count (`_kind`) per threshold, in the state `accumulator`."""

    _kind = "true_positives"

    def __init__(
        self,
        thresholds: float | list[float] | None = None,
        name: str | None = None,
        dtype: Any = None,
    ):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self._single = not isinstance(thresholds, (list, tuple))
        values = (
            [0.5]
            if thresholds is None
            else [float(t) for t in ([thresholds] if self._single else thresholds)]
        )
        if thresholds is not None:
            _check_thresholds(self.name, values)
        self.thresholds = values
        self._evenly = _evenly_spaced(values)
        self._thr = torch.tensor(values, dtype=self.dtype)
        self.add_state("accumulator", (len(values),))

    def to(self, device: torch.device | str) -> Metric:
        super().to(device)
        self._thr = self._thr.to(device)
        return self

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        flat = _flat_inputs(self, y_true, y_pred, sample_weight)
        if self._evenly:
            counts = _bucketed_counts(*flat, len(self.thresholds), with_epsilon=False)
        else:
            counts = _counts(*flat, self._thr)
        self._add("accumulator", counts[_INDEX[self._kind]])

    def result(self) -> Tensor:
        return (
            self.accumulator[0].clone() if len(self.thresholds) == 1 else self.accumulator.clone()
        )

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": self.init_thresholds}


@_register("TruePositives", "true_positives")
class TruePositives(_ConfusionCount):
    """The weighted number of positive labels predicted positive."""

    _kind = "true_positives"

    def __init__(
        self,
        thresholds: float | list[float] | None = None,
        name: str | None = None,
        dtype: Any = None,
    ):
        super().__init__(thresholds=thresholds, name=name, dtype=dtype)


@_register("FalsePositives", "false_positives")
class FalsePositives(_ConfusionCount):
    """The weighted number of negative labels predicted positive."""

    _kind = "false_positives"

    def __init__(
        self,
        thresholds: float | list[float] | None = None,
        name: str | None = None,
        dtype: Any = None,
    ):
        super().__init__(thresholds=thresholds, name=name, dtype=dtype)


@_register("TrueNegatives", "true_negatives")
class TrueNegatives(_ConfusionCount):
    """The weighted number of negative labels predicted negative."""

    _kind = "true_negatives"

    def __init__(
        self,
        thresholds: float | list[float] | None = None,
        name: str | None = None,
        dtype: Any = None,
    ):
        super().__init__(thresholds=thresholds, name=name, dtype=dtype)


@_register("FalseNegatives", "false_negatives")
class FalseNegatives(_ConfusionCount):
    """The weighted number of positive labels predicted negative."""

    _kind = "false_negatives"

    def __init__(
        self,
        thresholds: float | list[float] | None = None,
        name: str | None = None,
        dtype: Any = None,
    ):
        super().__init__(thresholds=thresholds, name=name, dtype=dtype)
