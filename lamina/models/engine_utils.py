"""Small pieces of the training engine: device choice, logits mode, progress, legacy args."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterable, Iterator
from typing import Any

import torch

from lamina import legacy_api
from lamina.models.compile_utils import as_list
from lamina.stacklevel import user_stacklevel

_WARNED: set[str] = set()


def warn_once(key: str, message: str) -> None:
    """One FutureWarning per process for each deprecated spelling, at the user's line."""
    if key in _WARNED:
        return
    _WARNED.add(key)
    warnings.warn(message, FutureWarning, stacklevel=user_stacklevel())


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
        legacy_api.record("fit(nb_epoch=...)", at_fit=True)
        warn_once("nb_epoch", "fit(nb_epoch=...) is the Keras 1 spelling; use fit(epochs=...).")
        epochs = int(legacy.pop("nb_epoch"))
    if legacy:
        raise TypeError(
            "Expected keyword arguments accepted by fit(), received: "
            + ", ".join(f"{k}={v!r}" for k, v in legacy.items())
        )
    return epochs


class EpochBar:
    """One epoch's progress bar; metric values are read only when it will redraw."""

    def __init__(self, steps: int, verbose: int) -> None:
        from lamina.utils.progbar import Progbar

        self.steps = steps
        self.bar: Any = None
        self.verbose = verbose
        self._make = lambda names: Progbar(steps or None, verbose=verbose, stateful_metrics=names)
        self.seen = 0
        self.bar = self._make(None)  # starts the clock

    def due(self, step: int) -> bool:
        """True when the bar wants fresh values (on a terminal, every `interval` seconds)."""
        self.seen = step
        if self.steps and step >= self.steps:
            return False  # finish() draws the last line, with validation values
        if self.bar.should_redraw(step):
            return True
        self.bar.update(step)
        return False

    def update(self, step: int, logs: dict[str, float]) -> None:
        self.bar.stateful_metrics.update(logs)
        self.bar.update(step, list(logs.items()))

    def finish(self, logs: dict[str, float]) -> None:
        self.bar.stateful_metrics.update(logs)
        self.bar.update(self.steps or self.seen, list(logs.items()), finalize=True)


def chunks(batches: Iterable[tuple], size: int) -> Iterator[tuple[int, list[tuple]]]:
    """Consecutive groups of `size` batches (the last may be shorter), with the first index."""
    chunk: list[tuple] = []
    first = 0
    for i, batch in enumerate(batches):
        if not chunk:
            first = i
        chunk.append(batch)
        if len(chunk) == size:
            yield first, chunk
            chunk = []
    if chunk:
        yield first, chunk


def apply_class_weight(table: torch.Tensor, y: Any, sw: Any) -> torch.Tensor:
    y = as_list(y)[0]
    idx = y.argmax(-1) if y.dim() > 1 and y.shape[-1] > 1 else y.reshape(-1).round().long()
    w = table[idx.clamp(0, table.shape[0] - 1)]
    return w if sw is None else w * sw


def format_logs(logs: dict[str, float], return_dict: bool) -> Any:
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


def progbar(steps: int, verbose: int, epoch: int, epochs: int) -> Any:
    if verbose == 0:
        return None
    if verbose == 1 and epoch >= 0:
        print(f"Epoch {epoch + 1}/{epochs}", flush=True)
    return EpochBar(steps, verbose)
