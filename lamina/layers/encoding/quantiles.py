"""Keras's approximate quantile summary, which `Discretization.adapt` bins data with.

A summary is a (2, n) float32 array: sorted values and the weight (count) each stands
for. `summarize` keeps every `step`-th sorted value of a batch (about 1/epsilon of them),
`merge` joins two summaries and compresses them, and `boundaries` reads `num_bins - 1`
cut points off the cumulative weights by linear interpolation, step for step as Keras
computes them, so adapted boundaries are equal.
"""

from __future__ import annotations

import numpy as np


def empty() -> np.ndarray:
    return np.zeros((2, 0), dtype="float32")


def summarize(values: np.ndarray, epsilon: float) -> np.ndarray:
    values = np.sort(np.reshape(values, [-1]))
    step = max(values.size / (1.0 / epsilon), 1)
    kept = values[int(step - 1) :: int(step)]
    return np.stack([kept, np.ones_like(kept) * step])


def compress(summary: np.ndarray, epsilon: float) -> np.ndarray:
    if summary.shape[1] * epsilon < 1:
        return summary
    targets = epsilon + np.arange(0.0, 1.0, epsilon)
    cumulative = summary[1].cumsum()
    fractions = cumulative / cumulative[-1]
    values = np.interp(targets, fractions, summary[0])
    cumulative = np.interp(targets, fractions, cumulative)
    weights = cumulative - np.concatenate((np.array([0]), cumulative[:-1]))
    return np.stack((values, weights)).astype("float32")


def merge(first: np.ndarray, second: np.ndarray, epsilon: float) -> np.ndarray:
    joined = np.concatenate((first, second), axis=1)
    joined = np.take(joined, np.argsort(joined[0]), axis=1)
    return compress(joined, epsilon)


def boundaries(summary: np.ndarray, num_bins: int) -> np.ndarray:
    return compress(summary, 1.0 / num_bins)[0, :-1]
