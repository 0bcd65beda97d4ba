"""Precision, Recall and AUC against NumPy counts and Keras's formulas, with weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from metric_batches import split

from lamina import metrics

RNG = np.random.default_rng(1)


def _np_counts(y, s, w, thr):
    pred = s[None, :] > np.asarray(thr)[:, None]
    pos, neg = (y != 0) * w, (y == 0) * w
    tp, fp = (pred * pos).sum(1), (pred * neg).sum(1)
    return tp, fp, neg.sum() - fp, pos.sum() - tp


def test_precision_recall_match_numpy():
    n = 30
    y = RNG.integers(0, 2, (n, 3))
    s = RNG.uniform(size=(n, 3))
    w = RNG.uniform(0, 2, n)
    thr = [0.2, 0.5, 0.8]
    tp, fp, _, fn = _np_counts(y.ravel(), s.ravel(), np.repeat(w, 3), thr)
    p, r = metrics.Precision(thresholds=thr), metrics.Recall(thresholds=thr)
    for a, b, c in split(y, s, w, sizes=(10, 12, 8)):
        p.update_state(a, torch.as_tensor(b), sample_weight=c)
        r.update_state(torch.as_tensor(a), b, sample_weight=torch.as_tensor(c))
    np.testing.assert_allclose(p.result().numpy(), tp / (tp + fp), rtol=1e-5)
    np.testing.assert_allclose(r.result().numpy(), tp / (tp + fn), rtol=1e-5)
    # default threshold 0.5, one class, scalar result
    p1 = metrics.Precision(class_id=1)
    p1.update_state(y, s)
    tp, fp, _, _ = _np_counts(y[:, 1], s[:, 1], np.ones(n), [0.5])
    assert p1.result().ndim == 0 and p1.result().item() == pytest.approx(
        (tp / (tp + fp))[0], rel=1e-6
    )
    # top_k=1: only the highest score of each row counts as predicted positive
    rk = metrics.Recall(top_k=1)
    rk.update_state(y, s)
    top = s == s.max(-1, keepdims=True)
    assert rk.result().item() == pytest.approx((top & (y == 1)).sum() / (y == 1).sum(), rel=1e-6)
    # no positives predicted -> 0, not NaN
    empty = metrics.Precision()
    empty.update_state([1, 0], [0.1, 0.2])
    assert empty.result().item() == 0.0


def _np_exact_auc(y, s, w):
    """Weighted Mann-Whitney statistic: P(score_pos > score_neg) + 0.5 P(tie)."""
    pos, neg = y == 1, y == 0
    sp, sn, wp, wn = s[pos], s[neg], w[pos], w[neg]
    gt = (sp[:, None] > sn[None, :]) + 0.5 * (sp[:, None] == sn[None, :])
    return float((wp[:, None] * wn[None, :] * gt).sum() / (wp.sum() * wn.sum()))


def _np_keras_auc(y, s, w, num=200, curve="ROC", method="interpolation"):
    thr = [-1e-7] + [(i + 1) / (num - 1) for i in range(num - 2)] + [1 + 1e-7]
    tp, fp, tn, fn = _np_counts(y, s, w, thr)
    div = lambda a, b: np.where(b > 0, a / np.where(b > 0, b, 1), 0.0)  # noqa: E731
    if curve == "PR" and method == "interpolation":
        dtp, p = tp[:-1] - tp[1:], tp + fp
        dp = p[:-1] - p[1:]
        slope = div(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        ratio = np.where((p[:-1] > 0) & (p[1:] > 0), div(p[:-1], np.maximum(p[1:], 0)), 1.0)
        return float(
            div(slope * (dtp + intercept * np.log(ratio)), np.maximum(tp[1:] + fn[1:], 0)).sum()
        )
    recall = div(tp, tp + fn)
    x, yv = (div(fp, fp + tn), recall) if curve == "ROC" else (recall, div(tp, tp + fp))
    h = {
        "interpolation": (yv[:-1] + yv[1:]) / 2,
        "minoring": np.minimum(yv[:-1], yv[1:]),
        "majoring": np.maximum(yv[:-1], yv[1:]),
    }[method]
    return float(((x[:-1] - x[1:]) * h).sum())


def _auc_data(n=600):
    y = RNG.integers(0, 2, n)
    s = np.clip(_sigmoid_np(RNG.normal(size=n) + 1.2 * (2 * y - 1)), 0, 1)
    return y, s, RNG.uniform(0.2, 2, n)


def _sigmoid_np(z):
    return 1 / (1 + np.exp(-z))


def test_auc_roc_matches_exact_auc_and_keras_formula():
    y, s, w = _auc_data()
    m = metrics.AUC(dtype="float64")
    for a, b, c in split(y, s, w, sizes=(200, 250, 150)):
        m.update_state(torch.as_tensor(a), torch.as_tensor(b), sample_weight=torch.as_tensor(c))
    got = m.result().item()
    assert got == pytest.approx(_np_exact_auc(y, s, w), abs=1e-2)
    assert got == pytest.approx(_np_keras_auc(y, s, w), abs=1e-9)
    # float32 states (the default) agree closely too
    m32 = metrics.AUC()
    m32.update_state(y, s, sample_weight=w)
    assert m32.result().item() == pytest.approx(got, abs=1e-4)


@pytest.mark.parametrize(
    "curve,method",
    [("ROC", "minoring"), ("ROC", "majoring"), ("PR", "interpolation"), ("PR", "majoring")],
)
def test_auc_other_curves_and_summations(curve, method):
    y, s, w = _auc_data(300)
    m = metrics.AUC(curve=curve, summation_method=method, dtype="float64")
    m.update_state(y, s, sample_weight=w)
    assert m.result().item() == pytest.approx(_np_keras_auc(y, s, w, 200, curve, method), abs=1e-9)


def test_auc_keras_example_custom_thresholds_logits_and_multilabel():
    # Keras's documented example
    m = metrics.AUC(num_thresholds=3)
    m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    assert m.result().item() == pytest.approx(0.75)
    m.reset_state()
    m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9], sample_weight=[1, 0, 0, 1])
    assert m.result().item() == pytest.approx(1.0)
    # explicit thresholds (direct comparison) == evenly spaced ones (bucketing)
    y, s, w = _auc_data(200)
    even = metrics.AUC(num_thresholds=11, dtype="float64")
    explicit = metrics.AUC(thresholds=[i / 10 + 0.0 for i in range(1, 10)], dtype="float64")
    assert not explicit._evenly
    for mm in (even, explicit):
        mm.update_state(y, s, sample_weight=w)
    assert explicit.result().item() == pytest.approx(even.result().item(), abs=1e-12)
    # from_logits applies a sigmoid
    z = np.log(s / (1 - s + 1e-12) + 1e-12)
    lg = metrics.AUC(from_logits=True, dtype="float64")
    lg.update_state(y, z, sample_weight=w)
    assert lg.result().item() == pytest.approx(_np_keras_auc(y, _sigmoid_np(z), w), abs=1e-9)
    # multi_label: the mean of per-label AUCs
    y2 = np.stack([y, 1 - y], 1)
    s2 = np.stack([s, RNG.uniform(size=len(s))], 1)
    ml = metrics.AUC(multi_label=True, dtype="float64")
    ml.update_state(y2, s2)
    ones = np.ones(len(s))
    want = np.mean([_np_keras_auc(y2[:, j], s2[:, j], ones) for j in range(2)])
    assert ml.result().item() == pytest.approx(want, abs=1e-9)
