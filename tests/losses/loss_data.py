"""Small shared helpers of the loss tests: constants, softmax, one-hot, float64 tensors."""

from __future__ import annotations

import numpy as np
import torch

EPS = 1e-7
N, C = 7, 4


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def onehot(labels: np.ndarray, c: int = C) -> np.ndarray:
    return np.eye(c)[labels]


def t64(x) -> torch.Tensor:
    """A float64 tensor of `x`."""
    return torch.as_tensor(np.asarray(x), dtype=torch.float64)
