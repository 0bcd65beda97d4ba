"""History: the epoch logs of a fit, as `history.history['loss'][epoch]`."""

from __future__ import annotations

from typing import Any

from lamina.callbacks.callback import Callback


class History(Callback):
    """Records every key of the epoch logs: `history.history['loss'][epoch]`; sets `model.history`."""

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[Any]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.epoch = []

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        if self.model is not None:
            self.model.history = self
