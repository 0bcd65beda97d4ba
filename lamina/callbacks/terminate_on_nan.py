"""TerminateOnNaN: stop training when the loss is no longer finite."""

from __future__ import annotations

import math
from typing import Any

from lamina.callbacks.callback import Callback
from lamina.callbacks.chief import say


class TerminateOnNaN(Callback):
    """Stop training when the loss becomes NaN or infinite.

    Checked after every training batch (one host sync per batch) and at epoch end.
    """

    def _check(self, where: str, logs: dict[str, Any] | None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            say(f"{where}: Invalid loss, terminating training")
            self.model.stop_training = True

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._check(f"Batch {batch}", logs)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._check(f"Epoch {epoch + 1}", logs)
