"""Small pieces of the training engine: device choice, logits mode, progress, legacy args."""

from __future__ import annotations

import contextlib
import sys
import time
import warnings
from collections.abc import Iterator
from typing import Any

import torch

_WARNED: set[str] = set()


def warn_once(key: str, message: str) -> None:
    """One FutureWarning per process for each deprecated spelling."""
    if key in _WARNED:
        return
    _WARNED.add(key)
    warnings.warn(message, FutureWarning, stacklevel=3)


def default_device() -> torch.device:
    """CUDA when present, else Apple's MPS, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


@contextlib.contextmanager
def logits_mode(heads: list[Any]) -> Iterator[None]:
    """Ask output layers for logits while the engine computes fused losses."""
    layers = [h.layer for h in heads if h.layer is not None]
    for layer in layers:
        layer._emit_logits = True
    try:
        yield
    finally:
        for layer in layers:
            layer._emit_logits = False


def resolve_verbose(verbose: Any) -> int:
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2, True, False):
        raise ValueError(f"Expected verbose in 'auto', 0, 1 or 2, received: verbose={verbose!r}")
    return int(verbose)


def warn_legacy(legacy: dict[str, Any], epochs: int) -> int:
    """Accept Keras 1's `nb_epoch=` (with one warning); reject other unknown arguments."""
    if "nb_epoch" in legacy:
        warn_once("nb_epoch", "fit(nb_epoch=...) is the Keras 1 spelling; use fit(epochs=...).")
        epochs = int(legacy.pop("nb_epoch"))
    if legacy:
        raise TypeError(
            "Expected keyword arguments accepted by fit(), received: "
            + ", ".join(f"{k}={v!r}" for k, v in legacy.items())
        )
    return epochs


class EpochBar:
    """One epoch's progress bar; asks for metric values only when it will redraw."""

    def __init__(self, steps: int, verbose: int, interval: float = 0.1) -> None:
        from lamina.utils.progbar import Progbar

        self.steps = steps
        self.verbose = verbose
        self.interval = interval
        self.bar = Progbar(steps or None, verbose=verbose)
        self.tty = bool(getattr(sys.stdout, "isatty", lambda: False)())
        self._last = 0.0
        self.seen = 0

    def due(self, step: int) -> bool:
        self.seen = step
        if self.verbose != 1 or not self.tty:
            return False
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            return True
        return False

    def update(self, step: int, logs: dict[str, float]) -> None:
        self.bar.update(step, list(logs.items()))

    def finish(self, logs: dict[str, float]) -> None:
        self.bar.update(self.steps or self.seen, list(logs.items()), finalize=True)
