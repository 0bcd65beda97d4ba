"""FBetaScore/F1Score against NumPy for every average, with weights and thresholds."""

from __future__ import annotations

import numpy as np
import pytest
from metric_batches import softmax, split

from lamina import metrics

RNG = np.random.default_rng(1)


def _np_f1(y, pred, w, average):
    w = np.ones(len(y)) if w is None else w
    tp = ((pred * y) * w[:, None]).sum(0)
    fp = ((pred * (1 - y)) * w[:, None]).sum(0)
    fn = (((1 - pred) * y) * w[:, None]).sum(0)
    if average == "micro":
        tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
    f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1e-12), 0.0)
    if average == "weighted":
        support = (y * w[:, None]).sum(0)
        return (f1 * support / support.sum()).sum()
    return f1.mean() if average else f1


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
def test_f1_score_matches_numpy(average):
    labels = RNG.integers(0, 3, 40)
    y = np.eye(3)[labels]
    probs = softmax(RNG.normal(size=(40, 3)) + 1.5 * y)
    w = RNG.uniform(0, 2, 40)
    m = metrics.F1Score(average=average, dtype="float64")
    for a, b, c in split(y, probs, w, sizes=(15, 25)):
        m.update_state(a, b, sample_weight=c)
    pred = (probs == probs.max(-1, keepdims=True)).astype(float)
    np.testing.assert_allclose(m.result().numpy(), _np_f1(y, pred, w, average), atol=1e-6)
    mt = metrics.F1Score(average=average, threshold=0.4, dtype="float64")
    mt.update_state(y, probs)
    np.testing.assert_allclose(
        mt.result().numpy(), _np_f1(y, (probs > 0.4).astype(float), None, average), atol=1e-6
    )
