"""Shared by the metric tests: random batches cut from aligned arrays, NumPy references."""

from __future__ import annotations

import numpy as np


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def run_batches(metric, batches):
    for args, sw in batches:
        metric.update_state(*args, sample_weight=sw)
    return metric.result()


def split(*arrays, sizes=(6, 9, 5)):
    """Cut aligned arrays into batches of the given sizes."""
    out, start = [], 0
    for n in sizes:
        out.append([a[start : start + n] for a in arrays])
        start += n
    return out


def wmean(values: np.ndarray, w: np.ndarray | None) -> float:
    return float(values.mean()) if w is None else float((values * w).sum() / w.sum())
