"""CallbackList: the engine's one object for many callbacks; each hook reaches them in order."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from lamina.callbacks.callback import BATCH_HOOKS, Callback
from lamina.callbacks.history import History
from lamina.callbacks.progbar_logger import ProgbarLogger

Logs = dict[str, Any] | None


def _overrides(cb: Any, hook: str) -> bool:
    if isinstance(cb, Callback):
        return cb.overrides(hook)
    return callable(getattr(cb, hook, None))  # duck-typed callbacks: assume they care


class CallbackList:
    """Dispatches every hook to many callbacks, in order: `cbs.on_epoch_end(epoch, logs)`.

    Every callback gets the same `logs` dict, so one may add keys for the later ones
    (ReduceLROnPlateau adds `learning_rate`). A duck-typed callback without a hook is
    skipped. `needs_batch_hooks('train' | 'test' | 'predict')` tells the engine whether any
    callback uses those batch hooks: if not, it skips batch logs and their host sync.
    Callbacks marked `_runs_last` (BackupAndRestore) are called after all the others.
    Keras's arguments: `add_history` / `add_progbar` append a History / ProgbarLogger when
    none is given; `**params` (or `params=`) reach every callback's `set_params`.
    """

    def __init__(
        self,
        callbacks: Iterable[Any] | None = None,
        add_history: bool = False,
        add_progbar: bool = False,
        model: Any = None,
        params: dict[str, Any] | None = None,
        **extra_params: Any,
    ):
        self.callbacks: list[Any] = list(callbacks or [])
        self.history: History | None = None
        if add_history and not any(isinstance(cb, History) for cb in self.callbacks):
            self.history = History()
            self.callbacks.append(self.history)
        if add_progbar and not any(isinstance(cb, ProgbarLogger) for cb in self.callbacks):
            self.callbacks.append(ProgbarLogger())
        # `_runs_last` callbacks (BackupAndRestore) come after the others: they restore
        # what the others reset in on_train_begin and save what their hooks updated
        self.callbacks.sort(key=lambda cb: bool(getattr(cb, "_runs_last", False)))
        for cb in self.callbacks:
            if hasattr(cb, "_set_peers"):
                cb._set_peers(self.callbacks)
        self.model = None
        self.params = {**(params or {}), **extra_params}
        if model is not None:
            self.set_model(model)
        self.set_params(self.params)

    def append(self, callback: Any) -> None:
        last = [i for i, cb in enumerate(self.callbacks) if getattr(cb, "_runs_last", False)]
        if last and not getattr(callback, "_runs_last", False):
            self.callbacks.insert(last[0], callback)
        else:
            self.callbacks.append(callback)
        if self.model is not None:
            callback.set_model(self.model)
        callback.set_params(self.params)

    def set_model(self, model: Any) -> None:
        self.model = model
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params
        for cb in self.callbacks:
            cb.set_params(params)

    def needs_batch_hooks(self, mode: str = "train") -> bool:
        return any(_overrides(cb, h) for cb in self.callbacks for h in BATCH_HOOKS[mode])

    def _call(self, hook: str, *args: Any) -> None:
        for cb in self.callbacks:
            method = getattr(cb, hook, None)
            if method is not None:
                method(*args)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.callbacks)

    def __len__(self) -> int:
        return len(self.callbacks)

    def __getitem__(self, index: int) -> Any:
        return self.callbacks[index]

    def on_train_begin(self, logs: Logs = None) -> None:
        self._call("on_train_begin", logs)

    def on_train_end(self, logs: Logs = None) -> None:
        self._call("on_train_end", logs)

    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        self._call("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        self._call("on_epoch_end", epoch, logs)

    def on_train_batch_begin(self, batch: int, logs: Logs = None) -> None:
        self._call("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
        self._call("on_train_batch_end", batch, logs)

    def on_batch_begin(self, batch: int, logs: Logs = None) -> None:
        """Keras 2 name: reaches each callback's `on_train_batch_begin`."""
        self.on_train_batch_begin(batch, logs)

    def on_batch_end(self, batch: int, logs: Logs = None) -> None:
        """Keras 2 name: reaches each callback's `on_train_batch_end`."""
        self.on_train_batch_end(batch, logs)

    def on_test_begin(self, logs: Logs = None) -> None:
        self._call("on_test_begin", logs)

    def on_test_end(self, logs: Logs = None) -> None:
        self._call("on_test_end", logs)

    def on_test_batch_begin(self, batch: int, logs: Logs = None) -> None:
        self._call("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch: int, logs: Logs = None) -> None:
        self._call("on_test_batch_end", batch, logs)

    def on_predict_begin(self, logs: Logs = None) -> None:
        self._call("on_predict_begin", logs)

    def on_predict_end(self, logs: Logs = None) -> None:
        self._call("on_predict_end", logs)

    def on_predict_batch_begin(self, batch: int, logs: Logs = None) -> None:
        self._call("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch: int, logs: Logs = None) -> None:
        self._call("on_predict_batch_end", batch, logs)
