"""What callbacks that watch a logged value share: its direction, the mode check, a missing key."""

from __future__ import annotations

import warnings
from typing import Any

# Substrings of metric names that are better when higher (mode='auto').
_HIGHER_IS_BETTER = ("acc", "auc", "precision", "recall", "f1", "fmeasure", "iou", "top_k", "r2")


def infer_mode(monitor: str, model: Any = None) -> str:
    """'min' or 'max' for mode='auto': a metric's own direction, else its name."""
    name = monitor.removeprefix("val_")
    for metric in getattr(model, "metrics", None) or []:
        direction = getattr(metric, "_direction", None)
        if getattr(metric, "name", None) == name and direction in ("up", "down"):
            return "max" if direction == "up" else "min"
    if "loss" in name or "error" in name:
        return "min"
    return "max" if any(s in name for s in _HIGHER_IS_BETTER) else "min"


def check_mode(owner: str, mode: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(
            f"{owner} expected mode in ('auto', 'min', 'max'), received: mode={mode!r}"
        )
    return mode


def warn_missing(owner: str, monitor: str, logs: dict[str, Any]) -> None:
    """Warn (at the hook's caller) that `monitor` is not among the logs, listing those."""
    warnings.warn(
        f"{owner} is conditioned on metric '{monitor}', which is not available. "
        f"Available metrics are: {', '.join(logs) or '(none)'}.",
        stacklevel=3,
    )
