"""Target checks a loss runs once before training (`Loss.validate`).

They catch the classic mistakes (labels for a one-hot loss and back, 1-based or
out-of-range class labels, -1/+1 targets for a cross-entropy, image-shaped outputs
fed to Dense layers) with a message that names the loss and says what to change.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _shape_str(dims: tuple) -> str:
    return "(" + ", ".join(["N", *map(str, dims)]) + (",)" if not dims else ")")


def _matches(shape: tuple, expected: tuple) -> bool:
    """Shapes without batch dims, `None` in `expected` matching anything."""
    return len(shape) == len(expected) and all(e is None or s == e for s, e in zip(shape, expected))


def validate_targets(
    name: str, kind: str, y_true: Any, out: tuple, ignore_class: Any = None
) -> None:
    """Raise ValueError when `y_true` cannot be the target of loss `name` for output `out`.

    `kind` is the loss's target kind: 'same', 'binary', 'categorical' or 'sparse'.
    """
    try:
        y = y_true if torch.is_tensor(y_true) else torch.as_tensor(np.asarray(y_true))
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError(
            f"Loss '{name}' expected numeric targets, received: y_true of type "
            f"{type(y_true).__name__} ({err})"
        ) from None
    _check_shape(name, kind, tuple(y.shape), out)
    if ignore_class is not None:
        y = y[y != ignore_class]
    if y.numel() == 0:
        return
    _check_values(name, kind, y, out[-1] if len(out) >= 2 else None)


def _check_shape(name: str, kind: str, shape: tuple, out: tuple) -> None:
    feat, n_cls = tuple(out[1:]), out[-1] if len(out) >= 2 else None
    got = f"received: y_true.shape={shape}"
    labels_like = _matches(shape[1:], feat[:-1]) or _matches(shape[1:], (*feat[:-1], 1))
    hint = ""
    if len(out) >= 3 and len(shape) < len(out) - (kind == "sparse"):
        hint = (
            f" The model output {out} has {len(feat)} non-batch dimensions: if Dense layers got "
            "images or sequences, add a Flatten() layer before the Dense layers."
        )
    if kind == "sparse":
        if n_cls is not None and n_cls > 1 and _matches(shape[1:], feat):
            raise ValueError(
                f"Loss '{name}' expected integer class labels of shape {_shape_str(feat[:-1])} or "
                f"{_shape_str((*feat[:-1], 1))}, {got}. These look one-hot encoded: use "
                "loss='categorical_crossentropy', or pass the labels y.argmax(axis=-1)."
            )
        if not labels_like:
            raise ValueError(
                f"Loss '{name}' expected integer class labels of shape {_shape_str(feat[:-1])} "
                f"for the model output {out}, {got}.{hint}"
            )
    else:
        multi = n_cls is not None and n_cls > 1
        if kind == "categorical" and multi and labels_like:
            raise ValueError(
                f"Loss '{name}' expected one-hot targets of shape {_shape_str(feat)} matching the "
                f"model output {out}, {got}. These look like integer class labels: use "
                "loss='sparse_categorical_crossentropy', or one-hot encode with "
                f"lamina.utils.to_categorical(y, {n_cls})."
            )
        aligned = shape[1:]
        if len(shape) == len(out) - 1 and n_cls == 1:
            aligned = (*aligned, 1)
        elif len(shape) == len(out) + 1 and shape[-1] == 1:
            aligned = aligned[:-1]
        if not _matches(aligned, feat):
            if multi and labels_like and not hint:
                hint = (
                    " If these are class labels, one-hot encode them with "
                    f"lamina.utils.to_categorical(y, {n_cls}) or use a softmax output with "
                    "loss='sparse_categorical_crossentropy'."
                )
            raise ValueError(
                f"Loss '{name}' expected targets of shape {_shape_str(feat)} matching the model "
                f"output {out} (last dimension {n_cls}), {got}.{hint}"
            )
    if kind in ("categorical", "sparse") and n_cls == 1:
        raise ValueError(
            f"Loss '{name}' expected a model output with one unit per class, received: "
            f"output_shape={out}. For two classes with one sigmoid unit use loss="
            "'binary_crossentropy'; otherwise end with Dense(num_classes, activation='softmax')."
        )


def _check_values(name: str, kind: str, y: torch.Tensor, n_cls: int | None) -> None:
    lo_t, hi_t = torch.aminmax(y.to(torch.uint8) if y.dtype == torch.bool else y)  # one pass
    lo, hi = float(lo_t), float(hi_t)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(
            f"Loss '{name}' expected finite targets, received: y_true min={lo}, max={hi} "
            "(the targets contain NaN or inf: clean or impute them first)."
        )
    if kind == "sparse" and n_cls is not None and (lo < 0 or hi >= n_cls):
        hint = f" The last layer needs one unit per class (at least {int(hi) + 1} units)."
        if lo < 0:
            hint = " Mark unlabelled entries with ignore_class=<value>, or drop them."
        elif lo >= 1 and hi == n_cls:
            hint = " The labels look 1-based: subtract 1 so they run from 0 to C-1."
        raise ValueError(
            f"Loss '{name}' expected class labels in [0, {n_cls}), received: "
            f"min={_fmt(lo)}, max={_fmt(hi)}, C={n_cls}.{hint}"
        )
    if kind in ("binary", "categorical") and (lo < 0 or hi > 1):
        hint = ""
        if lo == -1 and hi == 1:
            hint = " Labels -1/+1 belong to hinge losses: use (y + 1) / 2 for cross-entropy."
        elif kind == "binary" and hi > 1:
            hint = " For more than two classes use a softmax output with sparse_categorical_crossentropy."
        raise ValueError(
            f"Loss '{name}' expected targets in [0, 1], received: y_true min={_fmt(lo)}, "
            f"max={_fmt(hi)}.{hint}"
        )
