"""Runs the train step of `fit` eagerly or compiled, as `jit_compile` and its policy say.

The eager step is `model.train_step(data)`, the default or an override. The compiled
one is `CompiledTrainStep` (the default train step, `compiled_step.py`) or
`CompiledCustomStep` (an override, `compiled_custom_step.py`). The first step runs
eagerly: it creates the optimizer state the compiled step reads (a fit resumed with that
state restored compiles from its first step, as the interrupted run did). When to compile
is `CompilePolicy`'s choice (`compile_policy.py`); this module times the steps for it
and reports its decisions at verbose >= 1; `CompileHistory` (compile_history.py) feeds
it what earlier runs measured for the same step and records this run's figures. If
compiling fails, it warns once, naming the reason, and trains eagerly.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

from lamina.models.compile_history import CompileHistory
from lamina.models.compile_policy import CompilePolicy, ModelFacts
from lamina.models.compiled_custom_step import CompiledCustomStep, failure_reason
from lamina.models.compiled_step import CompiledTrainStep
from lamina.runtime.compiler import is_torch_convolution
from lamina.utils.packing import pack_x_y_sample_weight


def has_convolutions(model: Any) -> bool:
    """Whether the model convolves: a layer marked `_runs_convolutions` or a torch conv module."""
    return any(
        getattr(m, "_runs_convolutions", False) or is_torch_convolution(m) for m in model.modules()
    )


def model_facts(model: Any) -> ModelFacts:
    device = getattr(model, "_device", None)
    return ModelFacts(
        device_type=device.type if device is not None else "cpu",
        has_convolutions=has_convolutions(model),
        custom_step=model._custom_train_step(),
    )


class StepRunner:
    """The train step of one compiled model, eager or compiled (see the module doc).

    `run(batches)` trains on consecutive batches and returns the logs of the last step
    (None when a compiled default step ran: its logs are the model's metrics).
    """

    def __init__(self, model: Any, jit_compile: bool | str, verbose: int = 0) -> None:
        self.model = model
        self.custom = model._custom_train_step()
        self.build_seconds = 0.0  # constructing the compiled step, before its first call
        self.policy = CompilePolicy(jit_compile, model_facts(model))
        self.history = CompileHistory(model, self.policy)
        self.verbose = verbose
        self.compiled: CompiledTrainStep | CompiledCustomStep | None = None
        self.failed = False
        self.eager_steps = 0  # the first step is eager: it creates the optimizer state
        self.state_ready = False  # ...unless a resumed fit restored it (compile at once)
        self.distributed = False  # set by the engine: built for a distributed fit
        # batches per compiled call (steps_per_execution; 1 when the update is not traced)
        self.chunk = max(int(getattr(model, "_steps_per_execution", 1)), 1)
        self._reported_compile = False

    @property
    def decision(self) -> str:
        """The policy's decision: 'compiled', 'eager', 'auto' (undecided), 'eager-...'."""
        return self.policy.decision

    def plan(self, total_steps: int | None) -> None:
        """A fit starts: how many steps it will take (None: unknown)."""
        self.policy.plan(total_steps)

    def new_epoch(self) -> None:
        """The next compiled call goes through Dynamo, so its guards are checked again."""
        if self.compiled is not None:
            self.compiled.recheck = True

    def __call__(self, x: Any, y: Any, sw: Any) -> Any:
        return self.run([(x, y, sw)])

    def run(self, batches: list[tuple]) -> Any:
        """Train on consecutive batches: one compiled call for all of them when it can.

        Several batches (steps_per_execution) fuse into one call only when they all
        have the compiled shape and the update is traced; otherwise each runs alone,
        and a chunk of another length runs eagerly rather than compiling again.
        """
        if not self.history.started and not self.custom:
            self.history.first_batches(batches)
        if self.policy.message is not None:
            self._say(self.policy.take_message())
        if not self.state_ready:
            self.state_ready = self.eager_steps > 0 or self._state_restored()
        if self.policy.compile_now and not self.failed and self.state_ready:
            if self.compiled is None or not self.compiled.still_valid():
                try:  # building runs torch.compile, which imports Dynamo: part of the cost
                    started = time.perf_counter()
                    self.compiled = self._build()
                    self.build_seconds = time.perf_counter() - started
                except Exception as err:  # noqa: BLE001
                    self._fail(err)
            step = self.compiled
            if step is not None and not step.fuses and self.chunk > 1:
                self.chunk = 1  # no traced update: one batch per compiled call
            if step is not None and len(batches) > 1 and not step.fuses:
                logs = None
                for batch in batches:
                    logs = self.run([batch])
                return logs
            fused = len(batches) == self.chunk  # a shorter tail chunk: eager, no recompile
            if step is not None and fused and all(step.matches(*b) for b in batches):
                logs = self._run_compiled(batches)
                if not self.failed:
                    return logs
        logs = None
        for x, y, sw in batches:
            logs = self._run_eager(x, y, sw)
        return logs

    def _state_restored(self) -> bool:
        """True when the optimizer already holds state for every trainable weight (a fit
        resumed by BackupAndRestore), so no eager step has to create it."""
        opt = getattr(self.model, "optimizer", None)
        torch_opt = getattr(opt, "torch_optimizer", None)
        params = getattr(opt, "_params", None)
        if not params or getattr(opt, "_steps", 0) == 0 or opt._pending is not None:
            return False
        return torch_opt is None or all(p in torch_opt.state for p in params)

    def _build(self) -> CompiledTrainStep | CompiledCustomStep:
        if self.custom:
            return CompiledCustomStep(self.model)
        history = self.history
        return CompiledTrainStep(self.model, saved=history.saved, signature=history.signature)

    def _run_compiled(self, batches: list[tuple]) -> Any:
        step, policy, history = self.compiled, self.policy, self.history
        compiled_before = step.compile_seconds is not None
        timed = policy.mode == "auto" and compiled_before and policy.times_compiled_step()
        for_ledger = compiled_before and history.times_compiled_step
        start = time.perf_counter() if timed or for_ledger else None
        try:
            logs = step(batches)
        except Exception as err:  # noqa: BLE001  compile errors surface on the first call
            self._fail(err)
            return None
        policy.count_steps(len(batches))
        if not compiled_before:
            history.compiled(self._compile_seconds())
        if not self._reported_compile:
            self._report_compile()
        if start is not None:
            seconds = (time.perf_counter() - start) / len(batches)
            if for_ledger:
                history.compiled_step(seconds)
            if timed:
                policy.compiled_step(seconds)
                self._say(policy.take_message())
        return logs

    def _run_eager(self, x: Any, y: Any, sw: Any) -> Any:
        policy = self.policy
        timed = policy.times_eager_step()
        policy.count_steps(1)
        start = time.perf_counter() if timed else None
        logs = self.model.train_step(pack_x_y_sample_weight(x, y, sw))
        self.eager_steps += 1
        if start is not None:
            policy.eager_step(time.perf_counter() - start)
            self.history.after_eager_step()
            self._say(policy.take_message())
        return logs

    def _say(self, message: str | None) -> None:
        if message and self.verbose:
            print(f"\n[lamina] jit_compile='auto': {message}", flush=True)

    def _compile_seconds(self) -> float | None:
        """The whole compile: building the step (importing Dynamo) and its first call."""
        seconds = self.compiled.compile_seconds if self.compiled else None
        return None if seconds is None else seconds + self.build_seconds

    def _report_compile(self) -> None:
        seconds = self._compile_seconds()
        if seconds is not None and not self._reported_compile:
            self._reported_compile = True
            if self.verbose:
                print(f"\n[lamina] compiled the train step in {seconds:.1f} s", flush=True)

    def _fail(self, err: Exception) -> None:
        self.failed = True
        what = "custom train_step" if self.custom else "train step"
        warnings.warn(
            f"torch.compile could not compile the {what} of model '{self.model.name}' "
            f"({failure_reason(err)}); training eagerly instead.",
            stacklevel=4,
        )
