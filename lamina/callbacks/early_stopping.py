"""EarlyStopping: stop training when a monitored value stops improving."""

from __future__ import annotations

import copy
import math
from typing import Any

from lamina.callbacks.callback import Callback
from lamina.callbacks.chief import say
from lamina.callbacks.monitor import check_mode, infer_mode, warn_missing


class EarlyStopping(Callback):
    """Stop training when `monitor` has not improved for `patience` epochs (Keras semantics).

    An improvement beats the best value by more than `min_delta`; with `baseline`, the
    patience counter only resets on improvements that also beat the baseline.
    `restore_best_weights` puts back the weights of the best epoch at the end of training.
    Nothing is checked before epoch `start_from_epoch`.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
    ):
        super().__init__()
        self.monitor = monitor
        self.min_delta = abs(float(min_delta))
        self.patience = int(patience)
        self.verbose = verbose
        self.mode = check_mode("EarlyStopping", mode)
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = int(start_from_epoch)
        self._reset()

    def _reset(self) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best_epoch = 0
        self.best_weights: Any = None
        self.best = math.nan  # set to +-inf once the mode is known
        self._mode: str | None = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._reset()

    def _better(self, value: float, reference: float) -> bool:
        if self._mode == "min":
            return value + self.min_delta < reference
        return value - self.min_delta > reference

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        if self._mode is None:
            self._mode = infer_mode(self.monitor, self.model) if self.mode == "auto" else self.mode
            self.best = math.inf if self._mode == "min" else -math.inf
        current = logs.get(self.monitor)
        if current is None:
            warn_missing("Early stopping", self.monitor, logs)
            return
        if epoch < self.start_from_epoch:
            return
        current = float(current)
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self._weights(), epoch
        self.wait += 1
        if self._better(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self._weights()
            if self.baseline is None or self._better(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0:
            say(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                say(
                    f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}."
                )
            if hasattr(self.model, "set_weights"):
                self.model.set_weights(self.best_weights)
            else:
                self.model.load_state_dict(self.best_weights)

    def _backup_state(self) -> dict[str, Any]:
        return {
            "wait": self.wait,
            "stopped_epoch": self.stopped_epoch,
            "best_epoch": self.best_epoch,
            "best": self.best,
            "mode": self._mode,
            "best_weights": self.best_weights,
        }

    def _restore_state(self, state: dict[str, Any]) -> None:
        self.wait, self.stopped_epoch = int(state["wait"]), int(state["stopped_epoch"])
        self.best_epoch, self.best = int(state["best_epoch"]), float(state["best"])
        self._mode = state["mode"]
        weights = state["best_weights"]
        if isinstance(weights, list):  # get_weights() gives NumPy arrays
            weights = [w.numpy() if hasattr(w, "numpy") else w for w in weights]
        self.best_weights = weights

    def _weights(self) -> Any:
        if hasattr(self.model, "get_weights"):
            return copy.deepcopy(self.model.get_weights())
        return {k: v.detach().clone() for k, v in self.model.state_dict().items()}
