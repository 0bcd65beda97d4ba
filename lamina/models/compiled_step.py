"""The default train step as one `torch.compile` region.

On small models a step costs Python and kernel launches more than arithmetic. Here the
default `train_step` (`steps.Steps._default_train_step`: the forward pass,
`compute_loss`, the loss trackers, the update, `compute_metrics`) is traced into one
graph that Inductor turns into fused C++ kernels around the matrix products. Only its
gradients and update differ from the eager step (`FunctionalGradients`): gradients
from `torch.func.grad_and_value` with the weights swapped into the layers
(`weight_slots.py`; no autograd tape), and the
optimizer update as the same `apply_update` with the optimizer's traced rule. The
optimizer state stays in the `torch.optim` object, so checkpoints, `get_weights` and a
later eager step see it.

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
from typing import Any

import torch
from torch.func import grad_and_value

from lamina import config
from lamina.layers.mask_utils import get_mask, set_mask
from lamina.models import compile_utils as cu
from lamina.models.compile_signature import step_signature
from lamina.models.direct_call import DirectCall, GraphCapture
from lamina.models.saved_step import InputsChanged, LibraryCall, SavedSteps
from lamina.models.weight_slots import WeightSlots
from lamina.optimizers.traced_rules import traced_rule
from lamina.optimizers.update import apply_update
from lamina.runtime.compiler import allow_recompiles, own_code
from lamina.utils.packing import pack_x_y_sample_weight


class _QuietProfilerNote(logging.Filter):
    """Drop Dynamo's note that torch.optim's profiler ranges are not traced (harmless)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "will be ignored" not in record.getMessage()


logging.getLogger("torch._dynamo.variables.ctx_manager").addFilter(_QuietProfilerNote())

# Inductor options for every compiled step. The C++ wrapper (`cpp_wrapper`) gained nothing
# over the Python wrapper on the MLP (docs/design.md) and lengthens the compile: none by default.
INDUCTOR_OPTIONS: dict[str, Any] = {}


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

    def __init__(
        self,
        model: Any,
        options: dict[str, Any] | None = None,
        saved: SavedSteps | None = None,
        signature: str | None = None,
    ) -> None:
        self.model = model
        self.optimizer = model.optimizer
        self.torch_opt = self.optimizer.torch_optimizer
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.buffers = dict(model.named_buffers())
        self.slots = WeightSlots(model, self.params + list(self.buffers.values()))
        if [id(p) for p in self.params] != [id(p) for p in self.optimizer._params or []]:
            raise RuntimeError(
                "Expected the optimizer to hold the model's trainable weights in order, "
                f"received: {len(self.optimizer._params or [])} optimizer params for "
                f"{len(self.params)} trainable weights"
            )
        self.optimizer.use_tensor_lr()
        self.optimizer.bind_state()  # the direct call holds the state tensors from here on
        lr = self.torch_opt.param_groups[0]["lr"] if self.torch_opt is not None else None
        self.lr = lr if isinstance(lr, torch.Tensor) else None
        self.rule = traced_rule(self.optimizer)
        opts = {**INDUCTOR_OPTIONS, **(options or {})}
        device = getattr(model, "_device", None)
        if device is not None and device.type == "cuda":
            # CUDA graphs replay the step's kernels with one launch: for small models the
            # launches, not the arithmetic, bound the step. Inductor skips them when unsafe.
            opts.setdefault("triton.cudagraphs", True)
        # A saved library of this very step (saved_step.py) is loaded instead of compiling;
        # without one, the first compile also builds one for later runs.
        self.signature = signature
        self.saved = saved if saved is not None and signature and config.step_library() else None
        self.recipe = self.saved.find(signature) if self.saved is not None else None
        # (only a step whose update is traced can be saved: the graph must return nothing)
        buildable = self.saved is not None and not self.recipe and self.rule is not None
        buildable = buildable and not self.saved.refused(signature)
        library = self.saved.library_path(signature) if buildable else None
        self.capture = GraphCapture(opts, library)  # keeps the graph for direct calls
        self._compiled: Any = None  # torch.compile of the steps, made when first needed
        # per (batches per call, schedule rates?): the graph called directly, or None
        self.direct: dict[tuple, DirectCall | None] = {}
        self.from_library: set[tuple] = set()  # keys whose direct call is a saved library
        self.direct_allowed = True  # False for good once Dynamo had to compile again
        self.recheck = True  # the next call goes through Dynamo (its guards)
        self.key: tuple | None = None
        self.compile_seconds: float | None = None

    @property
    def compiled(self) -> Any:
        """The steps under `torch.compile` (made on first use: it imports Dynamo)."""
        if self._compiled is None:
            allow_recompiles(64)  # each model compiles the same code object
            self._compiled = torch.compile(
                own_code(self._steps), dynamic=False, backend=self.capture
            )
        return self._compiled

    def _steps(self, batches: list[tuple], rates: torch.Tensor | None) -> Any:
        """Run the default train step on each of `batches` in order (traced: one graph for
        all of them). Returns the last step's gradients when the optimizer has no traced
        rule (it then updates eagerly after the graph), else None."""
        grads = None
        for k, (x, y, sw) in enumerate(batches):
            gradients = FunctionalGradients(self, None if rates is None else rates[k])
            self.model._default_train_step(pack_x_y_sample_weight(x, y, sw), gradients)
            grads = gradients.pending
        return grads

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
        if key in self.from_library and self._library_call(key, batches, rates):
            return None
        direct = self.direct.get(key)
        if direct is not None and not self.recheck and self.direct_allowed:
            direct(batches, rates)
            return None
        if self.recipe is not None and self._load_library(key, batches, rates):
            return None
        compiles = self.capture.calls
        start = time.perf_counter() if self.compile_seconds is None else None
        grads = self.compiled(batches, rates)
        if start is not None:
            self.compile_seconds = time.perf_counter() - start
        self.recheck = False
        new = self.capture.calls - compiles
        bound = None
        if new and (key in self.direct or new > 1):
            self.direct_allowed = (
                False  # Dynamo's guards asked for another graph: trust only Dynamo
            )
        elif new:
            bound = DirectCall.bind(self.capture, self, batches, rates, grads)
            self.direct[key] = bound
        if new and not compiles and self.capture.library_path is not None:
            self._settle_library(key, bound)
        return grads

    def _settle_library(self, key: tuple, bound: DirectCall | None) -> None:
        """After the first compile: publish the library built for it, when a later run can
        call it alone (one graph, bound directly); else remember that this step cannot be
        saved (random or custom operators, a step in pieces, a failed build), so later runs
        do not build again."""
        if self.capture.library_built and bound is not None:
            self.saved.publish(self.signature, bound, key, self.capture.example_inputs)
        else:
            self.saved.refuse(self.signature)

    def _load_library(self, key: tuple, batches: list[tuple], rates: Any) -> bool:
        """Run this call from the saved library, when it serves it; False: compile instead."""
        recipe, self.recipe = self.recipe, None  # tried once
        start = time.perf_counter()
        direct = LibraryCall.load(recipe, key, self, batches, rates)
        if direct is None:
            return False
        self.direct[key] = direct
        self.from_library.add(key)
        direct(batches, rates)
        if self.compile_seconds is None:
            self.compile_seconds = time.perf_counter() - start
        self.recheck = False
        return True

    def _library_call(self, key: tuple, batches: list[tuple], rates: Any) -> bool:
        """Call the saved library; False (and the library is dropped) when it no longer
        fits: the model's signature changed since the last epoch, or a batch's layout."""
        direct = self.direct[key]
        if self.recheck:  # once per epoch, in place of Dynamo's guards
            self.recheck = False
            if step_signature(self.model, batches) != self.signature:
                self._drop_library(key)
                return False
        try:
            direct(batches, rates)
        except InputsChanged:
            self._drop_library(key)
            return False
        return True

    def _drop_library(self, key: tuple) -> None:
        self.from_library.discard(key)
        self.direct.pop(key, None)
        self.recheck = True

    def still_valid(self) -> bool:
        """False once the optimizer was rebuilt (new torch optimizer, new state)."""
        return self.optimizer is self.model.optimizer and (
            self.optimizer.torch_optimizer is self.torch_opt
        )


