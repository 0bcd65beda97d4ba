"""Learning curves: the loss and each metric per epoch, training against validation.

    history = model.fit(x, y, validation_split=0.1, epochs=10)
    lamina.plot.history(history, "curves.png")

One panel per quantity (`loss`, `accuracy`, ...), its `val_` twin drawn in the same panel.
The best epoch is marked where the direction is known: the lowest loss or error, the highest
accuracy, AUC, precision, recall. It is judged on the validation series when there is one,
since the training series keeps improving as the model memorizes.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from lamina.plot.figure import finish, pyplot

# Names of quantities where higher is better; checked before the loss-like ones, so that
# "binary_accuracy" or "top_k_categorical_accuracy" count as accuracies.
_HIGHER = ("accuracy", "acc", "auc", "precision", "recall", "f1", "fbeta", "iou", "r2")
_HIGHER += ("cosine_similarity", "specificity", "sensitivity")
# Names where lower is better.
_LOWER = ("loss", "error", "mse", "mae", "mape", "msle", "crossentropy", "hinge", "divergence")
_LOWER += ("logcosh", "poisson", "rmse", "perplexity")


def best_direction(key: str) -> str | None:
    """'min' for loss-like names, 'max' for accuracy-like ones, None when unknown
    (a learning rate, say): such a panel gets no best-epoch marker."""
    name = key.lower()
    if name.startswith("val_"):
        name = name[4:]
    words = name.replace("-", "_").split("_")
    if any(w in _HIGHER for w in words) or any(h in name for h in ("accuracy", "auc")):
        return "max"
    if any(w in _LOWER for w in words) or "loss" in name or "error" in name:
        return "min"
    return None


def best_epoch(values: list[float], direction: str) -> int | None:
    """The 1-based epoch of the best value (the first one on ties); None if all are NaN."""
    series = np.asarray(values, dtype=np.float64)
    if series.size == 0 or np.all(np.isnan(series)):
        return None
    pick = np.nanargmax if direction == "max" else np.nanargmin
    return int(pick(series)) + 1


def _logs(h: Any) -> dict[str, list[float]]:
    logs = getattr(h, "history", h)
    if not isinstance(logs, dict) or not logs:
        raise ValueError(
            "Expected a History (from fit) or a non-empty dict of per-epoch lists, "
            f"received: {type(h).__name__}" + (" (empty)" if isinstance(logs, dict) else "")
        )
    series: dict[str, list[float]] = {}
    for key, values in logs.items():
        try:
            series[str(key)] = [float(v) for v in values]
        except (TypeError, ValueError) as err:
            raise ValueError(
                f"Expected per-epoch lists of numbers in the history, received: {key}={values!r}"
            ) from err
    return series


def _panels(series: dict[str, list[float]]) -> list[str]:
    """One panel per quantity, in the history's order; a `val_x` without `x` gets its own."""
    panels: list[str] = []
    for key in series:
        base = key[4:] if key.startswith("val_") and key[4:] in series else key
        if base not in panels:
            panels.append(base)
    return panels


def history(h: Any, path: str | os.PathLike | None = None, title: str | None = None) -> Any:
    """Plot a History (or a dict of per-epoch lists): one panel per quantity, training and
    validation together, the best epoch marked. Saves a PNG when `path` is given.

    `figure.lamina_data` holds {"epochs", "series": {key: values}, "best_epoch": {panel:
    epoch (1-based)}}; panels with no known direction (a learning rate) have no best epoch.
    Validation series are drawn against epochs 1, 2, ... as recorded.
    """
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    series = _logs(h)
    panels = _panels(series)
    cols = min(len(panels), 3)
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.4 * rows), squeeze=False)
    best: dict[str, int] = {}
    for ax, panel in zip(axes.flat, panels):
        train, val = series.get(panel), series.get(f"val_{panel}")
        if train is not None:
            label = f"training {panel}" if val is not None else panel
            ax.plot(range(1, len(train) + 1), train, "o-", ms=3, label=label)
        if val is not None:
            ax.plot(range(1, len(val) + 1), val, "s--", ms=3, label=f"validation {panel}")
        direction = best_direction(panel)
        judged = val if val is not None else train
        epoch = best_epoch(judged, direction) if direction and judged else None
        if epoch is not None:
            best[panel] = epoch
            value = judged[epoch - 1]
            ax.axvline(epoch, color="0.5", lw=0.8, ls=":")
            ax.plot([epoch], [value], "*", ms=12, color="tab:red", zorder=5)
            word = "lowest" if direction == "min" else "highest"
            which = "validation" if judged is val else "training"
            ax.set_title(f"{panel}: {word} {which} {value:.4g} at epoch {epoch}", fontsize=9)
        else:
            ax.set_title(panel, fontsize=9)
        ax.set_xlabel("epoch")
        ax.set_ylabel(panel)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    epochs = list(range(1, max(len(v) for v in series.values()) + 1))
    data = {"epochs": epochs, "series": series, "best_epoch": best}
    return finish(fig, path, data, dpi=110)


# The name of earlier releases, kept for existing code: plot_history(history, path, title=...).
plot_history = history
