"""The training engine: `compile`, `fit`, `evaluate`, `predict` and the batch methods.

`fit` is one explicit loop that reads top to bottom, with Keras's callback hooks
and `model.stop_training`. Metrics accumulate on the device; `.item()` runs only
when the progress bar redraws or an epoch ends.

    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=128, epochs=5, validation_split=0.1)
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from lamina import callbacks as callbacks_mod
from lamina import distributed, optimizers
from lamina import losses as losses_mod
from lamina import metrics as metrics_mod
from lamina.data.adapter import ArrayData, adapt, check_finite
from lamina.models import compile_utils as cu
from lamina.models.compiled_test_step import CompiledTestStep
from lamina.models.engine_utils import (
    apply_class_weight,
    chunks,
    default_device,
    format_logs,
    logits_mode,
    progbar,
    resolve_verbose,
    warn_legacy,
)
from lamina.models.logs import MetricLogs, as_floats
from lamina.models.precision import MixedPrecision, resolve_policy
from lamina.models.predict_outputs import PredictOutputs
from lamina.models.step_runner import StepRunner
from lamina.models.steps import Steps, overridden_steps
from lamina.runtime.cpu import cpu_run_settings
from lamina.utils.packing import pack_x_y_sample_weight


class Trainer(Steps):
    """Mixin giving a Model Keras's training API (the per-batch steps: `Steps`)."""

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
        self._note_overrides()

    # ------------------------------------------------------------------ compile
    def compile(
        self,
        optimizer: Any = "rmsprop",
        loss: Any = None,
        metrics: Any = None,
        loss_weights: Any = None,
        weighted_metrics: Any = None,
        run_eagerly: bool = False,
        steps_per_execution: int = 1,
        jit_compile: bool | str = "auto",
        device: str | torch.device | None = None,
        mixed_precision: str | None = None,
    ) -> None:
        """Choose the optimizer, loss(es) and metrics (Keras's signature).

        `loss` may be None when the model overrides `train_step` or `compute_loss` (or
        its layers add losses); fit then fails at once otherwise.
        `jit_compile`: True compiles the whole train step with `torch.compile` (the
        default one, `compiled_step.py`, or an override of `train_step`,
        `compiled_custom_step.py`), False never does, 'auto' (the default) lets
        `compile_policy.CompilePolicy` decide from the run's length and the step's time
        (reported at verbose >= 1); True or False pin the choice. `steps_per_execution=N`
        runs callbacks' batch hooks and the progress bar every N steps, as in Keras.
        `device` overrides the automatic choice (CUDA when present, else CPU).
        `mixed_precision='bf16'` or `'fp16'` (Keras: 'mixed_bfloat16', 'mixed_float16')
        runs the forward pass under autocast, fp16 with loss scaling (`models.precision`).
        """
        resolve_policy(mixed_precision)
        if jit_compile not in (True, False, "auto"):
            raise ValueError(
                f"Expected jit_compile in True, False or 'auto', received: jit_compile={jit_compile!r}"
            )
        if isinstance(steps_per_execution, bool) or not isinstance(steps_per_execution, int):
            raise TypeError(
                "Expected an int >= 1 for steps_per_execution, received: "
                f"steps_per_execution={steps_per_execution!r}"
            )
        if steps_per_execution < 1:
            raise ValueError(
                "Expected steps_per_execution >= 1, received: "
                f"steps_per_execution={steps_per_execution}"
            )
        self.optimizer = optimizers.get(optimizer)
        for spec in (
            loss.values()
            if isinstance(loss, dict)
            else loss
            if isinstance(loss, (list, tuple))
            else [loss]
        ):
            losses_mod.get(spec)  # unknown names fail here, with the closest valid names
        self.loss = loss
        self._loss_arg, self._metrics_arg, self._loss_weights_arg = loss, metrics, loss_weights
        self._weighted_metrics_arg = weighted_metrics
        self._jit_compile = jit_compile
        self._steps_per_execution = steps_per_execution
        self.run_eagerly = run_eagerly
        self._device = torch.device(device) if device is not None else default_device()
        self._precision = MixedPrecision(mixed_precision, self._device)
        self._mixed_precision = mixed_precision
        self._heads = []
        self._heads_resolved = False
        self._step_fn = None
        self._test_fn = None
        self._predict_fn = None
        self._loss_tracker = metrics_mod.Mean(name="loss")
        self.compiled = True

    def _resolve_heads(self) -> None:
        """Once the model is built: per-output losses, metrics and logits shortcuts
        (the latter only for the default steps: an override sees the model's outputs)."""
        if self._heads_resolved:
            return
        layers = cu.output_layers(self) if self._fused_logits() else [None]
        out_shapes = self._output_shapes()
        n = max(len(layers), len(out_shapes))
        if len(layers) < n:
            layers = [None] * n
        names = self._output_names(n)
        losses_ = cu.normalise_per_output(self._loss_arg, names, "loss")
        weights = cu.normalise_per_output(self._loss_weights_arg or 1.0, names, "loss weight")
        metric_ids = cu.metrics_per_output(self._metrics_arg, names)
        weighted_ids = cu.metrics_per_output(self._weighted_metrics_arg, names, "weighted_metrics")
        for i, name in enumerate(names):
            head = cu.OutputHead(
                name,
                losses_[i],
                weights[i] if weights[i] is not None else 1.0,
                metric_ids[i],
                weighted_ids[i],
            )
            head.resolve(
                layers[i], out_shapes[i] if i < len(out_shapes) else None, name if n > 1 else ""
            )
            self._heads.append(head)
        cu.name_metrics(self._heads, prefixed=n > 1)
        self._heads_resolved = True

    def _output_names(self, n: int) -> list[str]:
        names = getattr(self, "output_names", None)
        if names and len(names) == n:
            return list(names)
        return ["output"] if n == 1 else [f"output_{i}" for i in range(n)]

    def _output_shapes(self) -> list[tuple | None]:
        shape = getattr(self, "_output_shape_cache", None)
        return shape if shape is not None else [None]

    def _forward_module(self, training: bool) -> Any:
        """What a step calls: in a distributed fit's training steps the DDP wrapper
        (it averages gradients across ranks in backward()), else the model itself."""
        return distributed.forward_module(self) if training else self

    # ------------------------------------------------------------ preparation
    def _assert_compiled(self, what: str) -> None:
        if not self.compiled:
            raise RuntimeError(
                f"Model '{self.name}' must be compiled before {what}(): expected a compiled model, "
                "received: model.compile() not called. Call model.compile(optimizer, loss, metrics) first."
            )

    def _move_to(self, device: torch.device) -> None:
        """`self.to(device)`, skipped when every tensor is there already (a module walk
        that cost more than a small model's batch on each predict/evaluate call)."""
        want = torch.device(device)
        for t in itertools.chain(self.parameters(), self.buffers()):
            if t.device.type != want.type or (
                want.index is not None and t.device.index != want.index
            ):
                self.to(device)
                return

    def _prepare(self, data: Any, y_full: Any = None, for_training: bool = True) -> None:
        """Build the model on a first batch, then resolve heads and the optimizer.

        The first batch runs forward only when the model is not built yet or the heads
        need its output shapes (a loss or metrics were compiled): a model without `call`
        that overrides train_step (a GAN) needs neither."""
        device = self._device or default_device()
        self._device = device
        self._move_to(device)
        self._note_overrides()
        wants_shapes = not self._heads_resolved and any(
            a is not None for a in (self._loss_arg, self._metrics_arg, self._weighted_metrics_arg)
        )
        if (not self.built and self._defines_call()) or wants_shapes:
            x0 = data.first_x()
            with torch.no_grad():
                out = self(x0, training=False)
            self._output_shape_cache = [(None, *o.shape[1:]) for o in cu.as_list(out)]
        self._resolve_heads()
        if for_training:
            self.optimizer.build([p for p in self.parameters() if p.requires_grad])
        if y_full is not None:
            targets = cu.as_list(y_full)
            for head, yt, shape in zip(self._heads, targets, self._output_shapes()):
                if head.loss is None:
                    continue
                # once per target array: repeated evaluate() calls on the same data skip the pass
                ptr = yt.data_ptr() if isinstance(yt, torch.Tensor) else id(yt)
                key = (ptr, tuple(getattr(yt, "shape", ())), str(getattr(yt, "dtype", "")))
                if getattr(head, "_validated", None) != key:
                    head.loss.validate(yt, shape)
                    head._validated = key
        self._find_loss_layers()
        for m in self.metrics:
            if hasattr(m, "to"):
                m.to(device)

    def _inference_precision(self) -> MixedPrecision:
        """predict() may run before compile(): then no autocast."""
        precision = getattr(self, "_precision", None)
        return precision if precision is not None else MixedPrecision(None, torch.device("cpu"))

    def _step_function(self, verbose: int = 0) -> Any:
        """The train step: a StepRunner that runs eagerly or compiled, as `jit_compile` asks.

        The eager step when `run_eagerly=True` or in a distributed fit (DDP's gradient
        averaging hooks into autograd's backward, which the compiled step replaces).
        """
        distributed_now = _distributed_active()
        if self._step_fn is not None and self._step_fn.distributed != distributed_now:
            self._step_fn = None  # a distributed fit trains eagerly (DDP hooks autograd)
        if self._step_fn is None:
            mode = self._jit_compile
            if self.run_eagerly or distributed_now or self._precision.scaler is not None:
                mode = False  # fp16 loss scaling skips steps on the host: eager
            self._step_fn = StepRunner(self, mode)
            self._step_fn.distributed = distributed_now
        self._step_fn.verbose = verbose
        return self._step_fn

    def _test_function(self, kind: str = "test") -> CompiledTestStep | None:
        """The compiled test (or predict) step when training is compiled
        (`jit_compile=True`, or 'auto' chose it), else None (the eager step, always
        for an override of test_step / predict_step)."""
        if f"{kind}_step" in overridden_steps(self):
            return None
        runner = self._step_fn
        wanted = getattr(self, "_jit_compile", False) is True or (
            runner is not None and runner.decision == "compiled" and not runner.failed
        )
        if (
            not wanted
            or not self.compiled
            or self.run_eagerly
            or _distributed_active()
            or distributed.session_of(self) is not None
            or self._precision.scaler is not None
        ):
            return None
        attr = "_test_fn" if kind == "test" else "_predict_fn"
        step = getattr(self, attr, None)
        if step is None or not step.still_valid():
            step = CompiledTestStep(self, kind)
            setattr(self, attr, step)
        return step

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
        **legacy: Any,
    ) -> Any:
        """Train for `epochs` epochs; returns a History whose `.history` holds the logs.

        `distribute=N` trains data-parallel in N processes on this machine, after which
        this model holds the trained weights; under torchrun, fit trains data-parallel
        on the launched processes by itself. `batch_size` is then the global batch
        (see `lamina.distributed` and docs/scaling.md).
        """
        epochs = warn_legacy(legacy, epochs)
        self._assert_compiled("fit")
        if distribute is not None and distributed.spawn_count(distribute) > 1:
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
            cbs = callbacks_mod.CallbackList(
                list(callbacks or []) + [history],
                model=self,
                params={"epochs": epochs, "steps": len(data) or None, "verbose": verbose},
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
            cbs.on_train_begin()
            with logits_mode(self._heads), cpu_run_settings(self._device):
                for epoch in range(initial_epoch, epochs):
                    self.reset_metrics()
                    self.train()
                    cbs.on_epoch_begin(epoch)
                    agree_stop()
                    step.new_epoch()
                    bar = progbar(len(data), verbose, epoch, epochs)
                    # steps_per_execution=N: N batches per step call, and the batch hooks
                    # run once per N batches with the first and last index (as in Keras)
                    for first, chunk in chunks(data.epoch(), spe):
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
                    if self.stop_training:
                        break
            if session is not None:
                session.sync_buffers()  # every rank ends with rank 0's model
            self.optimizer.finalize_variable_values(self.trainable_weights)  # use_ema: averages
            cbs.on_train_end(self._step_logs(step_logs))
            return history

    def _adapt_validation(
        self, data: Any, batch_size: int | None, device: Any, steps: int | None
    ) -> Any:
        if isinstance(data, (tuple, list)) and len(data) in (2, 3):
            vx, vy = data[0], data[1]
            vsw = data[2] if len(data) == 3 else None
            return ArrayData(vx, vy, vsw, batch_size, False, device)
        return adapt(data, None, None, batch_size, False, device, steps)

    def _class_weight_table(self, class_weight: dict[int, float] | None) -> torch.Tensor | None:
        if not class_weight:
            return None
        n = max(int(k) for k in class_weight) + 1
        table = torch.ones(n, device=self._device)
        for k, v in class_weight.items():
            table[int(k)] = float(v)
        return table

    def _logs(self, local: bool = False) -> dict[str, float]:
        """Current metric values as floats: the only host sync, done when shown.

        In a distributed fit of this model the metric states of all ranks are summed
        first (a collective: every rank must ask), unless `local` (this rank's values).
        """
        session = None if local else distributed.session_of(self)
        if session is not None:
            return session.logs(self.metrics)
        return {m.name: float(m.result().item()) for m in self.metrics}

    def _step_logs(self, logs: Any, local: bool = False) -> dict[str, Any]:
        """The logs to show for a step's returned `logs`, as floats.

        The default steps' logs (and None, from a compiled default step) are the model's
        metrics, read now (`_logs`). An override's dict is shown as it is, unless its keys
        are exactly the metrics' names: then the metrics are read, as Keras does.
        """
        if logs is None or (isinstance(logs, MetricLogs) and logs.metrics_only):
            return self._logs(local)
        if isinstance(logs, Mapping):
            if set(logs) == set(self.metrics_names):
                return self._logs(local)
            return as_floats(logs)
        raise TypeError(
            f"Model '{self.name}' expected its train_step / test_step to return a dict of "
            f"logs, received: {type(logs).__name__}"
        )

    # ------------------------------------------------------------ evaluation
    def _run_evaluation(self, data: Any, cbs: Any = None) -> dict[str, float]:
        session = distributed.session_of(self)
        if session is not None:
            session.sync_buffers()  # every rank evaluates with rank 0's BatchNorm statistics
        self.reset_metrics()
        self.eval()
        hooks = cbs is not None and cbs.needs_batch_hooks("test")
        if cbs is not None:
            cbs.on_test_begin()
        custom = "test_step" in overridden_steps(self)
        step = self._test_function()
        if step is not None:
            step.recheck = True  # each evaluation's first batch goes through Dynamo's guards
        step_logs: Any = None
        with torch.inference_mode():
            for i, (xb, yb, swb) in enumerate(data.epoch()):
                if yb is None and not custom:
                    raise ValueError("Expected targets y for evaluation, received: y=None")
                if hooks:
                    cbs.on_test_batch_begin(i)
                if step is None or not step(xb, yb, swb):
                    step_logs = self.test_step(pack_x_y_sample_weight(xb, yb, swb))
                if hooks:  # ranks may hold different numbers of validation batches
                    cbs.on_test_batch_end(i, self._step_logs(step_logs, local=True))
        logs = self._step_logs(step_logs)
        if cbs is not None:
            cbs.on_test_end(logs)
        return logs

    def evaluate(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        verbose: Any = "auto",
        sample_weight: Any = None,
        steps: int | None = None,
        callbacks: list[Any] | None = None,
        return_dict: bool = False,
    ) -> Any:
        """Loss and metrics on data: a scalar, a list [loss, *metrics], or a dict."""
        self._assert_compiled("evaluate")
        data = adapt(
            x, y, sample_weight, batch_size, False, self._device or default_device(), steps
        )
        self._prepare(data, data.y if isinstance(data, ArrayData) else None, for_training=False)
        cbs = callbacks_mod.CallbackList(
            list(callbacks or []), model=self, params={"steps": len(data)}
        )
        bar = progbar(len(data), resolve_verbose(verbose), -1, 0)
        with logits_mode(self._heads), cpu_run_settings(self._device):
            logs = self._run_evaluation(data, cbs)
        if bar is not None:
            bar.finish(logs)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(
        self,
        x: Any,
        batch_size: int | None = None,
        verbose: Any = "auto",
        steps: int | None = None,
        callbacks: list[Any] | None = None,
    ) -> Any:
        """Model outputs for `x`, batch by batch, as NumPy arrays."""
        device = self._device or default_device()
        data = adapt(x, None, None, batch_size, False, device, steps)
        self._move_to(device)
        self.eval()
        cbs = callbacks_mod.CallbackList(
            list(callbacks or []), model=self, params={"steps": len(data)}
        )
        hooks = cbs.needs_batch_hooks("predict")
        cbs.on_predict_begin()
        outs = PredictOutputs(data.n if isinstance(data, ArrayData) else None)
        step = self._test_function("predict")
        if step is not None:
            step.recheck = True  # each call's first compiled batch goes through Dynamo's guards
        with torch.inference_mode(), cpu_run_settings(device):
            for i, (xb, _, _) in enumerate(data.epoch()):
                if hooks:
                    cbs.on_predict_batch_begin(i)
                batch_out = step.predict(xb) if step is not None else None
                if batch_out is None:
                    with self._inference_precision().autocast():
                        batch_out = cu.as_list(self.predict_step(pack_x_y_sample_weight(xb)))
                    batch_out = [o.float() if o.is_floating_point() else o for o in batch_out]
                    if step is not None:
                        step.adopt(xb, batch_out)
                    outs.add(batch_out)
                else:
                    outs.add(batch_out, borrowed=True)
                if hooks:
                    cbs.on_predict_batch_end(i, {"outputs": outs.last})
        cbs.on_predict_end()
        result = outs.numpy()
        return result[0] if len(result) == 1 else result

    def _run_one_batch(self, x: Any, y: Any, sample_weight: Any, train: bool) -> Any:
        device = self._device or default_device()
        data = ArrayData(x, y, sample_weight, shuffle=False, device=device)
        data.batch_size = data.n  # the whole batch at once
        self._prepare(data, for_training=train)
        self.reset_metrics()
        (xb, yb, swb) = next(iter(data.epoch()))
        with logits_mode(self._heads):
            if train:
                self.train()
                step = self._step_function()
                step.new_epoch()
                logs = step(xb, yb, swb)
            else:
                self.eval()
                with torch.inference_mode():
                    logs = self.test_step(pack_x_y_sample_weight(xb, yb, swb))
        return self._step_logs(logs)

    def train_on_batch(
        self,
        x: Any,
        y: Any = None,
        sample_weight: Any = None,
        class_weight: Any = None,
        return_dict: bool = False,
    ) -> Any:
        """One gradient step on one batch; returns the loss (and metrics)."""
        self._assert_compiled("train_on_batch")
        if class_weight:
            table = self._class_weight_table(class_weight)
            yt = torch.as_tensor(np.asarray(y))
            sample_weight = apply_class_weight(table.cpu(), yt, sample_weight).numpy()
        logs = self._run_one_batch(x, y, sample_weight, train=True)
        return format_logs(logs, return_dict)

    def test_on_batch(
        self, x: Any, y: Any = None, sample_weight: Any = None, return_dict: bool = False
    ) -> Any:
        """Loss (and metrics) on one batch, without updating weights."""
        self._assert_compiled("test_on_batch")
        return format_logs(self._run_one_batch(x, y, sample_weight, train=False), return_dict)

    def predict_on_batch(self, x: Any) -> Any:
        return self.predict(x, batch_size=len(x), verbose=0)


# --------------------------------------------------------------------- helpers
def _distributed_active() -> bool:
    from lamina import distributed

    check = getattr(distributed, "is_active", None)
    return bool(check()) if check is not None else False
