"""A `train_step` override compiled as one graph, for `jit_compile=True`.

The override is traced whole (`fullgraph=True`): forward passes, `loss.backward()`
(Dynamo traces autograd here, `runtime.autograd_tracing`), updates written as tensor
code, metric updates. Anything Dynamo cannot put in that one graph (a graph break:
a call the compiler must skip, data-dependent Python, `.item()`) raises while
tracing, before any state changed; `StepRunner` then warns once with that reason and
trains eagerly. A partially compiled step would pay Dynamo's guards and several
graph calls per step without the fusion, so it is not kept.

A batch of another shape (the last, partial batch) runs the override eagerly, as the
default compiled step does, rather than compiling again.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

import torch

from lamina.models.compiled_step import INDUCTOR_OPTIONS, _shape_key
from lamina.models.direct_call import GraphCapture
from lamina.runtime.autograd_tracing import tracing_autograd
from lamina.runtime.compiler import allow_recompiles, own_code
from lamina.utils.packing import pack_x_y_sample_weight
from lamina.variables import plain_parameters

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


class CompiledCustomStep:
    """`model.train_step` (an override) compiled for one batch shape; returns its logs.

    Each call starts with no gradients (`model.zero_grad()`, as Keras's overrides begin):
    a graph traced while `backward()` accumulated into existing `.grad` tensors left
    Dynamo state behind that broke other compiled functions of the process (seen with
    torch 2.13: a later compiled step returned a stale tensor).
    """

    fuses = False  # one batch per call: the override's own update runs in its graph

    def __init__(self, model: Any) -> None:
        self.model = model
        allow_recompiles(64)  # each model compiles the same code object
        self.capture = GraphCapture(dict(INDUCTOR_OPTIONS))
        self.compiled = torch.compile(
            own_code(self._train_step), fullgraph=True, dynamic=False, backend=self.capture
        )
        self.key: tuple | None = None
        self.compile_seconds: float | None = None
        self.recheck = True  # unused: every call goes through Dynamo's guards

    def _train_step(self, data: Any) -> Any:
        return self.model.train_step(data)

    def matches(self, x: Any, y: Any, sw: Any) -> bool:
        """True when this batch has the compiled shape (the first batch fixes it)."""
        key = _shape_key(x, y, sw)
        if self.key is None:
            self.key = key
        return key == self.key

    def still_valid(self) -> bool:
        return True

    def __call__(self, batches: list[tuple]) -> Any:
        """Run the override on each batch; the logs of the last one."""
        logs = None
        for x, y, sw in batches:
            start = time.perf_counter() if self.compile_seconds is None else None
            self.model.zero_grad()  # see the class doc
            with tracing_autograd(), plain_parameters(self.model):
                logs = self.compiled(pack_x_y_sample_weight(x, y, sw))
            if start is not None:
                self.compile_seconds = time.perf_counter() - start
        return logs


def failure_reason(err: BaseException) -> str:
    """One line on why compiling failed: the error's first line and, for a graph break,
    the line of the user's code where Dynamo stopped (and the call it could not trace)."""
    text = str(err)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    first = lines[0] if lines else ""
    if first.endswith(":") and len(lines) > 1:  # "backend=... raised:" then the error
        first = f"{first} {lines[1]}"
    reason = f"{type(err).__name__}: {first[:300]}"
    if "from user code:" not in text:
        return reason
    tail = text.split("from user code:", 1)[1]
    frames = re.findall(r'File "([^"]+)", line (\d+), in (\S+)\n\s*(.*)', tail)
    users = [f for f in frames if not os.path.abspath(f[0]).startswith(_PACKAGE)]
    if users:
        reason += ", at " + _frame(users[-1])
    if frames and (not users or frames[-1] is not users[-1]):
        reason += ", in " + _frame(frames[-1])
    return reason


def _frame(frame: tuple[str, str, str, str]) -> str:
    path, line, func, code = frame
    return f"{os.path.basename(path)}:{line} {func}(): {code.strip()[:120]}"
