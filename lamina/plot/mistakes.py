"""The mistakes grid: the images a classifier got wrong (or right), with what it said.

    lamina.plot.predictions(model, x_test, y_test)                # the first 25 mistakes
    lamina.plot.predictions(model, x_test, y_test, correct=True)  # the first 25 successes

Each image is titled with its true label, the predicted label and the model's confidence
in that prediction: a confident mistake often shows a mislabeled or ambiguous sample.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from lamina.plot.classified import as_numpy, class_label, classify
from lamina.plot.figure import finish, pyplot


def displayable(images: np.ndarray) -> tuple[np.ndarray, bool]:
    """Images as (N, H, W) grayscale or (N, H, W, 3) colour; True when grayscale.

    Accepts (N, H, W), (N, H, W, 1), (N, H, W, 3) and flat vectors of square length
    (an MLP's input, e.g. 784 = 28 x 28).
    """
    shape = images.shape
    if images.ndim == 2:
        side = math.isqrt(shape[1])
        if side * side == shape[1]:
            return images.reshape(shape[0], side, side), True
    elif images.ndim == 3:
        return images, True
    elif images.ndim == 4 and shape[-1] == 1:
        return images[..., 0], True
    elif images.ndim == 4 and shape[-1] == 3:
        return images, False
    raise ValueError(
        "Expected images shaped (N, H, W), (N, H, W, 1), (N, H, W, 3) or flat vectors of "
        f"square length, received: x.shape={tuple(shape)}"
    )


def _colour(image: np.ndarray) -> np.ndarray:
    """An RGB image in [0, 1] for imshow: uint8 scaled, other ranges stretched."""
    image = image.astype(np.float64)
    low, high = image.min(), image.max()
    if low >= 0 and high > 1 and high <= 255:
        return image / 255
    if low < 0 or high > 1:
        return (image - low) / (high - low) if high > low else np.zeros_like(image)
    return image


def predictions(
    model: Any,
    x: Any,
    y: Any,
    correct: bool = False,
    n: int = 25,
    class_names: Any = None,
    path: str | os.PathLike | None = None,
    batch_size: int = 256,
) -> Any:
    """A grid of the first `n` misclassified samples (`correct=True`: correctly classified),
    each titled "true / predicted (confidence)". Saves a PNG when `path` is given.

    `y` holds integer labels or one-hot rows; the model ends in a softmax (or logits) over
    classes, or in one sigmoid unit. `class_names` (a list or dict) names the classes.
    `figure.lamina_data` holds the samples shown, in order: {"indices", "true",
    "predicted", "confidence"}.
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"Expected n as a positive integer, received: n={n!r}")
    result = classify(model, x, y, batch_size)
    images, gray = displayable(as_numpy(x))
    right = result.predicted == result.true
    chosen = np.flatnonzero(right == bool(correct))
    if chosen.size == 0:
        kind = "correctly classified" if correct else "misclassified"
        raise ValueError(
            f"Expected at least one {kind} sample to show, received: none among "
            f"{len(right)} samples (accuracy {right.mean():.1%})"
        )
    chosen = chosen[:n]
    plt = pyplot()
    cols = math.ceil(math.sqrt(len(chosen)))
    rows = math.ceil(len(chosen) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.85 * rows), squeeze=False)
    # one grey scale for all images, so a faint stroke stays faint
    low, high = float(images[chosen].min()), float(images[chosen].max())
    for ax, i in zip(axes.flat, chosen):
        if gray:
            ax.imshow(images[i], cmap="gray", vmin=low, vmax=high, interpolation="nearest")
        else:
            ax.imshow(_colour(images[i]), interpolation="nearest")
        true = class_label(int(result.true[i]), class_names)
        said = class_label(int(result.predicted[i]), class_names)
        ax.set_title(
            f"true {true}\npred {said} ({result.confidence[i]:.0%})",
            fontsize=8,
            color="tab:green" if right[i] else "tab:red",
        )
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in list(axes.flat)[len(chosen) :]:
        ax.axis("off")
    total = int(right.sum()) if correct else int((~right).sum())
    kind = "correctly classified" if correct else "misclassified"
    fig.suptitle(f"{len(chosen)} of {total} {kind} samples (of {len(right)})", fontsize=10)
    fig.tight_layout()
    data = {
        "indices": chosen,
        "true": result.true[chosen],
        "predicted": result.predicted[chosen],
        "confidence": result.confidence[chosen],
    }
    return finish(fig, path, data)
