"""The train step as one `torch.compile` region, and the policy that decides to use it.

On small models a step costs Python and kernel launches more than arithmetic. Here the
forward pass, the loss, the gradients (`torch.func.grad_and_value`, no autograd tape),
the optimizer update (the same `torch.optim` code as the eager step, traced), the
weight constraints and the metric sums are traced into one graph that Inductor turns
into fused C++ kernels around the matrix products. The optimizer state stays in the
`torch.optim` object, so checkpoints, `get_weights` and a later eager step see it.

A batch of another shape (the last, partial batch of an epoch) runs the eager step
instead of recompiling; both update the same weights and optimizer state.

With `steps_per_execution=N` one call runs N consecutive steps (the graph holds N
copies of the step): Dynamo's per-call cost (guards, the runtime wrapper, copying the
updated weights back) is paid once per N batches. A schedule still advances on every
update: the N rates come in as one tensor.

    model.compile("adam", "sparse_categorical_crossentropy", jit_compile=True)
"""

from __future__ import annotations

import logging
import time
import warnings
from typing import Any

import torch
from torch.func import functional_call, grad_and_value

from lamina.layers.convolutional import BaseConv
from lamina.models import compile_utils as cu
from lamina.models.direct_call import DirectCall, GraphCapture
from lamina.optimizers.traced_rules import traced_rule
from lamina.optimizers.update import apply_update
from lamina.runtime.compiler import allow_recompiles, is_torch_convolution


