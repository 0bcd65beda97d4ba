"""BackupAndRestore: after a crash, the next `fit` carries on exactly where the last backup was.

    backup = BackupAndRestore("/tmp/backup", save_freq=200)   # every 200 batches
    model.fit(x, y, epochs=10, callbacks=[backup])            # killed in epoch 4 ...
    model.fit(x, y, epochs=10, callbacks=[backup])            # ... resumes at that batch

A backup (`lamina/saving/training_state.py`) holds the weights, the optimizer's slots
and step count (so a learning-rate schedule continues), the metrics' running sums, the
epoch and batch to resume at, the epoch's shuffle order, every random state (torch,
NumPy, Python's `random`, seeded layers) and the state of the other callbacks that keep
some (`_backup_state()`: EarlyStopping, ReduceLROnPlateau, ModelCheckpoint). With the
same data, model and eager steps, the resumed run ends with the weights a run that was
never interrupted ends with, bit for bit. A compiled step draws its dropout masks in
other kernels, and its first step after a restart runs eagerly: resuming it is exact in
the position and state, not in the bits. So is a distributed fit's (rank 0 writes the
backup, every rank restores it), which resumes at epoch boundaries only.
"""

from __future__ import annotations

import os
from typing import Any

from lamina.callbacks.callback import Callback
from lamina.distributed.env import is_main_process, world_size
from lamina.saving.training_state import (
    TrainingState,
    delete_training_state,
    load_training_state,
    save_training_state,
)


class BackupAndRestore(Callback):
    """Back up the whole training state every epoch (or every `save_freq` batches) into
    `backup_dir`, and restore it when a fit starts with a backup present (Keras's API).

    `delete_checkpoint=True` removes the backup when training ends normally;
    `double_checkpoint=True` keeps the backup before the latest too, and loading falls back
    to it when the latest is damaged. Its hooks run after the other callbacks' (it
    restores what their on_train_begin reset, and saves what their hooks updated).
    """

    _runs_last = True

    def __init__(
        self,
        backup_dir: str | os.PathLike,
        save_freq: str | int = "epoch",
        double_checkpoint: bool = False,
        delete_checkpoint: bool = True,
    ):
        super().__init__()
        if not backup_dir:
            raise ValueError(
                f"BackupAndRestore expected a backup_dir, received: backup_dir={backup_dir!r}"
            )
        if save_freq != "epoch" and (
            isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1
        ):
            raise ValueError(
                "BackupAndRestore expected save_freq='epoch' or a positive number of batches, "
                f"received: save_freq={save_freq!r}"
            )
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = bool(double_checkpoint)
        self.delete_checkpoint = bool(delete_checkpoint)
        self._peers: list[Any] = []
        self._epoch = 0
        self._batches = 0  # batch hooks seen since the fit started

    def _set_peers(self, callbacks: list[Any]) -> None:
        """The CallbackList's callbacks (this one among them), whose states it backs up."""
        self._peers = callbacks

    def overrides(self, hook: str) -> bool:
        if hook in ("on_train_batch_end", "on_batch_end"):  # batch logs only when needed
            return self.save_freq != "epoch" and hook == "on_train_batch_end"
        return super().overrides(hook)

    # ------------------------------------------------------------------- hooks
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._batches = 0
        if self.save_freq != "epoch" and world_size() > 1:
            raise ValueError(
                "BackupAndRestore expected save_freq='epoch' in a distributed fit (the ranks' "
                f"shards resume at an epoch's start only), received: save_freq={self.save_freq}"
            )
        state = load_training_state(self.backup_dir, self.model)
        if state is None:
            return
        saved = state.callbacks
        for key, cb in self._stateful():
            if key in saved:
                cb._restore_state(saved[key])
        self._epoch = state.epoch
        self.model._resume = (state.epoch, state.step, state.order)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.save_freq == "epoch":
            return
        self._batches += 1
        if self._batches % self.save_freq == 0:
            data = getattr(self.model, "_train_data", None)
            self._save(self._epoch, batch + 1, getattr(data, "order", None))

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.save_freq == "epoch":
            self._save(epoch + 1, 0, None)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.delete_checkpoint and is_main_process():
            delete_training_state(self.backup_dir)

    # ----------------------------------------------------------------- helpers
    def _stateful(self) -> list[tuple[str, Any]]:
        """(key, callback) for every other callback that keeps state; the key is its class
        name and its place among the callbacks of that class."""
        out, seen = [], {}
        for cb in self._peers:
            if cb is self or not callable(getattr(cb, "_backup_state", None)):
                continue
            name = type(cb).__name__
            seen[name] = seen.get(name, -1) + 1
            out.append((f"{name}/{seen[name]}", cb))
        return out

    def _save(self, epoch: int, step: int, order: Any) -> None:
        if not is_main_process():
            return
        states = {}
        for key, cb in self._stateful():
            state = cb._backup_state()
            if state is not None:
                states[key] = state
        save_training_state(
            self.backup_dir,
            self.model,
            TrainingState(epoch=epoch, step=step, order=order, callbacks=states),
            keep_previous=self.double_checkpoint,
        )
