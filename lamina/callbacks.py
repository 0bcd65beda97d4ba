"""Keras-compatible training callbacks: the same hook names, arguments and behaviour.

    model.fit(x, y, epochs=100, callbacks=[EarlyStopping(patience=3, restore_best_weights=True)])

The engine sets `callback.model` (with `stop_training`, `optimizer`, `get_weights()`,
`set_weights()`) and `callback.params` (`epochs`, `steps`, `verbose`), and passes
epoch logs as dicts of Python floats.
"""

from __future__ import annotations

import copy
import csv
import inspect
import math
import os
import warnings
from collections.abc import Callable, Iterable
from typing import Any

from lamina import registry

_HOOKS = (
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
_BATCH_HOOKS = {
    "train": ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end"),
    "test": ("on_test_batch_begin", "on_test_batch_end"),
    "predict": ("on_predict_batch_begin", "on_predict_batch_end"),
}
# Substrings of metric names that are better when higher (mode='auto').
_HIGHER_IS_BETTER = ("acc", "auc", "precision", "recall", "f1", "fmeasure", "iou", "top_k", "r2")


class Callback:
    """Base class; override any hook. `on_batch_begin/end` are Keras 2 names for the train-batch hooks."""

    def __init__(self) -> None:
        self.model: Any = None
        self.params: dict[str, Any] = {}

    def set_model(self, model: Any) -> None:
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

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


def _overrides(cb: Any, hook: str) -> bool:
    if isinstance(cb, Callback):
        return cb.overrides(hook)
    return callable(getattr(cb, hook, None))  # duck-typed callbacks: assume they care


class CallbackList:
    """Dispatches every hook to many callbacks, in order: `cbs.on_epoch_end(epoch, logs)`.

    `needs_batch_hooks('train' | 'test' | 'predict')` tells the engine whether any
    callback uses those batch hooks (if not, it can skip building batch logs).
    """

    def __init__(
        self,
        callbacks: Iterable[Any] | None = None,
        model: Any = None,
        params: dict[str, Any] | None = None,
        add_history: bool = False,
        **extra_params: Any,
    ):
        self.callbacks: list[Any] = list(callbacks or [])
        self.history: History | None = None
        if add_history and not any(isinstance(cb, History) for cb in self.callbacks):
            self.history = History()
            self.callbacks.append(self.history)
        self.model = None
        self.params = {**(params or {}), **extra_params}
        if model is not None:
            self.set_model(model)
        self.set_params(self.params)

    def append(self, callback: Any) -> None:
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
        return any(_overrides(cb, h) for cb in self.callbacks for h in _BATCH_HOOKS[mode])

    def _call(self, hook: str, *args: Any) -> None:
        for cb in self.callbacks:
            method = getattr(cb, hook, None)
            if method is not None:
                method(*args)

    def __iter__(self) -> Any:
        return iter(self.callbacks)

    def __len__(self) -> int:
        return len(self.callbacks)

    def __getitem__(self, index: int) -> Any:
        return self.callbacks[index]


def _make_dispatcher(hook: str) -> Callable[..., None]:
    if hook.endswith(("epoch_begin", "epoch_end", "batch_begin", "batch_end")):

        def dispatch(self: CallbackList, index: int, logs: dict[str, Any] | None = None) -> None:
            self._call(hook, index, logs)

    else:

        def dispatch(self: CallbackList, logs: dict[str, Any] | None = None) -> None:  # type: ignore[misc]
            self._call(hook, logs)

    dispatch.__name__ = hook
    return dispatch


for _hook in _HOOKS:
    setattr(CallbackList, _hook, _make_dispatcher(_hook))
CallbackList.on_batch_begin = CallbackList.on_train_batch_begin  # type: ignore[attr-defined]
CallbackList.on_batch_end = CallbackList.on_train_batch_end  # type: ignore[attr-defined]


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


class LambdaCallback(Callback):
    """A callback from plain functions, e.g.
    `LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs['loss']))`.

    Keyword names are hook names (`on_epoch_begin`, `on_batch_end`, `on_train_end`, ...),
    called with the hook's arguments; `on_batch_begin/end` run on training batches, as in Keras.
    """

    _ALIASES = {"on_train_batch_begin": "on_batch_begin", "on_train_batch_end": "on_batch_end"}

    def __init__(self, **hooks: Callable[..., Any] | None):
        super().__init__()
        valid = (*_HOOKS, "on_batch_begin", "on_batch_end")
        for name in hooks:
            if name not in valid:
                hint = registry.closest(name, valid)
                raise TypeError(
                    f"LambdaCallback expected hook names, received: {name}=..."
                    + (f" Did you mean: {', '.join(repr(h) for h in hint)}?" if hint else "")
                )
        self._fns = {k: v for k, v in hooks.items() if v is not None}

    def overrides(self, hook: str) -> bool:
        return hook in self._fns or self._ALIASES.get(hook) in self._fns

    def _run(self, hook: str, *args: Any) -> None:
        fn = self._fns.get(hook)
        if fn is not None:
            fn(*args)


def _lambda_hook(hook: str) -> Callable[..., None]:
    alias = LambdaCallback._ALIASES.get(hook)

    def method(self: LambdaCallback, *args: Any) -> None:
        self._run(hook, *args)
        if alias is not None:
            self._run(alias, *args)

    method.__name__ = hook
    return method


for _hook in (*_HOOKS, "on_batch_begin", "on_batch_end"):
    setattr(LambdaCallback, _hook, _lambda_hook(_hook))


def _infer_mode(monitor: str, model: Any = None) -> str:
    """'min' or 'max' for mode='auto': a metric's own direction, else its name."""
    name = monitor.removeprefix("val_")
    for metric in getattr(model, "metrics", None) or []:
        direction = getattr(metric, "_direction", None)
        if getattr(metric, "name", None) == name and direction in ("up", "down"):
            return "max" if direction == "up" else "min"
    if "loss" in name or "error" in name:
        return "min"
    return "max" if any(s in name for s in _HIGHER_IS_BETTER) else "min"


def _check_mode(owner: str, mode: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(
            f"{owner} expected mode in ('auto', 'min', 'max'), received: mode={mode!r}"
        )
    return mode


def _is_chief() -> bool:
    """False on the non-zero ranks of a distributed run: only rank 0 writes files and prints."""
    from lamina.distributed import is_main_process

    return is_main_process()


def _say(message: str) -> None:
    if _is_chief():
        print(message)


def _missing(owner: str, monitor: str, logs: dict[str, Any]) -> None:
    warnings.warn(
        f"{owner} is conditioned on metric '{monitor}', which is not available. "
        f"Available metrics are: {', '.join(logs) or '(none)'}.",
        stacklevel=3,
    )


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
        self.mode = _check_mode("EarlyStopping", mode)
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
            self._mode = _infer_mode(self.monitor, self.model) if self.mode == "auto" else self.mode
            self.best = math.inf if self._mode == "min" else -math.inf
        current = logs.get(self.monitor)
        if current is None:
            _missing("Early stopping", self.monitor, logs)
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
            _say(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                _say(
                    f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}."
                )
            if hasattr(self.model, "set_weights"):
                self.model.set_weights(self.best_weights)
            else:
                self.model.load_state_dict(self.best_weights)

    def _weights(self) -> Any:
        if hasattr(self.model, "get_weights"):
            return copy.deepcopy(self.model.get_weights())
        return {k: v.detach().clone() for k, v in self.model.state_dict().items()}


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
        self.mode = _check_mode("ReduceLROnPlateau", mode)
        self.min_delta, self.cooldown, self.min_lr = float(min_delta), int(cooldown), float(min_lr)
        self._reset()

    def _reset(self) -> None:
        self.wait = 0
        self.cooldown_counter = 0
        self.best = math.nan  # set to +-inf once the mode is known
        self._mode: str | None = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._reset()

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
            self._mode = _infer_mode(self.monitor, self.model) if self.mode == "auto" else self.mode
            self.best = math.inf if self._mode == "min" else -math.inf
        current = logs.get(self.monitor)
        if current is None:
            _missing("Learning rate reduction", self.monitor, logs)
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
                        _say(
                            f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}."
                        )
                    self.cooldown_counter, self.wait = self.cooldown, 0


class LearningRateScheduler(Callback):
    """At each epoch start, set `optimizer.learning_rate = schedule(epoch, lr)` (or
    `schedule(epoch)` for one-argument functions, as in Keras 1). Adds `learning_rate` to logs."""

    def __init__(self, schedule: Callable[..., float], verbose: int = 0):
        super().__init__()
        self.schedule, self.verbose = schedule, verbose
        try:
            params = inspect.signature(schedule).parameters.values()
            positional = [
                p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            ]
            self._two_args = len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params)
        except (TypeError, ValueError):  # builtins without signatures
            self._two_args = True

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        optimizer = self.model.optimizer
        lr = float(optimizer.learning_rate)
        new_lr = self.schedule(epoch, lr) if self._two_args else self.schedule(epoch)
        try:
            new_lr = float(new_lr)
        except (TypeError, ValueError):
            new_lr = float("nan")
        if not math.isfinite(new_lr):
            raise ValueError(
                f"LearningRateScheduler expected the schedule to return a finite float, "
                f"received: schedule({epoch}, {lr}) -> {new_lr!r}"
            )
        optimizer.learning_rate = new_lr
        if self.verbose > 0:
            _say(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {new_lr}.")

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class TerminateOnNaN(Callback):
    """Stop training when the loss becomes NaN or infinite.

    Checked after every training batch (one host sync per batch) and at epoch end.
    """

    def _check(self, where: str, logs: dict[str, Any] | None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            _say(f"{where}: Invalid loss, terminating training")
            self.model.stop_training = True

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._check(f"Batch {batch}", logs)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._check(f"Epoch {epoch + 1}", logs)


class CSVLogger(Callback):
    """Write one CSV row per epoch: `epoch` then the log keys in sorted order.

    `append=True` continues an existing file (without repeating its header).
    In distributed training only rank 0 writes (every rank sees the same logs).
    """

    def __init__(self, filename: str | os.PathLike, separator: str = ",", append: bool = False):
        super().__init__()
        self.filename, self.sep, self.append = os.fspath(filename), separator, append
        self.keys: list[str] | None = None
        self._file: Any = None
        self._writer: Any = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if not _is_chief():
            return
        header = True
        if self.append and os.path.exists(self.filename):
            with open(self.filename) as f:
                header = not f.readline()
        if self._file is not None and not self._file.closed:
            self._file.close()
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self._header, self.keys, self._writer = header, None, None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        if not _is_chief():
            return
        if self._file is None:
            self.on_train_begin()
        if self.keys is None:
            self.keys = sorted(logs)
            for name in getattr(self.model, "metrics_names", None) or []:
                if name.startswith("val_") and name not in self.keys:
                    self.keys.append(name)
        if self._writer is None:
            self._writer = csv.writer(self._file, delimiter=self.sep)
            if self._header:
                self._writer.writerow(["epoch", *self.keys])
        self._writer.writerow([epoch, *(_cell(logs.get(k, "NA")) for k in self.keys)])
        self._file.flush()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._file is not None and not self._file.closed:
            self._file.close()
        self._file = self._writer = None


class ModelCheckpoint(Callback):
    """Save the model's weights after every epoch (or every `save_freq` batches), as Keras's.

    `filepath` may hold format fields: `"ckpt-{epoch:02d}-{val_loss:.3f}.pt"` (epochs count
    from 1). `save_best_only` saves only when `monitor` improves (`mode` 'auto', 'min' or
    'max', as EarlyStopping; `initial_value_threshold` is the value to beat first).
    The model's `save_weights(path)` (or `save(path)` unless `save_weights_only`) writes
    the file when it has one, else `torch.save(model.state_dict(), path)`: restore with
    `model.load_state_dict(torch.load(path, weights_only=True))` (tensors only, no code
    runs). In distributed training only rank 0 writes.
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
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self.mode = _check_mode("ModelCheckpoint", mode)
        self.save_freq = save_freq
        self.initial_value_threshold = initial_value_threshold
        self.best: float | None = None
        self._mode: str | None = None
        self._epoch = 0
        self._batches = 0

    def overrides(self, hook: str) -> bool:
        if hook in _BATCH_HOOKS["train"]:  # batch logs only when saving every n batches
            return self.save_freq != "epoch" and hook == "on_train_batch_end"
        return super().overrides(hook)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._batches = 0
        self._mode = _infer_mode(self.monitor, self.model) if self.mode == "auto" else self.mode
        self.best = self.initial_value_threshold

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
            _missing("ModelCheckpoint", self.monitor, logs)
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
        if not _is_chief():
            return
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        method = getattr(self.model, "save_weights" if self.save_weights_only else "save", None)
        if method is None and not self.save_weights_only:
            method = getattr(self.model, "save_weights", None)
        if method is not None:
            method(path)
        else:
            import torch

            torch.save(self.model.state_dict(), path)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: saving model to {path}")


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return f"[{', '.join(map(str, value))}]"
    return value
