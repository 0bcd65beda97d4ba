"""The evaluation and prediction steps as compiled graphs, called directly.

`evaluate` (and the validation pass of `fit`) runs `test_step` per batch, `predict` runs
`predict_step` (the default ones: overrides run eagerly). On small models their cost is Python: seven layer calls, the loss, the
metric updates, each a handful of dispatches. When the model trains compiled
(`jit_compile=True`, or `'auto'` chose to), these steps are compiled too: Inductor fuses
the elementwise work into the kernels around the matrix products, the graph returns
nothing (metric states and predict's output buffers are written in place), and after the
first compiled call it is called directly with the batch (`direct_call.DirectCall`),
without Dynamo's per-call guards. Each evaluate / predict call goes through Dynamo once
again, so a changed model (frozen layer, new metric) is seen.

A batch of another shape (the last, partial one) runs eagerly. Anything the compiled
step cannot do in one graph (a metric with host logic, a graph break) makes it fall back
to the eager step for good, with the same results.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch

from lamina.models import compile_utils as cu
from lamina.models.compiled_step import INDUCTOR_OPTIONS, _shape_key
from lamina.models.direct_call import DirectCall, GraphCapture
from lamina.runtime.compiler import allow_recompiles, own_code
from lamina.utils.packing import pack_x_y_sample_weight


def _key(*structures: Any) -> tuple:
    """Shapes and dtypes, and whether each tensor is an inference tensor: batches made
    inside `inference_mode` (a generator's) fail the guards of a graph traced on
    ordinary tensors, and a recompile would end the direct calls."""
    flags = tuple(t.is_inference() for s in structures if s is not None for t in cu.as_list(s))
    return _shape_key(*structures), flags


class CompiledTestStep:
    """`model.test_step` (kind 'test') or `predict_step` into fixed output buffers
    (kind 'predict'), compiled for one batch shape. `__call__` / `predict` return
    False / None to ask the caller for the eager step."""

    def __init__(self, model: Any, kind: str = "test") -> None:
        if kind not in ("test", "predict"):
            raise ValueError(f"Expected kind 'test' or 'predict', received: kind={kind!r}")
        self.model = model
        self.kind = kind
        self.params = list(model.parameters())
        self.buffers = dict(model.named_buffers())
        self.torch_opt = None  # DirectCall's state getters: no optimizer state here
        self.metric_ids = [id(m) for m in model.metrics]
        allow_recompiles(64)
        self.capture = GraphCapture(dict(INDUCTOR_OPTIONS))
        fn = self._test if kind == "test" else self._predict
        self.compiled = torch.compile(own_code(fn), dynamic=False, backend=self.capture)
        self.direct: DirectCall | None = None
        self.recheck = True
        self.disabled = False
        self.key: tuple | None = None
        self.outputs: list[torch.Tensor] | None = None  # predict: the graph writes here

    def _test(self, batches: list[tuple], rates: Any) -> None:
        for x, y, sw in batches:
            self.model.test_step(pack_x_y_sample_weight(x, y, sw))

    def _predict(self, batches: list[tuple], rates: Any) -> None:
        for x, outputs, _ in batches:
            with self.model._inference_precision().autocast():
                got = cu.as_list(self.model.predict_step(pack_x_y_sample_weight(x)))
            for dst, o in zip(outputs, got):
                dst.copy_(o)

    def still_valid(self) -> bool:
        """False when the model's weight or buffer tensors (not just their values: a
        `to()` or an assigning load makes new ones) or its metrics changed since this
        step was built; its direct calls read the tensors it was built with."""
        params = list(self.model.parameters())
        buffers = dict(self.model.named_buffers())
        return (
            [id(m) for m in self.model.metrics] == self.metric_ids
            and len(params) == len(self.params)
            and all(a is b for a, b in zip(params, self.params))
            and buffers.keys() == self.buffers.keys()
            and all(buffers[k] is v for k, v in self.buffers.items())
        )

    def __call__(self, x: Any, y: Any, sw: Any) -> bool:
        """One test step on (x, y, sw); False when the caller must run it eagerly."""
        if not self._accepts(_key(x, y, sw)):
            return False
        return self._run([(x, y, sw)])

    def adopt(self, x: Any, outputs: list[torch.Tensor]) -> None:
        """predict: take the eager outputs of a first batch as the shapes to write into."""
        if self.outputs is None and self._accepts(_key(x)):
            self.outputs = [torch.empty_like(o) for o in outputs]

    def predict(self, x: Any) -> list[torch.Tensor] | None:
        """The outputs for batch `x` (buffers overwritten by the next call), or None when
        the caller must run the forward pass eagerly (then `adopt` its outputs)."""
        if self.outputs is None or not self._accepts(_key(x)):
            return None
        return self.outputs if self._run([(x, self.outputs, None)]) else None

    def _accepts(self, key: tuple) -> bool:
        if self.disabled:
            return False
        if self.key is None:
            self.key = key
        return key == self.key

    def _run(self, batches: list[tuple]) -> bool:
        if self.direct is not None and not self.recheck:
            self.direct(batches, None)
            return True
        graphs = self.capture.calls
        try:
            self.compiled(batches, None)
        except Exception as err:  # noqa: BLE001  compile errors surface on the first call
            # Dynamo fails while tracing, before the graph writes any state: eager redoes it
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
        what = "test step" if self.kind == "test" else "predict step"
        warnings.warn(
            f"torch.compile could not compile the {what} of model '{self.model.name}' "
            f"({reason}); running it eagerly instead.",
            stacklevel=4,
        )
