"""Random inputs shared by the loss parity tests: makers of (y_true, y_pred) and the
cases of every Keras loss class.

A maker takes a NumPy Generator and a shape (N, C) or a sequence shape (N, T, C).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import numpy as np
import torch

N, C = 9, 4


def seed(*parts) -> np.random.Generator:
    """A generator seeded by the test's identity (stable across runs and processes)."""
    return np.random.default_rng(zlib.crc32(repr(parts).encode()))


def to_numpy(value) -> np.ndarray:
    """A torch tensor (Lamina's or Keras's on the torch backend) as a float64 array."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def f32(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    return tuple(np.asarray(a, dtype=np.float32) for a in arrays)


def regression(rng, shape=(N, C)):
    return f32(rng.normal(size=shape), rng.normal(size=shape))


def positive(rng, shape=(N, C)):
    return f32(rng.uniform(0.0, 3.0, shape), rng.uniform(0.1, 3.0, shape))


def percentage(rng, shape=(N, C)):
    t = rng.uniform(0.5, 2.0, shape) * rng.choice([-1, 1], shape)
    return f32(t, rng.normal(size=shape))


def binary(rng, shape=(N, C)):
    return f32(rng.integers(0, 2, shape), rng.uniform(0.02, 0.98, shape))


def binary_logits(rng, shape=(N, C)):
    return f32(rng.integers(0, 2, shape), 3 * rng.normal(size=shape))


def onehot(rng, shape=(N, C)):
    labels = rng.integers(0, shape[-1], shape[:-1])
    return f32(np.eye(shape[-1])[labels], softmax(2 * rng.normal(size=shape)))


def onehot_logits(rng, shape=(N, C)):
    labels = rng.integers(0, shape[-1], shape[:-1])
    return f32(np.eye(shape[-1])[labels], 3 * rng.normal(size=shape))


def sparse(rng, shape=(N, C)):
    return rng.integers(0, shape[-1], shape[:-1]), f32(softmax(2 * rng.normal(size=shape)))[0]


def sparse_logits(rng, shape=(N, C)):
    return rng.integers(0, shape[-1], shape[:-1]), f32(3 * rng.normal(size=shape))[0]


def sparse_ignored(rng, shape=(N, C)):
    y, p = sparse(rng, shape)
    y[::3] = -1
    return y, p


def signs(rng, shape=(N, C)):
    return f32(rng.choice([-1.0, 1.0], shape), rng.normal(size=shape))


def zero_one(rng, shape=(N, C)):
    return f32(rng.integers(0, 2, shape), rng.normal(size=shape))


def distributions(rng, shape=(N, C)):
    return f32(softmax(rng.normal(size=shape)), softmax(rng.normal(size=shape)))


def counts(rng, shape=(N, C)):
    return f32(rng.poisson(2.0, shape), rng.uniform(0.2, 4.0, shape))


def huber_errors(rng, shape=(N, C)):
    return f32(rng.normal(size=shape), 2 * rng.normal(size=shape))


def masks(rng, shape=(N, C)):
    return f32(rng.integers(0, 2, shape), rng.uniform(0.0, 1.0, shape))


def ctc(rng, shape=None):
    """Labels 1..5 padded with the blank 0 at the end, and logits over 6 classes."""
    labels = np.zeros((N, 5), dtype=np.int64)
    for i in range(N):
        n = rng.integers(1, 6)
        labels[i, :n] = rng.integers(1, 6, n)
    return labels, f32(rng.normal(size=(N, 12, 6)))[0]


def embeddings(rng, shape=None):
    """Integer labels and L2-normalized embeddings (N, 5)."""
    e = rng.normal(size=(N, 5))
    return rng.integers(0, 3, N), f32(e / np.linalg.norm(e, axis=1, keepdims=True))[0]


# class name -> [(constructor kwargs, data generator, sequence shape or None)]
Case = tuple[dict, Callable, tuple | None]
CASES: dict[str, list[Case]] = {
    "MeanSquaredError": [({}, regression, (N, 3, C))],
    "MeanAbsoluteError": [({}, regression, (N, 3, C))],
    "MeanAbsolutePercentageError": [({}, percentage, None)],
    "MeanSquaredLogarithmicError": [({}, positive, None)],
    "CosineSimilarity": [({}, regression, None), ({"axis": 1}, regression, (N, 3, C))],
    "Huber": [({}, huber_errors, None), ({"delta": 0.4}, huber_errors, (N, 3, C))],
    "LogCosh": [({}, regression, None)],
    "Hinge": [({}, signs, None), ({}, zero_one, None)],
    "SquaredHinge": [({}, signs, None), ({}, zero_one, None)],
    "CategoricalHinge": [({}, onehot, None)],
    "KLDivergence": [({}, distributions, None)],
    "Poisson": [({}, counts, None)],
    "BinaryCrossentropy": [
        ({}, binary, None),
        ({"label_smoothing": 0.2}, binary, (N, 3, C)),
        ({"from_logits": True, "label_smoothing": 0.1}, binary_logits, None),
        ({"axis": 1}, binary, (N, 3, C)),
    ],
    "CategoricalCrossentropy": [
        ({}, onehot, None),
        ({"label_smoothing": 0.2}, onehot, (N, 3, C)),
        ({"from_logits": True}, onehot_logits, None),
        ({"from_logits": True, "label_smoothing": 0.1}, onehot_logits, (N, 3, C)),
    ],
    "SparseCategoricalCrossentropy": [
        ({}, sparse, None),
        ({"from_logits": True}, sparse_logits, None),
        ({"from_logits": True}, sparse_logits, (N, 3, C)),
        ({"ignore_class": -1}, sparse_ignored, None),
    ],
    "BinaryFocalCrossentropy": [
        ({}, binary, None),
        ({"apply_class_balancing": True, "alpha": 0.4, "gamma": 1.5}, binary, (N, 3, C)),
        ({"from_logits": True, "label_smoothing": 0.1}, binary_logits, None),
        ({"axis": 1, "apply_class_balancing": True}, binary, (N, 3, C)),
    ],
    "CategoricalFocalCrossentropy": [
        ({}, onehot, None),
        ({"alpha": [0.1, 0.2, 0.3, 0.4], "gamma": 1.0}, onehot, None),
        ({"from_logits": True, "label_smoothing": 0.1}, onehot_logits, (N, 3, C)),
    ],
    "CategoricalGeneralizedCrossEntropy": [({}, sparse, None), ({"q": 0.2}, sparse, None)],
    "Dice": [({}, masks, None), ({"axis": (1, 2)}, masks, (N, 3, C))],
    "Tversky": [
        ({}, masks, None),
        ({"alpha": 0.3, "beta": 0.7, "axis": (1, 2)}, masks, (N, 3, C)),
    ],
    "CTC": [({}, ctc, None)],
    "Circle": [
        ({}, embeddings, None),
        ({"gamma": 10.0, "margin": 0.25, "remove_diagonal": False}, embeddings, None),
    ],
}
# Keras's public loss functions and the class whose cases (options included) they share.
