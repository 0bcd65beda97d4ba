"""Random inputs shared by the metric parity tests, and feeding helpers.

Each maker takes a NumPy Generator and returns the arrays of one update_state call
(y_true, y_pred) or (values,), N rows, C classes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from metric_batches import softmax

N, C = 24, 5
SIZES = (7, 11, 6)  # the batches fed to a metric, in rows


def labels(rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, C, N)


def sparse(rng):
    y = labels(rng)
    return y, softmax(rng.normal(size=(N, C)) * 2 + np.eye(C)[y]).astype(np.float32)


def sparse_column(rng):
    y, p = sparse(rng)
    return y[:, None].astype(np.float32), p


def onehot(rng):
    y, p = sparse(rng)
    return np.eye(C, dtype=np.float32)[y], p


def onehot_logits(rng):
    y = labels(rng)
    return np.eye(C, dtype=np.float32)[y], (rng.normal(size=(N, C)) * 2).astype(np.float32)


def sparse_logits(rng):
    y, z = onehot_logits(rng)
    return y.argmax(-1), z


def binary(rng):
    return rng.integers(0, 2, (N, 1)).astype(np.float32), rng.uniform(size=(N, 1)).astype(
        np.float32
    )


def binary_multi(rng):
    return rng.integers(0, 2, (N, 3)).astype(np.float32), rng.uniform(size=(N, 3)).astype(
        np.float32
    )


def binary_flat(rng):
    y, p = binary(rng)
    return y[:, 0], p[:, 0]


def binary_logits(rng):
    y, _ = binary(rng)
    return y, (rng.normal(size=(N, 1)) * 2).astype(np.float32)


def binary_probs(rng):
    y, _ = binary_multi(rng)
    return y, rng.uniform(0.05, 0.95, (N, 3)).astype(np.float32)


def exact(rng):
    y = labels(rng)
    return y, np.where(rng.uniform(size=N) < 0.6, y, (y + 1) % C)


def regression(rng):
    return rng.normal(size=(N, 3)).astype(np.float32), rng.normal(size=(N, 3)).astype(np.float32)


def positive(rng):
    return (
        rng.uniform(0.5, 2.0, (N, 3)).astype(np.float32),
        rng.uniform(0.0, 3.0, (N, 3)).astype(np.float32),
    )


def signs(rng):
    return rng.choice([-1.0, 1.0], (N, 3)).astype(np.float32), rng.normal(size=(N, 3)).astype(
        np.float32
    )


def distributions(rng):
    return softmax(rng.normal(size=(N, C))).astype(np.float32), softmax(
        rng.normal(size=(N, C))
    ).astype(np.float32)


def counts(rng):
    return rng.poisson(2.0, (N, 3)).astype(np.float32), rng.uniform(0.2, 4.0, (N, 3)).astype(
        np.float32
    )


def correlated(rng):
    y = rng.normal(size=(N, 6))
    return y.astype(np.float32), (0.7 * y + 0.5 * rng.normal(size=(N, 6))).astype(np.float32)


def class_ids(rng):
    """Integer labels and integer predictions, right about half the time."""
    y = labels(rng)
    return y, np.where(rng.uniform(size=N) < 0.5, y, rng.integers(0, C, N))


def class_ids_2d(rng):
    """(N, 4) maps of integer labels and predictions (segmentation-like)."""
    y = rng.integers(0, C, (N, 4))
    return y, np.where(rng.uniform(size=(N, 4)) < 0.5, y, rng.integers(0, C, (N, 4)))


def sparse_with_ignored(rng):
    y, p = sparse(rng)
    y[::4] = -1
    return y, p


def binary_edges(rng):
    """Binary labels with predictions that hit 0, 1 and the thresholds exactly."""
    y, p = binary_multi(rng)
    p.reshape(-1)[::5] = rng.choice([0.0, 0.25, 0.5, 1.0], p.size // 5 + (p.size % 5 > 0))
    return y, p


def values(rng):
    return (rng.normal(size=N).astype(np.float32),)


def values_2d(rng):
    return (rng.normal(size=(N, 4)).astype(np.float32),)


# (class name, constructor kwargs, input maker); the class is looked up in both libraries.


def feed(metric, arrays, weights, to_input: Callable, sizes=SIZES) -> np.ndarray:
    start = 0
    for size in sizes:
        batch = [to_input(a[start : start + size]) for a in arrays]
        sw = None if weights is None else to_input(weights[start : start + size])
        metric.update_state(*batch, sample_weight=sw)
        start += size
    return np.asarray(_numpy(metric.result()), dtype=np.float64)


def plain(value):
    """Config values comparable across libraries (tuples, arrays and tensors as lists)."""
    if hasattr(value, "shape") or isinstance(value, tuple):
        return _numpy(value).tolist()
    return value


def _numpy(value) -> np.ndarray:
    """Any tensor (torch, Keras) or array as a float64 array."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)
