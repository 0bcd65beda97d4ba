"""Regression and cross-entropy metrics against NumPy and the losses, over several batches."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from metric_batches import softmax, split, wmean

from lamina import losses, metrics

RNG = np.random.default_rng(1)
C = 5


@pytest.mark.parametrize("weighted", [False, True])
def test_regression_metrics_match_numpy(weighted):
    n = 20
    yt, yp = RNG.normal(size=(n, 3)), RNG.normal(size=(n, 3))
    w = RNG.uniform(0, 2, n) if weighted else None
    err = yp - yt
    expected = {
        metrics.MeanSquaredError: wmean((err**2).mean(-1), w),
        metrics.MeanAbsoluteError: wmean(np.abs(err).mean(-1), w),
        metrics.RootMeanSquaredError: np.sqrt(wmean((err**2).mean(-1), w)),
        metrics.MeanAbsolutePercentageError: wmean(100 * np.abs(err / yt).mean(-1), w),
    }
    for cls, value in expected.items():
        m = cls(dtype="float64")
        arrays = [yt, yp] + ([w] if weighted else [])
        for b in split(*arrays):
            m.update_state(
                torch.as_tensor(b[0]),
                torch.as_tensor(b[1]),
                sample_weight=b[2] if weighted else None,
            )
        assert m.result().item() == pytest.approx(value, rel=1e-10), cls


def test_crossentropy_metrics_match_losses():
    labels = RNG.integers(0, C, 12)
    probs = softmax(RNG.normal(size=(12, C)))
    w = RNG.uniform(0, 2, 12)
    m = metrics.SparseCategoricalCrossentropy(dtype="float64")
    m.update_state(labels, probs, sample_weight=w)
    per = losses.sparse_categorical_crossentropy(labels, torch.as_tensor(probs)).numpy()
    assert m.result().item() == pytest.approx(wmean(per, w), rel=1e-10)
    m = metrics.get("crossentropy", loss="categorical_crossentropy")
    assert isinstance(m, metrics.CategoricalCrossentropy) and m.name == "crossentropy"
