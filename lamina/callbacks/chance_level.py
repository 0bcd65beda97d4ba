"""The loss and accuracy of a model that ignores its inputs: the bar for "learned nothing".

A model that always predicts the training labels' distribution (the class frequencies, or
the targets' mean) reaches a known loss: the labels' entropy for cross-entropy, their
variance for mean squared error. Diagnostics compares training and validation losses with
it: a loss at that level means the inputs told the model nothing about the labels.

    chance_level("sparse_categorical_crossentropy", y)   # balanced 10 classes: (2.303, 0.1)
"""

from __future__ import annotations

import math
import re
from typing import Any

import torch

CLASSIFICATION = {
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "binary_crossentropy",
}
REGRESSION = {"mean_squared_error", "mean_absolute_error"}
ALIASES = {"mse": "mean_squared_error", "mae": "mean_absolute_error"}


def loss_name(loss: Any) -> str | None:
    """The canonical name of one compile() loss ('mse' -> 'mean_squared_error'), or None
    for several losses or one Diagnostics does not know."""
    if isinstance(loss, str):
        name = loss
    elif callable(loss) and not isinstance(loss, type):  # a Loss object or a function
        fn = getattr(loss, "fn", loss)  # Keras's Loss classes wrap their function as `fn`
        name = getattr(fn, "__name__", None) or type(loss).__name__
    else:
        return None
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()  # CamelCase class names
    name = ALIASES.get(name, name)
    return name if name in CLASSIFICATION | REGRESSION else None


def _entropy(p: torch.Tensor) -> float:
    p = p[p > 0]
    return float(-(p * p.log()).sum())


def chance_level(name: str | None, y: Any) -> tuple[float | None, float | None]:
    """(loss, accuracy) of the best constant prediction for labels `y` under loss `name`;
    None where it is not defined (accuracy for regression, unknown losses or labels)."""
    if name is None or not isinstance(y, torch.Tensor) or y.numel() == 0:
        return None, None
    y = y.detach().double()
    if name == "sparse_categorical_crossentropy":
        labels = y.reshape(-1).long()
        if labels.min() < 0:
            return None, None
        p = torch.bincount(labels).double() / labels.numel()
        return _entropy(p), float(p.max())
    if name == "categorical_crossentropy":
        if y.dim() < 2:
            return None, None
        p = y.reshape(-1, y.shape[-1]).mean(dim=0)
        return _entropy(p), float(p.max())
    if name == "binary_crossentropy":
        columns = y.reshape(y.shape[0], -1)
        p = columns.mean(dim=0).clamp(0.0, 1.0)
        q = 1.0 - p
        terms = [_entropy(torch.stack([a, b])) for a, b in zip(p, q)]
        return sum(terms) / len(terms), float(torch.maximum(p, q).mean())
    columns = y.reshape(y.shape[0], -1)
    if name == "mean_squared_error":
        return float(columns.var(dim=0, unbiased=False).mean()), None
    if name == "mean_absolute_error":
        median = columns.median(dim=0).values
        return float((columns - median).abs().mean()), None
    return None, None


def is_finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)
