"""Confusion-matrix metrics: Precision, Recall and AUC (Keras's definitions).

Every state is a weighted count (true/false positives/negatives per threshold), so
the states of several ranks add up. Predictions are compared with
`y_pred > threshold`; any nonzero label is a positive.

    m = metrics.AUC()                      # 200 evenly spaced thresholds, ROC
    m.update_state(y_true, probabilities)
    m.result()
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import config
from lamina.losses import _same_rank
from lamina.metrics.base import Metric, Tensor, _div, _register, _tensor

NEG_INF = -1e10


def _filter_top_k(x: Tensor, k: int) -> Tensor:
    """Keep the k highest scores of the last axis; the others become NEG_INF."""
    keep = torch.zeros_like(x).scatter_(-1, x.topk(k, dim=-1).indices, 1.0)
    return x * keep + NEG_INF * (1.0 - keep)


def _flat_inputs(
    metric: Metric,
    y_true: Any,
    y_pred: Any,
    sample_weight: Any,
    top_k: int | None = None,
    class_id: int | None = None,
    flatten: bool = True,
) -> tuple[Tensor, Tensor, Tensor]:
    """Positive-label indicator, predictions and weights, aligned (flattened unless not)."""
    y_pred = _tensor(y_pred).to(metric.dtype)
    metric._follow(y_pred)
    y_true = _tensor(y_true, y_pred.device).to(metric.dtype)
    y_pred, y_true = _same_rank(y_pred, y_true)
    weight = None
    if sample_weight is not None:
        weight = _tensor(sample_weight, y_pred.device).to(metric.dtype)
        _, weight = _same_rank(y_true, weight.unsqueeze(-1), expand_rank_1=False)
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, top_k)
    if class_id is not None:
        y_true, y_pred = y_true[..., class_id, None], y_pred[..., class_id, None]
    weight = torch.ones_like(y_pred) if weight is None else weight.broadcast_to(y_pred.shape)
    labels = (y_true != 0).to(metric.dtype)
    if flatten:
        return labels.reshape(-1), y_pred.reshape(-1), weight.reshape(-1)
    return labels, y_pred, weight


def _counts(labels: Tensor, y_pred: Tensor, weight: Tensor, thresholds: Tensor) -> tuple:
    """(tp, fp, tn, fn) per threshold by direct comparison: O(thresholds x predictions).

    Inputs are (M,) or (M, L) (one curve per label); counts are (T,) or (T, L).
    """
    thr = thresholds.reshape(-1, *([1] * y_pred.ndim))
    pred_pos = (y_pred.unsqueeze(0) > thr).to(y_pred.dtype)  # (T, M) or (T, M, L)
    pos_w, neg_w = labels * weight, (1.0 - labels) * weight
    tp, fp = (pred_pos * pos_w).sum(1), (pred_pos * neg_w).sum(1)
    return tp, fp, neg_w.sum(0) - fp, pos_w.sum(0) - tp


def _bucketed_counts(
    labels: Tensor, y_pred: Tensor, weight: Tensor, num: int, with_epsilon: bool = True
) -> tuple:
    """(tp, fp, tn, fn) for thresholds [-eps, 1/(T-1), ..., (T-2)/(T-1), 1+eps] in O(T + M).

    A prediction p in [0, 1] exceeds thresholds 0..b with b = ceil(p (T-1)) - 1 (at
    least 0): histogram the b's, then a reversed cumulative sum gives the counts.
    Without the epsilon (thresholds [0, ..., 1], Keras's sensitivity/specificity
    metrics) a prediction of exactly 0 exceeds no threshold (b = -1: not histogrammed).
    Works on the last axis of 2-D inputs too (one curve per label, states (T, L)).
    """
    p = y_pred.clamp(0.0, 1.0)
    bucket = (torch.ceil(p * (num - 1)) - 1).long()
    pos_w, neg_w = labels * weight, (1.0 - labels) * weight
    hist_pos, hist_neg = pos_w, neg_w
    if not with_epsilon:  # the totals below still count every prediction
        hist_pos = torch.where(bucket < 0, 0.0, pos_w)
        hist_neg = torch.where(bucket < 0, 0.0, neg_w)
    bucket = bucket.clamp_min(0)
    if p.ndim == 2:  # multi-label: one histogram per label, flattened with offsets
        n_labels = p.shape[1]
        bucket = bucket * n_labels + torch.arange(n_labels, device=p.device)
        size, shape = num * n_labels, (num, n_labels)
    else:
        size, shape = num, (num,)
    zeros = torch.zeros(size, dtype=p.dtype, device=p.device)
    tp_b = zeros.index_add(0, bucket.reshape(-1), hist_pos.reshape(-1)).reshape(shape)
    fp_b = zeros.index_add(0, bucket.reshape(-1), hist_neg.reshape(-1)).reshape(shape)
    tp, fp = tp_b.flip(0).cumsum(0).flip(0), fp_b.flip(0).cumsum(0).flip(0)
    return tp, fp, neg_w.sum(0) - fp, pos_w.sum(0) - tp


def _check_thresholds(name: str, thresholds: list[float]) -> None:
    bad = [t for t in thresholds if not 0.0 <= t <= 1.0]
    if bad:
        raise ValueError(f"Metric '{name}' expected thresholds in [0, 1], received: {bad}")


class _ThresholdMetric(Metric):
    """Shared by Precision and Recall: counts at one or several thresholds."""

    _kinds: tuple[str, str] = ("true_positives", "false_positives")

    def __init__(
        self,
        thresholds: float | list[float] | None = None,
        top_k: int | None = None,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds, self.top_k, self.class_id = thresholds, top_k, class_id
        self._single = not isinstance(thresholds, (list, tuple))
        if thresholds is None:
            values = [0.5 if top_k is None else NEG_INF]
        else:
            values = [float(t) for t in (thresholds if not self._single else [thresholds])]
            _check_thresholds(self.name, values)
        self.thresholds = values
        self._thr = torch.tensor(values, dtype=self.dtype)
        for kind in self._kinds:
            self.add_state(kind, (len(values),))

    def to(self, device: torch.device | str) -> Metric:
        super().to(device)
        self._thr = self._thr.to(device)
        return self

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        flat = _flat_inputs(self, y_true, y_pred, sample_weight, self.top_k, self.class_id)
        tp, fp, _, fn = _counts(*flat, self._thr)
        counts = {"true_positives": tp, "false_positives": fp, "false_negatives": fn}
        for kind in self._kinds:
            self._add(kind, counts[kind])

    def _pick(self, values: Tensor) -> Tensor:
        return values[0] if self._single else values

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "thresholds": self.init_thresholds,
            "top_k": self.top_k,
            "class_id": self.class_id,
        }


@_register("Precision", "precision")
class Precision(_ThresholdMetric):
    """tp / (tp + fp) at `thresholds` (default 0.5); a list gives one value per threshold."""

    def __init__(
        self,
        thresholds: float | list[float] | None = None,
        top_k: int | None = None,
        class_id: int | None = None,
        name: str = "precision",
        dtype: Any = None,
    ):
        super().__init__(thresholds, top_k, class_id, name, dtype)

    def result(self) -> Tensor:
        tp = self.true_positives
        return self._pick(_div(tp, tp + self.false_positives))


@_register("Recall", "recall")
class Recall(_ThresholdMetric):
    """tp / (tp + fn) at `thresholds` (default 0.5); a list gives one value per threshold."""

    _kinds = ("true_positives", "false_negatives")

    def __init__(
        self,
        thresholds: float | list[float] | None = None,
        top_k: int | None = None,
        class_id: int | None = None,
        name: str = "recall",
        dtype: Any = None,
    ):
        super().__init__(thresholds, top_k, class_id, name, dtype)

    def result(self) -> Tensor:
        tp = self.true_positives
        return self._pick(_div(tp, tp + self.false_negatives))


_KINDS = ("true_positives", "false_positives", "true_negatives", "false_negatives")


@_register("AUC", "auc")
class AUC(Metric):
    """Area under the ROC (or PR) curve, from counts at evenly spaced thresholds.

    As Keras: thresholds [-eps, 1/(T-1), ..., (T-2)/(T-1), 1+eps] (or `thresholds`
    plus the two end points), Riemann sum with 'interpolation' (trapezoids for ROC,
    Davis & Goadrich interpolation for PR), 'minoring' or 'majoring'.
    `multi_label=True` computes one AUC per label (last axis) and averages them.
    """

    def __init__(
        self,
        num_thresholds: int = 200,
        curve: str = "ROC",
        summation_method: str = "interpolation",
        name: str = "auc",
        dtype: Any = None,
        thresholds: list[float] | None = None,
        multi_label: bool = False,
        num_labels: int | None = None,
        label_weights: list[float] | None = None,
        from_logits: bool = False,
    ):
        super().__init__(name=name, dtype=dtype)
        if str(curve).upper() not in ("ROC", "PR"):
            raise ValueError(
                f"Metric '{self.name}' expected curve 'ROC' or 'PR', received: curve={curve!r}"
            )
        methods = ("interpolation", "minoring", "majoring")
        if str(summation_method).lower() not in methods:
            raise ValueError(
                f"Metric '{self.name}' expected summation_method in {list(methods)}, "
                f"received: summation_method={summation_method!r}"
            )
        self.curve, self.summation_method = str(curve).upper(), str(summation_method).lower()
        self.multi_label, self.num_labels, self.from_logits = multi_label, num_labels, from_logits
        self.label_weights = None if label_weights is None else list(map(float, label_weights))
        self._init_thresholds = thresholds
        eps = config.epsilon()
        if thresholds is not None:
            inner = sorted(float(t) for t in thresholds)
            _check_thresholds(self.name, inner)
            self.num_thresholds = len(inner) + 2
            self._evenly = False
        else:
            if num_thresholds <= 1:
                raise ValueError(
                    f"Metric '{self.name}' expected num_thresholds > 1, "
                    f"received: num_thresholds={num_thresholds}"
                )
            self.num_thresholds = int(num_thresholds)
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._evenly = True
        self.thresholds = [0.0 - eps, *inner, 1.0 + eps]
        self._thr = torch.tensor(self.thresholds, dtype=self.dtype)
        self._lw = (
            None
            if self.label_weights is None
            else torch.tensor(self.label_weights, dtype=self.dtype)
        )
        if not multi_label or num_labels:
            self._build(num_labels if multi_label else None)

    def _build(self, num_labels: int | None) -> None:
        shape = (self.num_thresholds,) if num_labels is None else (self.num_thresholds, num_labels)
        for kind in _KINDS:
            self.add_state(kind, shape)

    def to(self, device: torch.device | str) -> Metric:
        super().to(device)
        self._thr = self._thr.to(device)
        self._lw = None if self._lw is None else self._lw.to(device)
        return self

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = _tensor(y_pred)
        if self.from_logits:
            y_pred = torch.sigmoid(y_pred)
        if self.multi_label and not self._states:
            self._build(y_pred.shape[-1])
        labels, preds, weight = _flat_inputs(self, y_true, y_pred, sample_weight, flatten=False)
        if self._lw is not None and not self.multi_label:
            weight = weight * self._lw
        if self.multi_label:  # (N, L): one curve per label
            labels, preds, weight = (t.reshape(-1, t.shape[-1]) for t in (labels, preds, weight))
        else:
            labels, preds, weight = labels.reshape(-1), preds.reshape(-1), weight.reshape(-1)
        if self._evenly:
            counts = _bucketed_counts(labels, preds, weight, self.num_thresholds)
        else:
            counts = _counts(labels, preds, weight, self._thr)
        tp, fp, tn, fn = counts
        self._add("true_positives", tp)
        self._add("false_positives", fp)
        self._add("true_negatives", tn)
        self._add("false_negatives", fn)

    def _average(self, per_label: Tensor) -> Tensor:
        if not self.multi_label:
            return per_label
        if self._lw is None:
            return per_label.mean()
        return _div((per_label * self._lw).sum(), self._lw.sum())

    def _interpolate_pr_auc(self) -> Tensor:
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _div(dtp, dp.clamp_min(0.0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        ratio = torch.where(both, _div(p[:-1], p[1:].clamp_min(0.0)), torch.ones_like(p[1:]))
        inc = _div(slope * (dtp + intercept * torch.log(ratio)), (tp[1:] + fn[1:]).clamp_min(0.0))
        return self._average(inc.sum(0))

    def result(self) -> Tensor:
        if not self._states:
            return torch.zeros((), dtype=self.dtype)
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr_auc()
        tp, fp = self.true_positives, self.false_positives
        tn, fn = self.true_negatives, self.false_negatives
        recall = _div(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _div(fp, fp + tn), recall
        else:
            x, y = recall, _div(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = torch.minimum(y[:-1], y[1:])
        else:
            heights = torch.maximum(y[:-1], y[1:])
        return self._average(((x[:-1] - x[1:]) * heights).sum(0))

    def get_config(self) -> dict[str, Any]:
        config = {
            **super().get_config(),
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": self.label_weights,
            "from_logits": self.from_logits,
        }
        if self._init_thresholds is not None:
            config["thresholds"] = list(self._init_thresholds)
        return config