class FunctionalGradients:
    """The compiled default step's gradients and update (`Steps._default_train_step`
    calls them where the eager step uses `steps.EagerGradients`).

    Gradients come from `grad_and_value` over the model called with the weights it hands
    in (`WeightSlots`), buffers too, as arguments, so layers may update them in place
    (BatchNorm's moving statistics). The update is `apply_update` with the optimizer's
    traced rule; without one, the gradients wait in `pending` for the eager update after
    the graph.
    """

    def __init__(self, step: CompiledTrainStep, lr: Any) -> None:
        self.step = step
        self.lr = lr  # this step's rate (steps_per_execution with a schedule), or None
        self.pending: list[torch.Tensor] | None = None

    def loss_and_gradients(
        self, model: Any, x: Any, y: Any, sample_weight: Any
    ) -> tuple[torch.Tensor, Any, list, list[torch.Tensor]]:
        step, opt = self.step, self.step.optimizer

        def loss_of(params: list[torch.Tensor], buffers: list) -> tuple[torch.Tensor, tuple]:
            with step.slots.holding(params + buffers), model._precision.autocast():
                y_pred = model(x, training=True)
                loss, terms = model._loss_and_terms(x, y, y_pred, sample_weight, training=True)
            found = ((i, get_mask(p)) for i, p in enumerate(cu.as_list(y_pred)))
            masks = {i: m for i, m in found if m is not None}  # (aux takes no None leaves)
            return opt.scale_loss(loss), (loss, y_pred, terms, masks)

        grads, (_, (loss, y_pred, terms, masks)) = grad_and_value(loss_of, has_aux=True)(
            step.params, list(step.buffers.values())
        )
        # The transform hands out new tensors: the outputs' masks go back on them (metrics).
        preds = cu.as_list(y_pred)
        for i, m in masks.items():
            set_mask(preds[i], m)
        return loss, y_pred, terms, list(grads)

    def apply(self, model: Any, loss: torch.Tensor, grads: list[torch.Tensor]) -> None:
        """The update, traced into the graph (or left `pending` without a traced rule)."""
        step = self.step
        if step.rule is None:
            self.pending = grads
            return
        lr = self.lr
        if lr is None:
            lr = step.lr if step.lr is not None else step.torch_opt.param_groups[0]["lr"]
        with torch.no_grad():
            constrained = model._loss_layers()[2]
            apply_update(step.optimizer, step.params, grads, lr, step.rule, constrained)
