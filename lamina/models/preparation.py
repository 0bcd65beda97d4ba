"""What `fit`, `evaluate`, `predict` and the batch methods share.

Building on a first batch and resolving heads (`_prepare`), choosing the train
and test steps (eager or compiled), class weights, and reading logs as floats."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping
from typing import Any

import torch

from lamina import distributed
from lamina.models import compile_utils as cu
from lamina.models.compiled_test_step import CompiledTestStep
from lamina.models.engine_utils import default_device
from lamina.models.logs import MetricLogs, as_floats
from lamina.models.precision import MixedPrecision
from lamina.models.step_runner import StepRunner
from lamina.models.steps import overridden_steps
from lamina.stacklevel import user_stacklevel


class Preparation:
    """Mixin: the set-up and log reading every training and inference entry point uses."""

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
            host = host_layers(self)
            if host and mode is not False:
                if mode is True:
                    warnings.warn(
                        f"Model '{self.name}' trains eagerly although jit_compile=True: its "
                        f"layer '{host[0].name}' ({type(host[0]).__name__}) reads Python "
                        "strings on the host, which torch.compile cannot trace. Vectorize "
                        "the texts before the model (layer(texts)) to compile the rest.",
                        stacklevel=user_stacklevel(),
                    )
                mode = False
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
            or host_layers(self)
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


# --------------------------------------------------------------------- helpers
def host_layers(model: Any) -> list[Any]:
    """The model's layers that work on Python strings (`host_only`: TextVectorization,
    StringLookup); a model holding one runs its steps eagerly."""
    return [m for m in model.modules() if getattr(type(m), "host_only", False)]


def _distributed_active() -> bool:
    from lamina import distributed

    check = getattr(distributed, "is_active", None)
    return bool(check()) if check is not None else False
