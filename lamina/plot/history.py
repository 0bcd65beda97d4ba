"""Learning curves: loss and each metric per epoch, training against validation.

history = model.fit(...)
plot_history(history, "curves.png")
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lamina.io_utils import atomic_write


def plot_history(
    history: Any, path: str | os.PathLike | None = None, title: str | None = None
) -> Any:
    """Draw one panel per metric (with its val_ twin); save atomically to `path` if given.

    Returns the matplotlib Figure. Needs matplotlib (`pip install lamina[plot]`).
    """
    try:
        import matplotlib

        if path is not None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Expected matplotlib for plots, received: not installed. pip install matplotlib"
        ) from err
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict) or not logs:
        raise ValueError(
            f"Expected a History or a dict of per-epoch lists, received: {type(history).__name__}"
        )
    keys = [k for k in logs if not k.startswith("val_")]
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 3.8), squeeze=False)
    for ax, key in zip(axes[0], keys):
        epochs = range(1, len(logs[key]) + 1)
        ax.plot(epochs, logs[key], "o-", label=f"train {key}")
        if f"val_{key}" in logs:
            ax.plot(
                range(1, len(logs[f"val_{key}"]) + 1),
                logs[f"val_{key}"],
                "s--",
                label=f"validation {key}",
            )
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as f:
            fig.savefig(f, dpi=110, format=path.suffix.lstrip(".").lower() or "png")
        plt.close(fig)
    return fig
