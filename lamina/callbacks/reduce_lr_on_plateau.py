"""ReduceLROnPlateau: lower the learning rate when a monitored value stops improving."""

from __future__ import annotations

import math
import warnings
from typing import Any

from lamina.callbacks.callback import Callback
from lamina.callbacks.chief import say
from lamina.callbacks.monitor import check_mode, infer_mode, warn_missing


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by `factor` after `patience` epochs without improvement of
    `monitor` (by more than `min_delta`); then wait `cooldown` epochs; never below `min_lr`.
    Adds `learning_rate` to the epoch logs."""

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        verbose: int = 0,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
        **kwargs: Any,
    ):
        super().__init__()
        if "epsilon" in kwargs:  # Keras 2.0 name of min_delta
            min_delta = kwargs.pop("epsilon")
            warnings.warn(
                "ReduceLROnPlateau: `epsilon` is deprecated, use `min_delta`.",
                FutureWarning,
                stacklevel=2,
            )
        if kwargs:
            raise TypeError(
                f"ReduceLROnPlateau expected known arguments, received: {next(iter(kwargs))}=..."
            )
        if not 0 <= factor < 1.0:
            raise ValueError(
                f"ReduceLROnPlateau expected 0 <= factor < 1, received: factor={factor}"
            )
        self.monitor, self.factor, self.patience, self.verbose = (
            monitor,
            float(factor),
            int(patience),
            verbose,
        )
        self.mode = check_mode("ReduceLROnPlateau", mode)
        self.min_delta, self.cooldown, self.min_lr = float(min_delta), int(cooldown), float(min_lr)
        self._reset()

    def _reset(self) -> None:
        self.wait = 0
        self.cooldown_counter = 0
        self.best = math.nan  # set to +-inf once the mode is known
        self._mode: str | None = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._reset()

    def _backup_state(self) -> dict[str, Any]:
        return {
            "wait": self.wait,
            "cooldown_counter": self.cooldown_counter,
            "best": self.best,
            "mode": self._mode,
        }

    def _restore_state(self, state: dict[str, Any]) -> None:
        self.wait, self.cooldown_counter = int(state["wait"]), int(state["cooldown_counter"])
        self.best, self._mode = float(state["best"]), state["mode"]

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def _better(self, value: float) -> bool:
        if self._mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs if logs is not None else {}
        optimizer = self.model.optimizer
        logs["learning_rate"] = float(optimizer.learning_rate)
        if self._mode is None:
            self._mode = infer_mode(self.monitor, self.model) if self.mode == "auto" else self.mode
            self.best = math.inf if self._mode == "min" else -math.inf
        current = logs.get(self.monitor)
        if current is None:
            warn_missing("Learning rate reduction", self.monitor, logs)
            return
        current = float(current)
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._better(current):
            self.best, self.wait = current, 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = float(optimizer.learning_rate)
                if old_lr > self.min_lr:
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    optimizer.learning_rate = new_lr
                    if self.verbose > 0:
                        say(
                            f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}."
                        )
                    self.cooldown_counter, self.wait = self.cooldown, 0
