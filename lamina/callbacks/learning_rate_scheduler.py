"""LearningRateScheduler: set the learning rate from a function of the epoch."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

from lamina.callbacks.callback import Callback
from lamina.callbacks.chief import say


class LearningRateScheduler(Callback):
    """At each epoch start, set `optimizer.learning_rate = schedule(epoch, lr)` (or
    `schedule(epoch)` for one-argument functions, as in Keras 1). Adds `learning_rate` to logs."""

    def __init__(self, schedule: Callable[..., float], verbose: int = 0):
        super().__init__()
        self.schedule, self.verbose = schedule, verbose
        try:
            params = inspect.signature(schedule).parameters.values()
            positional = [
                p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            ]
            self._two_args = len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params)
        except (TypeError, ValueError):  # builtins without signatures
            self._two_args = True

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        optimizer = self.model.optimizer
        lr = float(optimizer.learning_rate)
        new_lr = self.schedule(epoch, lr) if self._two_args else self.schedule(epoch)
        try:
            new_lr = float(new_lr)
        except (TypeError, ValueError):
            new_lr = float("nan")
        if not math.isfinite(new_lr):
            raise ValueError(
                f"LearningRateScheduler expected the schedule to return a finite float, "
                f"received: schedule({epoch}, {lr}) -> {new_lr!r}"
            )
        optimizer.learning_rate = new_lr
        if self.verbose > 0:
            say(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {new_lr}.")

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)
