"""R2Score: the coefficient of determination 1 - SS_res / SS_tot per output column,
optionally aggregated and adjusted for the number of regressors (Keras's definition).

The states are weighted sums per column (sum, sum of squares, squared residuals, weight)
and the number of values seen, so the states of several ranks add up.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch

from lamina.losses import _same_rank
from lamina.metrics.base import Metric, Tensor, _register, _tensor

_AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")


@_register("R2Score", "r2_score")
class R2Score(Metric):
    """R^2 of (batch, outputs) targets; `class_aggregation` None keeps one per output."""

    def __init__(
        self,
        class_aggregation: str | None = "uniform_average",
        num_regressors: int = 0,
        name: str = "r2_score",
        dtype: Any = None,
    ):
        super().__init__(name=name, dtype=dtype)
        if class_aggregation not in _AGGREGATIONS:
            raise ValueError(
                f"Metric '{self.name}' expected class_aggregation in {list(_AGGREGATIONS)}, "
                f"received: class_aggregation={class_aggregation!r}"
            )
        if num_regressors < 0:
            raise ValueError(
                f"Metric '{self.name}' expected num_regressors >= 0, "
                f"received: num_regressors={num_regressors!r}"
            )
        self.class_aggregation, self.num_regressors = class_aggregation, num_regressors
        self.add_state("num_samples")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = _tensor(y_pred).to(self.dtype)
        self._follow(y_pred)
        y_true = _tensor(y_true, y_pred.device).to(self.dtype)
        y_true, y_pred = _same_rank(y_true, y_pred)
        if y_true.ndim != 2 or y_pred.ndim != 2:
            raise ValueError(
                f"Metric '{self.name}' expected 2D inputs of shape (batch_size, output_dim), "
                f"received: y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}"
            )
        if "sum" not in self._states:
            for state in ("squared_sum", "sum", "total_mse", "count"):
                self.add_state(state, (y_pred.shape[-1],))
        weight = torch.ones((), dtype=self.dtype, device=y_pred.device)
        if sample_weight is not None:
            weight = _tensor(sample_weight, y_pred.device).to(self.dtype)
            if weight.ndim == 1:
                weight = weight.unsqueeze(1)
        weight = weight.broadcast_to(y_true.shape)
        weighted = y_true * weight
        self._add("sum", weighted.sum(0))
        self._add("squared_sum", (y_true * weighted).sum(0))
        self._add("total_mse", ((y_true - y_pred).square() * weight).sum(0))
        self._add("count", weight.sum(0))
        self._add("num_samples", y_true.numel())

    def result(self) -> Tensor:
        if "sum" not in self._states:
            return torch.full((), float("nan"), dtype=self.dtype)
        mean = self.sum / self.count
        total = self.squared_sum - self.sum * mean
        raw = 1.0 - self.total_mse / total
        raw = torch.where(raw.isinf(), torch.zeros_like(raw), raw)
        if self.class_aggregation == "uniform_average":
            score = raw.mean()
        elif self.class_aggregation == "variance_weighted_average":
            score = (total * raw).sum() / total.sum()
        else:
            score = raw
        if self.num_regressors == 0:
            return score
        # Adjusted R^2; with too few samples Keras warns and falls back to the plain score.
        n, p = self.num_samples, float(self.num_regressors)
        if bool(n - 1.0 <= p):  # result() may sync: it reports, it does not accumulate
            warnings.warn(
                f"Metric '{self.name}' expected more values than num_regressors + 1 for the "
                f"adjusted R2 score, received: num_regressors={self.num_regressors}, "
                f"values={int(n)}; falling back to the standard R2 score.",
                stacklevel=2,
            )
            return score
        return 1.0 - (1.0 - score) * (n - 1.0) / (n - p - 1.0)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "class_aggregation": self.class_aggregation,
            "num_regressors": self.num_regressors,
        }
