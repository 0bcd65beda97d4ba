"""The Callback base class: Keras's hook names and arguments, each a no-op to override."""

from __future__ import annotations

from typing import Any

# Every hook a CallbackList dispatches (on_batch_begin/end are Keras 2 names of train-batch hooks).
HOOKS = (
    "on_train_begin",
    "on_train_end",
    "on_epoch_begin",
    "on_epoch_end",
    "on_train_batch_begin",
    "on_train_batch_end",
    "on_test_begin",
    "on_test_end",
    "on_test_batch_begin",
    "on_test_batch_end",
    "on_predict_begin",
    "on_predict_end",
    "on_predict_batch_begin",
    "on_predict_batch_end",
)
# The hooks whose logs cost the engine a host sync per batch, by mode.
BATCH_HOOKS = {
    "train": ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end"),
    "test": ("on_test_batch_begin", "on_test_batch_end"),
    "predict": ("on_predict_batch_begin", "on_predict_batch_end"),
}


class Callback:
    """Base class; override any hook. `on_batch_begin/end` are Keras 2 names for the train-batch hooks.

    The engine sets `model` (with `stop_training`, `optimizer`, `get_weights()`,
    `set_weights()`) and `params` (`epochs`, `steps`, `verbose`), and passes epoch logs
    as dicts of Python floats.
    """

    def __init__(self) -> None:
        self.model: Any = None
        self.params: dict[str, Any] = {}

    def set_model(self, model: Any) -> None:
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    # Resumable state: BackupAndRestore saves `_backup_state()` with its backup and hands
    # it back to `_restore_state` when a crashed fit restarts (after on_train_begin).
    def _backup_state(self) -> dict[str, Any] | None:
        """What this callback must carry over a crash: a JSON object whose values may
        also be tensors or NumPy arrays (they come back as CPU tensors); None: nothing."""
        return None

    def _restore_state(self, state: dict[str, Any]) -> None:
        """Take back what `_backup_state` returned."""

    def overrides(self, hook: str) -> bool:
        """True when this callback does something in `hook` (lets the engine skip batch logs)."""
        method = getattr(self, hook, None)
        return getattr(method, "__func__", None) is not getattr(Callback, hook, None)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None: ...
    def on_train_end(self, logs: dict[str, Any] | None = None) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None: ...
    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None: ...
    def on_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None: ...
    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None: ...

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.on_batch_end(batch, logs)

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None: ...
    def on_test_end(self, logs: dict[str, Any] | None = None) -> None: ...
    def on_test_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None: ...
    def on_test_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None: ...
    def on_predict_begin(self, logs: dict[str, Any] | None = None) -> None: ...
    def on_predict_end(self, logs: dict[str, Any] | None = None) -> None: ...
    def on_predict_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None: ...
    def on_predict_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None: ...
