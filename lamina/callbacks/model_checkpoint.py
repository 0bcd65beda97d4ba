"""ModelCheckpoint: save the model after every epoch, or every n batches, or when it improves."""

from __future__ import annotations

import os
import string
from typing import Any

from lamina.callbacks.callback import BATCH_HOOKS, Callback
from lamina.callbacks.monitor import check_mode, infer_mode, warn_missing
from lamina.distributed.env import is_main_process

MODEL_SUFFIXES = (".lamina", ".keras", ".h5", ".hdf5")
WEIGHTS_SUFFIXES = (".weights.h5", ".h5", ".hdf5", ".safetensors")


class ModelCheckpoint(Callback):
    """Save the model after every epoch (or every `save_freq` batches), as Keras's.

    `filepath` may hold format fields: `"ckpt-{epoch:02d}-{val_loss:.3f}.keras"` (epochs
    count from 1). `model.save(path)` writes it (`.lamina`, `.keras` or `.h5`), or
    `model.save_weights(path)` with `save_weights_only` (`.weights.h5`, `.h5` or
    `.safetensors`). `save_best_only` saves only when `monitor` improves (`mode` 'auto',
    'min' or 'max', as EarlyStopping; `initial_value_threshold` is the value to beat
    first); a monitor that no epoch can log (`val_loss` without validation data, a name
    not among the compiled metrics) is an error when fit starts. In distributed training
    only rank 0 writes.
    """

    def __init__(
        self,
        filepath: str | os.PathLike,
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        save_weights_only: bool = False,
        mode: str = "auto",
        save_freq: str | int = "epoch",
        initial_value_threshold: float | None = None,
    ):
        super().__init__()
        if save_freq != "epoch" and (
            isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1
        ):
            raise ValueError(
                "ModelCheckpoint expected save_freq='epoch' or a positive number of batches, "
                f"received: save_freq={save_freq!r}"
            )
        self.filepath, self.monitor, self.verbose = os.fspath(filepath), monitor, verbose
        suffixes = WEIGHTS_SUFFIXES if save_weights_only else MODEL_SUFFIXES
        if not self.filepath.lower().endswith(suffixes):
            raise ValueError(
                f"ModelCheckpoint expected a filepath ending in {', '.join(suffixes)} "
                f"(save_weights_only={save_weights_only}), received: filepath={self.filepath!r}"
            )
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self.mode = check_mode("ModelCheckpoint", mode)
        self.save_freq = save_freq
        self.initial_value_threshold = initial_value_threshold
        self.best: float | None = None
        self._mode: str | None = None
        self._epoch = 0
        self._batches = 0

    def overrides(self, hook: str) -> bool:
        if hook in BATCH_HOOKS["train"]:  # batch logs only when saving every n batches
            return self.save_freq != "epoch" and hook == "on_train_batch_end"
        return super().overrides(hook)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._batches = 0
        self._mode = infer_mode(self.monitor, self.model) if self.mode == "auto" else self.mode
        self.best = self.initial_value_threshold
        self._check_names()

    def _check_names(self) -> None:
        """Fail at the start of fit, not after an epoch, when a name can never be logged."""
        names = self.params.get("metrics")
        if self.params.get("do_validation") is False:
            missing = "no validation data was given"
            known = [n for n in names or [] if not n.startswith("val_")]
        elif names is not None:
            missing, known = "it is not among the compiled metrics' logs", list(names)
        else:
            return
        wanted = [self.monitor] if self.save_best_only else []
        fields = string.Formatter().parse(self.filepath)
        wanted += [f for _, f, _, _ in fields if f and f not in ("epoch", "batch")]
        for name in wanted:
            never = (name.startswith("val_") and self.params.get("do_validation") is False) or (
                names is not None and name not in names and name != "learning_rate"
            )
            if never:
                raise ValueError(
                    f"ModelCheckpoint expected a monitored name that fit logs ("
                    f"{', '.join(known) or 'none'}), received: '{name}'; {missing}"
                )

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.save_freq == "epoch":
            return
        self._batches += 1
        if self._batches % self.save_freq == 0:
            self._save(self._epoch, logs, batch)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.save_freq == "epoch":
            self._save(epoch, logs)

    def _improved(self, logs: dict[str, Any]) -> bool:
        current = logs.get(self.monitor)
        if current is None:
            warn_missing("ModelCheckpoint", self.monitor, logs)
            return False
        current = float(current)
        if self._mode is None:
            self.on_train_begin()
        better = (
            self.best is None
            or (self._mode == "min" and current < self.best)
            or (self._mode == "max" and current > self.best)
        )
        if better:
            self.best = current
        return better

    def _save(self, epoch: int, logs: dict[str, Any] | None, batch: int | None = None) -> None:
        logs = dict(logs or {})
        if self.save_best_only and not self._improved(logs):
            return  # every rank keeps the same `best`: the logs are the same on all ranks
        try:
            path = self.filepath.format(
                epoch=epoch + 1, batch=None if batch is None else batch + 1, **logs
            )
        except (KeyError, IndexError, ValueError) as err:
            raise ValueError(
                "ModelCheckpoint expected filepath fields among epoch, batch and the log keys "
                f"({', '.join(logs) or 'none'}), received: filepath={self.filepath!r} ({err})"
            ) from err
        if not is_main_process():
            return
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: saving model to {path}")

    def _backup_state(self) -> dict[str, Any]:
        return {"best": self.best, "mode": self._mode, "batches": self._batches}

    def _restore_state(self, state: dict[str, Any]) -> None:
        best = state["best"]
        self.best = None if best is None else float(best)
        self._mode, self._batches = state["mode"], int(state["batches"])
