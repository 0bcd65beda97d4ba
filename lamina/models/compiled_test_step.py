"""The evaluation step (forward, loss, metric sums) as one compiled graph, called directly.

`evaluate` and the validation pass of `fit` run `_test_step` per batch. On small models
its cost is Python: seven layer calls, the loss, the metric updates, each a handful of
dispatches. When the model trains compiled (`jit_compile=True`, or `'auto'` chose to),
the test step is compiled too: Inductor fuses the loss and metric arithmetic into the
kernels around the matrix products, the graph returns nothing (the metric states are
updated in place), and after the first call it is called directly with the batch
(`direct_call.DirectCall`), without Dynamo's per-call guards. Each evaluation's first
call goes through Dynamo again, so a changed model (frozen layer, new metric) is seen.

A batch of another shape (the last, partial one) runs the eager step. Anything the
compiled step cannot do in one graph (a metric with host logic, a graph break)
makes it fall back to the eager step for good, with the same results.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch

from lamina.models.compiled_step import INDUCTOR_OPTIONS, _shape_key
from lamina.models.direct_call import DirectCall, GraphCapture


class CompiledTestStep:
    """`model._test_step` compiled for one batch shape; `__call__` returns False to
    ask the caller for the eager step (another shape, or compiling did not pay off)."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.params = list(model.parameters())
        self.buffers = dict(model.named_buffers())
        self.torch_opt = None  # DirectCall's state getters: no optimizer state here
        self.metric_ids = [id(m) for m in model.metrics]
        dynamo_config = torch._dynamo.config
        dynamo_config.recompile_limit = max(dynamo_config.recompile_limit, 64)
        self.capture = GraphCapture(dict(INDUCTOR_OPTIONS))
        self.compiled = torch.compile(self._step, dynamic=False, backend=self.capture)
        self.direct: DirectCall | None = None
        self.recheck = True
        self.disabled = False
        self.key: tuple | None = None

    def _step(self, batches: list[tuple], rates: Any) -> None:
        for x, y, sw in batches:
            self.model._test_step(x, y, sw)

    def still_valid(self) -> bool:
        """False when the model's weights or metrics changed since this step was built."""
        return [id(m) for m in self.model.metrics] == self.metric_ids and len(self.params) == sum(
            1 for _ in self.model.parameters()
        )

    def __call__(self, x: Any, y: Any, sw: Any) -> bool:
        if self.disabled:
            return False
        key = _shape_key(x, y, sw)
        if self.key is None:
            self.key = key
        if key != self.key:
            return False
        batches = [(x, y, sw)]
        if self.direct is not None and not self.recheck:
            self.direct(batches, None)
            return True
        graphs = self.capture.calls
        try:
            self.compiled(batches, None)
        except Exception as err:  # noqa: BLE001  compile errors surface on the first call
            # Dynamo fails while tracing, before the graph touches a metric: eager redoes it
            self._disable(f"{type(err).__name__}: {str(err).splitlines()[0][:300]}")
            return False
        self.recheck = False
        new = self.capture.calls - graphs
        if new == 1 and graphs == 0:
            self.direct = DirectCall.bind(self.capture, self, batches, None, None)
        elif new:  # a graph break or a recompile: Dynamo's guards matter, no direct calls
            self.direct = None
        return True

    def _disable(self, reason: str) -> None:
        self.disabled = True
        warnings.warn(
            f"torch.compile could not compile the test step of model '{self.model.name}' "
            f"({reason}); evaluating eagerly instead.",
            stacklevel=4,
        )
