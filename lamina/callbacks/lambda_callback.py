"""LambdaCallback: a callback made of plain functions, one per hook."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lamina import registry
from lamina.callbacks.callback import HOOKS, Callback

Logs = dict[str, Any] | None
# Keras 2 names that also run on training batches.
_ALIASES = {"on_train_batch_begin": "on_batch_begin", "on_train_batch_end": "on_batch_end"}


class LambdaCallback(Callback):
    """A callback from plain functions, e.g.
    `LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs['loss']))`.

    Keyword names are hook names (`on_epoch_begin`, `on_batch_end`, `on_train_end`, ...),
    called with the hook's arguments; `on_batch_begin/end` run on training batches, as in Keras.
    """

    def __init__(self, **hooks: Callable[..., Any] | None):
        super().__init__()
        valid = (*HOOKS, "on_batch_begin", "on_batch_end")
        for name in hooks:
            if name not in valid:
                hint = registry.closest(name, valid)
                raise TypeError(
                    f"LambdaCallback expected hook names, received: {name}=..."
                    + (f" Did you mean: {', '.join(repr(h) for h in hint)}?" if hint else "")
                )
        self._fns = {k: v for k, v in hooks.items() if v is not None}

    def overrides(self, hook: str) -> bool:
        return hook in self._fns or _ALIASES.get(hook) in self._fns

    def _run(self, hook: str, *args: Any) -> None:
        fn = self._fns.get(hook)
        if fn is not None:
            fn(*args)

    def on_train_begin(self, logs: Logs = None) -> None:
        self._run("on_train_begin", logs)

    def on_train_end(self, logs: Logs = None) -> None:
        self._run("on_train_end", logs)

    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        self._run("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        self._run("on_epoch_end", epoch, logs)

    def on_batch_begin(self, batch: int, logs: Logs = None) -> None:
        self._run("on_batch_begin", batch, logs)

    def on_batch_end(self, batch: int, logs: Logs = None) -> None:
        self._run("on_batch_end", batch, logs)

    def on_train_batch_begin(self, batch: int, logs: Logs = None) -> None:
        self._run("on_train_batch_begin", batch, logs)
        self._run("on_batch_begin", batch, logs)

    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
        self._run("on_train_batch_end", batch, logs)
        self._run("on_batch_end", batch, logs)

    def on_test_begin(self, logs: Logs = None) -> None:
        self._run("on_test_begin", logs)

    def on_test_end(self, logs: Logs = None) -> None:
        self._run("on_test_end", logs)

    def on_test_batch_begin(self, batch: int, logs: Logs = None) -> None:
        self._run("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch: int, logs: Logs = None) -> None:
        self._run("on_test_batch_end", batch, logs)

    def on_predict_begin(self, logs: Logs = None) -> None:
        self._run("on_predict_begin", logs)

    def on_predict_end(self, logs: Logs = None) -> None:
        self._run("on_predict_end", logs)

    def on_predict_batch_begin(self, batch: int, logs: Logs = None) -> None:
        self._run("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch: int, logs: Logs = None) -> None:
        self._run("on_predict_batch_end", batch, logs)
