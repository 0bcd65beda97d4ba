"""Label and vector helpers with Keras's semantics: `to_categorical`, `normalize`."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


def _as_numpy(y: Any) -> np.ndarray:
    if isinstance(y, torch.Tensor):
        return y.detach().cpu().numpy()
    return np.asarray(y)


def to_categorical(x: Any, num_classes: int | None = None, dtype: Any = "float32") -> np.ndarray:
    """One-hot encode integer class labels, exactly as `keras.utils.to_categorical`.

    `x` of shape (N,) or (N, 1) (any shape; a trailing 1 is dropped) gives
    (N, num_classes); `num_classes` defaults to `max(y) + 1`. Unlike Keras, bad
    labels (negative, non-integral, or >= num_classes) raise instead of wrapping.
    """
    labels = _as_numpy(x)
    if labels.dtype == bool:
        labels = labels.astype(np.int64)
    if not (np.issubdtype(labels.dtype, np.integer) or np.issubdtype(labels.dtype, np.floating)):
        raise ValueError(
            f"Expected integer class labels, received: y with dtype={labels.dtype.name}"
        )
    flat = labels.reshape(-1)
    if np.issubdtype(flat.dtype, np.floating):
        bad = ~np.isfinite(flat) | (flat != np.round(flat))
        if bad.any():
            raise ValueError(
                f"Expected integer class labels, received: y={float(flat[bad][0])} "
                f"(at flat index {int(np.argmax(bad))})"
            )
    flat = flat.astype(np.int64)
    if flat.size and flat.min() < 0:
        index = int(np.argmax(flat < 0))
        raise ValueError(
            f"Expected non-negative class labels, received: y={int(flat[index])} "
            f"(at flat index {index})"
        )
    if num_classes is None:
        if not flat.size:
            raise ValueError("Expected num_classes for empty labels, received: num_classes=None")
        num_classes = int(flat.max()) + 1
    elif isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise ValueError(f"Expected an integer num_classes, received: num_classes={num_classes!r}")
    elif num_classes < 1:
        raise ValueError(f"Expected num_classes >= 1, received: num_classes={num_classes}")
    elif flat.size and flat.max() >= num_classes:
        index = int(np.argmax(flat >= num_classes))
        raise ValueError(
            f"Expected class labels < num_classes={num_classes}, received: y={int(flat[index])} "
            f"(at flat index {index})"
        )
    shape = labels.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    out = np.zeros((flat.size, int(num_classes)), dtype=np.dtype(dtype))
    out[np.arange(flat.size), flat] = 1
    return out.reshape(*shape, int(num_classes))


def normalize(x: Any, axis: int = -1, order: int | float = 2) -> Any:
    """Scale `x` to unit `order`-norm along `axis` (zero vectors stay zero), as Keras.

    NumPy arrays (and lists) give NumPy arrays; torch tensors give tensors.
    """
    if isinstance(x, torch.Tensor):
        if not x.is_floating_point():
            x = x.to(torch.get_default_dtype())
        norm = torch.linalg.vector_norm(x, ord=order, dim=axis, keepdim=True)
        return x / torch.where(norm == 0, torch.ones_like(norm), norm)
    x = np.asarray(x)
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)
