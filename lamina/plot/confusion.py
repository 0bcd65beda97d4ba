"""The confusion matrix: which classes a classifier mistakes for which.

    lamina.plot.confusion_matrix(model, x_test, y_test, class_names=["T-shirt", ...])

Rows are the true classes, columns the predicted ones; the diagonal holds the correct
answers. `normalize="true"` shows each class's recall along the diagonal, "pred" its
precision, "all" the share of all samples.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from lamina.plot.classified import class_label, classify
from lamina.plot.figure import finish, pyplot

_NORMALIZE = (None, "true", "pred", "all")


def count_matrix(true: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """counts[i, j]: how many samples of true class i were predicted as class j."""
    counts = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(counts, (true, predicted), 1)
    return counts


def normalized(counts: np.ndarray, normalize: str | None) -> np.ndarray:
    """Counts divided by row ("true"), column ("pred") or overall ("all") totals; an empty
    row or column stays 0."""
    if normalize is None:
        return counts
    if normalize == "true":
        totals = counts.sum(axis=1, keepdims=True)
    elif normalize == "pred":
        totals = counts.sum(axis=0, keepdims=True)
    else:
        totals = np.asarray(counts.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nan_to_num(counts / totals)


def confusion_matrix(
    model: Any,
    x: Any,
    y: Any,
    class_names: Any = None,
    normalize: str | None = None,
    path: str | os.PathLike | None = None,
    batch_size: int = 256,
) -> Any:
    """Draw the confusion matrix of `model` on (x, y): true classes down, predicted across.

    `y` holds integer labels or one-hot rows; `class_names` (a list or dict) labels the
    axes. `normalize`: None (counts), "true", "pred" or "all". Saves a PNG when `path` is
    given. `figure.lamina_data` holds {"matrix", "labels"}.
    """
    if normalize not in _NORMALIZE:
        raise ValueError(
            f"Expected normalize None, 'true', 'pred' or 'all', received: normalize={normalize!r}"
        )
    result = classify(model, x, y, batch_size)
    labels = [class_label(i, class_names) for i in range(result.classes)]
    counts = count_matrix(result.true, result.predicted, result.classes)
    matrix = normalized(counts, normalize)
    plt = pyplot()
    k = result.classes
    side = min(max(3.2, 0.5 * k + 1.6), 12.0)
    fig, ax = plt.subplots(figsize=(side + 0.9, side))
    image = ax.imshow(matrix, cmap="Blues", interpolation="nearest")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    if k <= 20:  # beyond that the numbers no longer fit their cells
        high = matrix.max() if matrix.size else 0
        for i in range(k):
            for j in range(k):
                value = matrix[i, j]
                text = f"{value:.2f}" if normalize else f"{int(value)}"
                ax.text(
                    j,
                    i,
                    text,
                    ha="center",
                    va="center",
                    fontsize=8 if k <= 10 else 6,
                    color="white" if high and value > high / 2 else "black",
                )
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    slanted = max(map(len, labels)) > 2
    ax.set_xticklabels(labels, rotation=45 if slanted else 0, ha="right" if slanted else "center")
    ax.set_yticklabels(labels)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    accuracy = np.trace(counts) / counts.sum()
    suffix = {None: "", "true": "; rows", "pred": "; columns", "all": "; all cells"}[normalize]
    suffix += " sum to 1" if normalize else ""
    ax.set_title(f"Confusion matrix (accuracy {accuracy:.1%}{suffix})", fontsize=10)
    fig.tight_layout()
    return finish(fig, path, {"matrix": matrix, "labels": labels})
