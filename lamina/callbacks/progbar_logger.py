"""ProgbarLogger: Keras's progress-bar callback (`Epoch 1/5`, then one bar per epoch).

The engine draws its own bar for `fit(verbose=...)` without this callback; passing one
explicitly gives Keras's callback-driven bar, with the verbosity taken from `fit`'s
`verbose` (`params["verbose"]`) like Keras's.
"""

from __future__ import annotations

from typing import Any

from lamina.callbacks.callback import Callback
from lamina.callbacks.chief import say
from lamina.distributed.env import is_main_process
from lamina.utils.progbar import Progbar


class ProgbarLogger(Callback):
    """Print metrics to stdout: a progress bar per epoch (train), per evaluate/predict call.

    Metric values are shown as the logs give them (the engine's running means).
    """

    def __init__(self) -> None:
        super().__init__()
        self.seen = 0
        self.progbar: Progbar | None = None
        self.target: int | None = None
        self.verbose = 1
        self.epochs = 1
        self._called_in_fit = False

    def set_params(self, params: dict[str, Any]) -> None:
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else int(verbose)
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def _reset(self) -> None:
        self.seen, self.progbar = 0, None

    def _bar(self) -> Progbar:
        if self.progbar is None:
            verbose = self.verbose if is_main_process() else 0
            self.progbar = Progbar(self.target, verbose=verbose, unit_name="step")
        return self.progbar

    def _update(self, batch: int, logs: dict[str, Any] | None) -> None:
        bar = self._bar()
        self.seen = batch + 1
        if self.verbose == 1:
            values = list((logs or {}).items())
            bar.stateful_metrics.update(k for k, _ in values)
            bar.update(self.seen, values, finalize=False)

    def _finish(self, logs: dict[str, Any] | None) -> None:
        bar = self._bar()
        if self.target is None:
            self.target = self.seen
            bar.target = self.target
        values = list((logs or {}).items())
        bar.stateful_metrics.update(k for k, _ in values)
        bar.update(self.target, values, finalize=True)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._called_in_fit = True

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        if not self._called_in_fit:
            self._reset()
            self._bar()

    def on_predict_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._reset()
        self._bar()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._reset()
        self._bar()
        if self.verbose and self.epochs > 1:
            say(f"Epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._update(batch, logs)

    def on_test_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if not self._called_in_fit:
            self._update(batch, logs)

    def on_predict_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._update(batch, None)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._finish(logs)

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        if not self._called_in_fit:
            self._finish(logs)

    def on_predict_end(self, logs: dict[str, Any] | None = None) -> None:
        self._finish(logs)
