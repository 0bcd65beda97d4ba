"""Accuracy metrics against NumPy over several batches, with and without weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from metric_batches import run_batches, softmax, split, wmean

from lamina import metrics

RNG = np.random.default_rng(1)
C = 5


@pytest.mark.parametrize("weighted", [False, True])
def test_accuracy_family_matches_numpy(weighted):
    n = 20
    labels = RNG.integers(0, C, n)
    probs = softmax(RNG.normal(size=(n, C)) * 2)
    onehot = np.eye(C)[labels]
    w = RNG.uniform(0, 2, n) if weighted else None
    bin_true = RNG.integers(0, 2, (n, 1)).astype(np.float32)
    bin_pred = RNG.uniform(size=(n, 1))
    top2 = np.argsort(-probs, -1)[:, :2]
    cases = [
        (metrics.CategoricalAccuracy(), (onehot, probs), probs.argmax(-1) == labels),
        (metrics.SparseCategoricalAccuracy(), (labels, probs), probs.argmax(-1) == labels),
        (
            metrics.SparseCategoricalAccuracy(),
            (labels[:, None].astype(np.float32), probs),
            probs.argmax(-1) == labels,
        ),
        (metrics.TopKCategoricalAccuracy(k=2), (onehot, probs), (top2 == labels[:, None]).any(-1)),
        (
            metrics.SparseTopKCategoricalAccuracy(k=2),
            (labels, probs),
            (top2 == labels[:, None]).any(-1),
        ),
        (metrics.BinaryAccuracy(), (bin_true, bin_pred), (bin_pred > 0.5)[:, 0] == bin_true[:, 0]),
        (
            metrics.BinaryAccuracy(threshold=0.7),
            (bin_true[:, 0], bin_pred),
            (bin_pred > 0.7)[:, 0] == bin_true[:, 0],
        ),
        (metrics.Accuracy(), (labels, (labels + (probs[:, 0] > 0.3)) % C), (probs[:, 0] <= 0.3)),
    ]
    for metric, (yt, yp), correct in cases:
        arrays = [yt, yp] + ([w] if weighted else [])
        batches = [
            (
                (torch.as_tensor(b[0]), torch.as_tensor(b[1])),
                torch.as_tensor(b[2]) if weighted else None,
            )
            for b in split(*arrays)
        ]
        got = run_batches(metric, batches).item()
        assert got == pytest.approx(wmean(correct.astype(float), w), abs=1e-6), metric


def test_multi_output_binary_accuracy_averages_elements():
    yt = RNG.integers(0, 2, (12, 3))
    yp = RNG.uniform(size=(12, 3))
    w = RNG.uniform(0, 2, 12)
    m = metrics.BinaryAccuracy()
    got = run_batches(
        m,
        [
            ((torch.as_tensor(a), torch.as_tensor(b)), torch.as_tensor(c))
            for a, b, c in split(yt, yp, w, sizes=(5, 7))
        ],
    )
    per_sample = ((yp > 0.5) == yt).mean(-1)
    assert got.item() == pytest.approx(wmean(per_sample, w), abs=1e-6)
