"""The training engine: `Trainer` and its `fit` loop.

`Trainer` composes `compile` (`compile_mixin.py`), `evaluate` and `predict`
(`inference.py`), the batch methods (`batch_methods.py`), the set-up they share
(`preparation.py`) and the per-batch steps (`steps.py`).

`fit` is one explicit loop that reads top to bottom, with Keras's callback hooks
and `model.stop_training`. Metrics accumulate on the device; `.item()` runs only
when the progress bar redraws or an epoch ends.

    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=128, epochs=5, validation_split=0.1)
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import callbacks as callbacks_mod
from lamina import distributed
from lamina.data.adapter import ArrayData, adapt, check_finite
from lamina.models import compile_utils as cu
from lamina.models.batch_methods import BatchMethods
from lamina.models.compile_mixin import CompileMixin
from lamina.models.engine_utils import (
    apply_class_weight,
    chunks,
    default_device,
    logits_mode,
    progbar,
    resolve_verbose,
    warn_legacy,
)
from lamina.models.inference import Inference
from lamina.models.precision import MixedPrecision
from lamina.models.steps import Steps
from lamina.models.trainable_state import check_trainable_unchanged
from lamina.runtime.cpu import cpu_run_settings


class Trainer(CompileMixin, Inference, BatchMethods, Steps):
    """Mixin giving a Model Keras's training API: `fit` here, the rest from the mixins."""

    def __init__(self) -> None:
        self.optimizer: Any = None
        self.loss: Any = None
        self.compiled = False
        self.stop_training = False
        self.history: Any = None
        self._heads: list[cu.OutputHead] = []
        self._heads_resolved = False
        self._loss_arg: Any = None
        self._metrics_arg: Any = None
        self._loss_weights_arg: Any = None
        self._weighted_metrics_arg: Any = None
        self._output_shape_cache: list[tuple | None] | None = None
        self._all_layers: list[Any] | None = None
        self._loss_tracker: Any = None
        self._step_fn: Any = None
        self._test_fn: Any = None
        self._predict_fn: Any = None
        self._device: torch.device | None = None
        self._precision = MixedPrecision(None, torch.device("cpu"))
        self._resume: tuple[int, int, Any] | None = None  # see fit
        self._train_data: Any = None  # the running fit's data (a backup saves its order)
        self._note_overrides()

    # ---------------------------------------------------------------------- fit
    def fit(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        epochs: int = 1,
        verbose: Any = "auto",
        callbacks: list[Any] | None = None,
        validation_split: float = 0.0,
        validation_data: Any = None,
        shuffle: bool = True,
        class_weight: dict[int, float] | None = None,
        sample_weight: Any = None,
        initial_epoch: int = 0,
        steps_per_epoch: int | None = None,
        validation_steps: int | None = None,
        validation_batch_size: int | None = None,
        validation_freq: int = 1,
        distribute: Any = None,
        diagnose: bool = False,
        **legacy: Any,
    ) -> Any:
        """Train for `epochs` epochs; returns a History whose `.history` holds the logs.

        `distribute=N` trains data-parallel in N processes on this machine, after which
        this model holds the trained weights; under torchrun, fit trains data-parallel
        on the launched processes by itself. `batch_size` is then the global batch
        (see `lamina.distributed` and docs/scaling.md).

        `diagnose=True` adds a `callbacks.Diagnostics()` (unless `callbacks` has one): it
        reports vanishing or exploding gradients, dead ReLUs, overfitting and more after
        each epoch, and `history.diagnostics` holds its findings and records (None without).
        """
        epochs = warn_legacy(legacy, epochs)
        self._assert_compiled("fit")
        check_trainable_unchanged(self, "fit")
        if distribute is not None and distributed.spawn_count(distribute) > 1:
            if diagnose:
                raise ValueError(
                    "Expected diagnose=False with distribute (the probes run in one process), "
                    f"received: diagnose=True, distribute={distribute!r}"
                )
            fit_args = dict(
                x=x,
                y=y,
                batch_size=batch_size,
                epochs=epochs,
                verbose=verbose,
                callbacks=callbacks,
                validation_split=validation_split,
                validation_data=validation_data,
                shuffle=shuffle,
                class_weight=class_weight,
                sample_weight=sample_weight,
                initial_epoch=initial_epoch,
                steps_per_epoch=steps_per_epoch,
                validation_steps=validation_steps,
                validation_batch_size=validation_batch_size,
                validation_freq=validation_freq,
            )
            return distributed.spawn_fit(self, distribute, fit_args)
        with distributed.fit_session(self) as session:  # None unless torch.distributed runs
            device = self._device or default_device()
            data = adapt(x, y, sample_weight, batch_size, shuffle, device, steps_per_epoch)
            val = None
            if validation_data is not None:
                val = self._adapt_validation(
                    validation_data, validation_batch_size or batch_size, device, validation_steps
                )
            elif validation_split:
                if not isinstance(data, ArrayData):
                    raise ValueError(
                        "Expected arrays when using validation_split, received: "
                        f"x of type {type(x).__name__}. Pass validation_data instead."
                    )
                data, val = data.split(validation_split)
                val.shuffle = False
            if session is not None:  # this rank's shards; equal step counts on all ranks
                if self._custom_train_step():
                    raise ValueError(
                        f"Model '{self.name}' expected the default train_step in a distributed "
                        "fit (it averages gradients across processes), received: an override "
                        f"in {type(self).__name__}"
                    )
                data, val = session.shard(data, val)
            if isinstance(data, ArrayData):
                check_finite(data.x, "x")
                if data.y is not None:
                    check_finite(data.y, "y")
            self._prepare(data, data.y if isinstance(data, ArrayData) else None)
            if session is not None:
                session.wrap()  # DDP: rank 0's weights go to every rank
            class_table = self._class_weight_table(class_weight)

            verbose = resolve_verbose(verbose)
            if session is not None:
                verbose = session.verbose(verbose)  # the progress bar on rank 0 only
            history = callbacks_mod.History()
            given = list(callbacks or [])
            if diagnose and not any(isinstance(c, callbacks_mod.Diagnostics) for c in given):
                given.append(callbacks_mod.Diagnostics())
            history.diagnostics = next(
                (c for c in given if isinstance(c, callbacks_mod.Diagnostics)), None
            )
            cbs = callbacks_mod.CallbackList(
                given + [history],
                model=self,
                params={
                    "epochs": epochs,
                    "steps": len(data) or None,
                    "verbose": verbose,
                    "do_validation": val is not None,
                    "metrics": self._log_names(val is not None),
                },
            )
            batch_hooks = cbs.needs_batch_hooks("train")
            spe = self._steps_per_execution
            step = self._step_function(verbose)
            step.plan((epochs - initial_epoch) * len(data) if len(data) else None)
            self.stop_training = False
            self.history = history

            def agree_stop() -> None:  # a callback on one rank stops every rank
                if session is not None:
                    self.stop_training = session.agree(self.stop_training)

            step_logs: Any = None  # the last train step's logs (None: the model's metrics)
            # BackupAndRestore's on_train_begin restores a crashed fit's state and sets
            # `_resume` to (epoch, step, shuffle order): the loop starts at that batch
            self._resume, self._train_data = None, data
            # a ProgbarLogger among the callbacks draws the bar: the engine's own stays off
            user_bar = any(isinstance(c, callbacks_mod.ProgbarLogger) for c in callbacks or [])
            cbs.on_train_begin()
            start_epoch, start_step, order = self._resume or (initial_epoch, 0, None)
            with logits_mode(self._heads), cpu_run_settings(self._device):
                for epoch in range(start_epoch, epochs):
                    if start_step == 0:  # a resumed epoch keeps its restored metric sums
                        self.reset_metrics()
                    self.train()
                    cbs.on_epoch_begin(epoch)
                    agree_stop()
                    step.new_epoch()
                    bar = progbar(len(data), 0 if user_bar else verbose, epoch, epochs)
                    resumed = start_step > 0 or order is not None  # (shards don't resume)
                    batches = data.epoch(start_step, order) if resumed else data.epoch()
                    # steps_per_execution=N: N batches per step call, and the batch hooks
                    # run once per N batches with the first and last index (as in Keras)
                    for first, chunk in chunks(batches, spe):
                        first += start_step
                        if class_table is not None:
                            chunk = [
                                (x_, y_, apply_class_weight(class_table, y_, w_))
                                for x_, y_, w_ in chunk
                            ]
                        last = first + len(chunk) - 1
                        if batch_hooks:
                            cbs.on_train_batch_begin(first)
                        step_logs = step.run(chunk)
                        if batch_hooks:
                            cbs.on_train_batch_end(last, self._step_logs(step_logs))
                            agree_stop()
                        if bar is not None and bar.due(last + 1):
                            bar.update(last + 1, self._step_logs(step_logs, local=True))
                        if self.stop_training:
                            break
                    logs = self._step_logs(step_logs)
                    if val is not None and (epoch + 1) % validation_freq == 0:
                        val_logs = self._run_evaluation(val, cbs)
                        logs.update({f"val_{k}": v for k, v in val_logs.items()})
                    cbs.on_epoch_end(epoch, logs)
                    agree_stop()
                    if bar is not None:
                        bar.finish(logs)
                    start_step, order = 0, None
                    if self.stop_training:
                        break
            self._train_data = None
            if session is not None:
                session.sync_buffers()  # every rank ends with rank 0's model
            self.optimizer.finalize_variable_values(self.trainable_weights)  # use_ema: averages
            cbs.on_train_end(self._step_logs(step_logs))
            return history

    def _log_names(self, validation: bool) -> list[str] | None:
        """The epoch logs' names, for callbacks to check what they monitor (Keras's
        `params['metrics']`); None when an overridden step returns logs of its own."""
        if {"train_step", "test_step"} & set(getattr(self, "_overrides", ())):
            return None
        names = list(self.metrics_names)
        return names + [f"val_{n}" for n in names] if validation else names

    def _adapt_validation(
        self, data: Any, batch_size: int | None, device: Any, steps: int | None
    ) -> Any:
        if isinstance(data, (tuple, list)) and len(data) in (2, 3):
            vx, vy = data[0], data[1]
            vsw = data[2] if len(data) == 3 else None
            return ArrayData(vx, vy, vsw, batch_size, False, device)
        return adapt(data, None, None, batch_size, False, device, steps)
