"""What a classifier predicted for each sample: true class, predicted class, confidence.

Shared by the mistakes grid and the confusion matrix. Labels may be integers or one-hot;
the model may end in a softmax over classes or in one sigmoid unit (binary). Outputs that
are not probabilities (logits) are turned into them first, so confidences read as such.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import numpy as np

# (model, x, y, batch_size) by identity -> (the objects, kept alive so ids stay theirs; result)
_REUSE: ContextVar[dict[tuple, tuple[Any, Any, Any, Classified]] | None] = ContextVar(
    "lamina_reused_classifications", default=None
)


@dataclass
class Classified:
    """Per sample: `true` and `predicted` class indices and the `confidence` (the predicted
    class's probability); `classes` is the number of classes the model tells apart."""

    true: np.ndarray
    predicted: np.ndarray
    confidence: np.ndarray
    classes: int


def as_numpy(value: Any) -> np.ndarray:
    """A NumPy array from an array-like (torch tensors included)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def true_labels(y: Any) -> np.ndarray:
    """Integer class indices from integer labels, (N, 1) labels or one-hot rows."""
    y = as_numpy(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return np.argmax(y, axis=1).astype(np.int64)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(
            "Expected y as integer labels (N,) or one-hot (N, classes), "
            f"received: y.shape={tuple(y.shape)}"
        )
    labels = y.astype(np.int64)
    if not np.array_equal(labels, y) or (labels.size and labels.min() < 0):
        raise ValueError(
            f"Expected y as non-negative integer class labels, received: y[:5]={y[:5].tolist()}"
        )
    return labels


def _probabilities(out: np.ndarray) -> np.ndarray:
    """The model's outputs as probabilities: a softmax over logits, a sigmoid over a logit."""
    out = out.astype(np.float64)
    if out.shape[1] == 1:
        if out.min() < 0 or out.max() > 1:
            out = 1 / (1 + np.exp(-out))
        return out
    if out.min() < 0 or out.max() > 1 or not np.allclose(out.sum(axis=1), 1, atol=1e-3):
        shifted = np.exp(out - out.max(axis=1, keepdims=True))
        out = shifted / shifted.sum(axis=1, keepdims=True)
    return out


@contextmanager
def reusing_classifications() -> Iterator[None]:
    """Within the block, `classify` of the same model, x and y objects and batch size runs
    `predict` once: a report draws several plots of one classification (mistakes grid,
    confusion matrix) of a model that does not change meanwhile."""
    token = _REUSE.set({})
    try:
        yield
    finally:
        _REUSE.reset(token)


def classify(model: Any, x: Any, y: Any, batch_size: int = 256) -> Classified:
    """Run `model.predict` on `x` and compare with the labels `y` (once per
    `reusing_classifications` block for the same objects)."""
    cache = _REUSE.get()
    key = (id(model), id(x), id(y), batch_size)
    if cache is not None and key in cache:
        return cache[key][3]
    result = _classify(model, x, y, batch_size)
    if cache is not None:
        cache[key] = (model, x, y, result)
    return result


def _classify(model: Any, x: Any, y: Any, batch_size: int) -> Classified:
    if isinstance(x, (list, tuple, dict)):
        raise ValueError(
            "Expected x as one array of samples (a single-input model), "
            f"received: {type(x).__name__}"
        )
    x = as_numpy(x)
    true = true_labels(y)
    if len(x) != len(true):
        raise ValueError(
            "Expected x and y with the same number of samples, "
            f"received: len(x)={len(x)}, len(y)={len(true)}"
        )
    if len(x) == 0:
        raise ValueError("Expected at least one sample, received: len(x)=0")
    out = model.predict(x, batch_size=batch_size, verbose=0)
    if isinstance(out, (list, tuple, dict)):
        raise ValueError(
            f"Expected a classifier with one output, received: a model with {len(out)} outputs"
        )
    out = as_numpy(out)
    if out.ndim == 1:
        out = out[:, None]
    if out.ndim != 2 or len(out) != len(x):
        raise ValueError(
            "Expected a classifier's output (N, classes) or (N, 1), "
            f"received: output shape={tuple(out.shape)} for len(x)={len(x)}"
        )
    probs = _probabilities(out)
    if probs.shape[1] == 1:
        p = probs[:, 0]
        predicted = (p >= 0.5).astype(np.int64)
        confidence = np.where(predicted == 1, p, 1 - p)
        classes = 2
    else:
        predicted = np.argmax(probs, axis=1).astype(np.int64)
        confidence = probs[np.arange(len(probs)), predicted]
        classes = probs.shape[1]
    if true.max() >= classes:
        raise ValueError(
            f"Expected labels below the model's {classes} classes, "
            f"received: max(y)={int(true.max())}"
        )
    return Classified(true, predicted, confidence, classes)


def class_label(index: int, class_names: Any) -> str:
    """A class's display name: class_names[index] (a list or dict), else the index."""
    if class_names is None:
        return str(index)
    try:
        return str(class_names[index])
    except (IndexError, KeyError) as err:
        raise ValueError(
            f"Expected a name for every class, received: no class_names[{index}] in {class_names!r}"
        ) from err