class _QuietProfilerNote(logging.Filter):
    """Drop Dynamo's note that torch.optim's profiler ranges are not traced (harmless)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "will be ignored" not in record.getMessage()


logging.getLogger("torch._dynamo.variables.ctx_manager").addFilter(_QuietProfilerNote())

# Inductor options for every compiled step. The C++ wrapper (`cpp_wrapper`) gained nothing
# over the Python wrapper on the MLP (docs/design.md) and lengthens the compile: none by default.
INDUCTOR_OPTIONS: dict[str, Any] = {}
# 'auto': time this many eager steps before deciding (the first ones include warm-up).
AUTO_PROBE_STEPS = 8
# 'auto': assumed compile cost when deciding (seconds) and the expected speed-up.
AUTO_COMPILE_SECONDS = 10.0
AUTO_SPEEDUP = 1.4


def _shape_key(*structures: Any) -> tuple:
    key = []
    for s in structures:
        for t in cu.as_list(s) if s is not None else [None]:
            key.append(None if t is None else (tuple(t.shape), t.dtype))
    return tuple(key)


class CompiledTrainStep:
    """forward + loss + grads + update + metrics, compiled once for one batch shape.

    Build it after one eager step, so the optimizer state exists (`traced_rule`).
    """

    def __init__(self, model: Any, options: dict[str, Any] | None = None) -> None:
        self.model = model
        self.optimizer = model.optimizer
        self.torch_opt = self.optimizer.torch_optimizer
        named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        self.names = [n for n, _ in named]
        self.params = [p for _, p in named]
        self.buffers = dict(model.named_buffers())
        if [id(p) for p in self.params] != [id(p) for p in self.optimizer._params or []]:
            raise RuntimeError(
                "Expected the optimizer to hold the model's trainable weights in order, "
                f"received: {len(self.optimizer._params or [])} optimizer params for "
                f"{len(self.params)} trainable weights"
            )
        self.optimizer.use_tensor_lr()
        lr = self.torch_opt.param_groups[0]["lr"] if self.torch_opt is not None else None
        self.lr = lr if isinstance(lr, torch.Tensor) else None
        self.rule = traced_rule(self.optimizer)
        allow_recompiles(64)  # each model compiles the same code object
        opts = {**INDUCTOR_OPTIONS, **(options or {})}
        device = getattr(model, "_device", None)
        if device is not None and device.type == "cuda":
            # CUDA graphs replay the step's kernels with one launch: for small models the
            # launches, not the arithmetic, bound the step. Inductor skips them when unsafe.
            opts.setdefault("triton.cudagraphs", True)
        self.capture = GraphCapture(opts)  # Inductor, keeping the graph for direct calls
        self.compiled = torch.compile(self._steps, dynamic=False, backend=self.capture)
        # per (batches per call, schedule rates?): the graph called directly, or None
        self.direct: dict[tuple, DirectCall | None] = {}
        self.direct_allowed = True  # False for good once Dynamo had to compile again
        self.recheck = True  # the next call goes through Dynamo (its guards)
        self.key: tuple | None = None
        self.compile_seconds: float | None = None

    def _steps(self, batches: list[tuple], rates: torch.Tensor | None) -> Any:
        """Run the steps of `batches` in order (traced: one graph for all of them)."""
        grads = None
        for k, (x, y, sw) in enumerate(batches):
            grads = self._step(x, y, sw, None if rates is None else rates[k])
        return grads

    def _step(self, x: Any, y: Any, sw: Any, lr: Any) -> list[torch.Tensor] | None:
        model, names, opt = self.model, self.names, self.optimizer

        def loss_of(params: list[torch.Tensor], buffers: dict) -> tuple[torch.Tensor, tuple]:
            # buffers are arguments: layers update them in place (BatchNorm's moving stats)
            weights = {**dict(zip(names, params)), **buffers}

            def call(inputs: Any, training: bool) -> Any:
                return functional_call(model, weights, (inputs,), {"training": training})

            with model._precision.autocast():
                total, pairs, head_losses = model._forward_loss(x, y, sw, True, call=call)
            return opt.scale_loss(total), (total, pairs, head_losses)

        grads, (_, (total, pairs, head_losses)) = grad_and_value(loss_of, has_aux=True)(
            self.params, self.buffers
        )
        grads = list(grads)
        with torch.no_grad():
            batch = int(cu.as_list(x)[0].shape[0])
            model._update_metrics(total, pairs, head_losses, sw, batch)
            if self.rule is None:
                return grads  # the optimizer updates eagerly, from these gradients
            if lr is None:
                lr = self.lr if self.lr is not None else self.torch_opt.param_groups[0]["lr"]
            apply_update(opt, self.params, grads, lr, self.rule, model._constrained)
        return None

    def matches(self, x: Any, y: Any, sw: Any) -> bool:
        """True when this batch has the compiled shape (the first batch fixes it)."""
        key = _shape_key(x, y, sw)
        if self.key is None:
            self.key = key
        return key == self.key

    @property
    def fuses(self) -> bool:
        """True when one call can run several steps (the update is traced too)."""
        return self.rule is not None

    def __call__(self, batches: list[tuple]) -> None:
        """Train on `batches` (several only when `fuses`), all of the compiled shape."""
        opt = self.optimizer
        opt.before_update()
        rates = None
        if len(batches) > 1:
            ahead = opt.rates_ahead(len(batches))
            if ahead is not None:
                device = self.params[0].device if self.params else None
                rates = torch.tensor(ahead, dtype=torch.float32, device=device)
        grads = self._call(batches, rates)
        if grads is not None:  # no traced rule: the eager update, as in the eager step
            with torch.no_grad():
                for p, g in zip(self.params, grads):
                    p.grad = g
                opt.update(self.model._constrained)
                opt.zero_grad()
        for _ in batches:
            opt.count_step()

    def _call(self, batches: list[tuple], rates: Any) -> Any:
        """The direct call when it is set up and safe, else through Dynamo (see direct_call)."""
        key = (len(batches), rates is None)
        direct = self.direct.get(key)
        if direct is not None and not self.recheck and self.direct_allowed:
            direct(batches, rates)
            return None
        compiles = self.capture.calls
        start = time.perf_counter() if self.compile_seconds is None else None
        grads = self.compiled(batches, rates)
        if start is not None:
            self.compile_seconds = time.perf_counter() - start
        self.recheck = False
        new = self.capture.calls - compiles
        if new and (key in self.direct or new > 1):
            self.direct_allowed = (
                False  # Dynamo's guards asked for another graph: trust only Dynamo
            )
        elif new:
            self.direct[key] = DirectCall.bind(self.capture, self, batches, rates, grads)
        return grads

    def still_valid(self) -> bool:
        """False once the optimizer was rebuilt (new torch optimizer, new state)."""
        return self.optimizer is self.model.optimizer and (
            self.optimizer.torch_optimizer is self.torch_opt
        )


def _has_convolutions(model: Any) -> bool:
    return any(isinstance(m, BaseConv) or is_torch_convolution(m) for m in model.modules())


class StepRunner:
    """Runs the train step eagerly or compiled, as `jit_compile` asks.

    `jit_compile=True` compiles on the first full batch after one eager step; `False`
    never compiles. `'auto'` times the eager steps and compiles once either the rest of
    this fit would save more than the compile costs, or the time eager steps have lost
    so far (across fit calls) reaches that cost: the ski-rental rule, which never
    spends more than twice the better choice. It then times the compiled step and goes
    back to eager for good if that is not faster. On the CPU a model with convolutions
    stays eager under 'auto' (`_expected_speedup`); `jit_compile=True` still compiles
    it. If compiling fails, it warns once and trains eagerly.
    """

    def __init__(self, model: Any, jit_compile: bool | str, verbose: int = 0) -> None:
        self.model = model
        self.mode = jit_compile
        self.verbose = verbose
        self.compiled: CompiledTrainStep | None = None
        self.failed = False
        self.planned_steps: int | None = None
        self.done = 0  # steps in the current fit
        self.eager_steps = 0  # the first step is eager: it creates the optimizer state
        self.eager_seconds = 0.0  # timed eager steps, all fits (auto)
        self.timed_steps = 0
        self.checked = 0  # timed compiled steps ('auto' verifies the compiled step pays)
        self.compiled_seconds = 0.0
        self.decision: str = {True: "compiled", False: "eager"}.get(jit_compile, "auto")
        self.distributed = False  # set by the engine: built for a distributed fit
        # batches per compiled call (steps_per_execution; 1 when the update is not traced)
        self.chunk = max(int(getattr(model, "_steps_per_execution", 1)), 1)

    def plan(self, total_steps: int | None) -> None:
        """A fit starts: how many steps it will take (None: unknown)."""
        self.planned_steps = total_steps
        self.done = 0

    def new_epoch(self) -> None:
        """The next compiled call goes through Dynamo, so its guards are checked again."""
        if self.compiled is not None:
            self.compiled.recheck = True

    def __call__(self, x: Any, y: Any, sw: Any) -> None:
        self.run([(x, y, sw)])

    def run(self, batches: list[tuple]) -> None:
        """Train on consecutive batches: one compiled call for all of them when it can.

        Several batches (steps_per_execution) fuse into one call only when they all
        have the compiled shape and the update is traced; otherwise each runs alone,
        and a chunk of another length runs eagerly rather than compiling again.
        """
        if self.decision == "compiled" and not self.failed and self.eager_steps > 0:
            if self.compiled is None or not self.compiled.still_valid():
                try:
                    self.compiled = CompiledTrainStep(self.model)
                except Exception as err:  # noqa: BLE001
                    self._fail(err)
            step = self.compiled
            if step is not None and not step.fuses and self.chunk > 1:
                self.chunk = 1  # no traced update: one batch per compiled call
            if step is not None and len(batches) > 1 and not step.fuses:
                for batch in batches:
                    self.run([batch])
                return
            fused = len(batches) == self.chunk  # a shorter tail chunk: eager, no recompile
            if step is not None and fused and all(step.matches(*b) for b in batches):
                self._run_compiled(batches)
                if not self.failed:
                    return
        for x, y, sw in batches:
            self._run_eager(x, y, sw)

    def _run_compiled(self, batches: list[tuple]) -> None:
        self.done += len(batches)
        step = self.compiled
        verify = self.mode == "auto" and step.compile_seconds is not None
        start = time.perf_counter() if verify and self.checked < AUTO_PROBE_STEPS else None
        try:
            step(batches)
        except Exception as err:  # noqa: BLE001  compile errors surface on the first call
            self.done -= len(batches)
            self._fail(err)
            return
        self._report()
        if start is not None:
            self._verify((time.perf_counter() - start) / len(batches))

    def _run_eager(self, x: Any, y: Any, sw: Any) -> None:
        self.done += 1
        if self.decision != "auto" or self.done <= 2:  # a fit's first steps warm caches up
            self.model._train_step(x, y, sw)
            self.eager_steps += 1
            return
        start = time.perf_counter()
        self.model._train_step(x, y, sw)
        self.eager_steps += 1
        self.eager_seconds += time.perf_counter() - start
        self.timed_steps += 1
        if self.timed_steps >= AUTO_PROBE_STEPS:
            self._decide()

    def _verify(self, seconds: float) -> None:
        """'auto': keep the compiled step only if it measured faster than the eager one."""
        self.checked += 1
        self.compiled_seconds += seconds
        if self.checked == AUTO_PROBE_STEPS and self.timed_steps:
            compiled = self.compiled_seconds / self.checked
            eager = self.eager_seconds / self.timed_steps
            if compiled > 0.95 * eager:
                self.decision = "eager-measured"  # final: compiled did not pay here
                if self.verbose:
                    print(
                        f"\n[lamina] compiled step {compiled * 1e3:.1f} ms vs eager "
                        f"{eager * 1e3:.1f} ms: training eagerly",
                        flush=True,
                    )

    def _expected_speedup(self) -> float:
        """AUTO_SPEEDUP, or 1.0 for a model with convolutions on the CPU: oneDNN's conv
        kernels (with the fused conv+ReLU of the eager path) do the work either way, and
        the compiled step measured slower on the courses' CNN (the torch.compile loop
        632 vs the eager loop's 739 samples/s, benchmarks/RESULTS.md), after a 20 s compile."""
        device = getattr(self.model, "_device", None)
        if device is not None and device.type == "cpu" and _has_convolutions(self.model):
            return 1.0
        return AUTO_SPEEDUP

    def _decide(self) -> None:
        """'auto': compile when the saving repays the compile time (see the class doc)."""
        speedup = self._expected_speedup()
        if speedup <= 1.0:
            self.decision = "eager-predicted"  # final: compiling is not expected to pay
            return
        step_seconds = self.eager_seconds / self.timed_steps
        saved_fraction = 1.0 - 1.0 / speedup
        remaining = max((self.planned_steps or 0) - self.done, 0)
        ahead = remaining * step_seconds * saved_fraction
        behind = self.eager_seconds * saved_fraction
        if max(ahead, behind) > AUTO_COMPILE_SECONDS:
            self.decision = "compiled"

    def _report(self) -> None:
        seconds = self.compiled.compile_seconds if self.compiled else None
        if seconds is not None and not getattr(self, "_reported", False):
            self._reported = True
            if self.verbose:
                print(f"\n[lamina] compiled the train step in {seconds:.1f} s", flush=True)

    def _fail(self, err: Exception) -> None:
        self.failed = True
        first = str(err).splitlines()[0] if str(err) else ""
        warnings.warn(
            f"torch.compile could not compile the train step of model '{self.model.name}' "
            f"({type(err).__name__}: {first[:300]}); training eagerly instead.",
            stacklevel=3,
        )
