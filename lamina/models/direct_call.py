"""Call a compiled train step's graph directly, without Dynamo's per-call machinery.

Every call of a `torch.compile`d function passes through Dynamo: the frame hook, the
guards, the lookup of the cached graph: on a small model, a sizeable share of the step
(measured in docs/design.md). The train step's inputs are always the same kinds
of tensors (the batch, the weights, the optimizer and metric states, the learning
rate), so once Dynamo has traced the step into ONE graph, the step can call that
graph's compiled function itself with the tensors in the graph's order.

Safety, because guards no longer run on every call:
- a direct call is set up only when the first call produced exactly one graph, every
  graph input is a tensor this module can find again (batch, weight, buffer, optimizer
  state, metric state, rate), and the graph returns nothing (no state for Dynamo to
  write back);
- the engine routes the first step of every epoch through Dynamo again (`recheck`),
  which re-evaluates the guards; if Dynamo had to compile again (a frozen layer, a
  changed attribute), the direct call is dropped for good and Dynamo serves every step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from lamina.models.step_inputs import Getter, getter_for, input_table
from lamina.runtime.compiler import compile_graph
from lamina.runtime.step_library import (
    LibraryUnsupported,
    build_library,
    library_supported,
    load_library,
)


class GraphCapture:
    """A `torch.compile` backend that compiles with Inductor and keeps what it compiled.

    With `library_path`, the first graph is compiled into a step library there instead
    (`runtime/step_library.py`), which later processes load without compiling; a graph
    that cannot become one (random operations, another device) compiles as usual.
    """

    def __init__(self, options: dict[str, Any] | None = None, library_path: str | None = None):
        self.options = options or None
        self.library_path = library_path
        self.library_built = False  # the first graph runs from the library at library_path
        self.library_error: Exception | None = None  # why it could not, when it was tried
        self.calls = 0
        self.graph_fn: Callable[..., Any] | None = None
        self.example_inputs: list[Any] = []

    def __call__(self, gm: torch.fx.GraphModule, example_inputs: Sequence[Any]) -> Any:
        self.calls += 1
        self.example_inputs = list(example_inputs)
        if self.library_path is not None and self.calls == 1:
            run = self._library(gm, example_inputs)
            if run is not None:
                self.graph_fn = run
                return run
        compiled, direct = compile_graph(gm, example_inputs, self.options)
        self.graph_fn = compiled if direct else None  # None: only Dynamo calls it
        return compiled

    def _library(self, gm: torch.fx.GraphModule, example_inputs: Sequence[Any]) -> Any:
        """The graph built into a library and loaded, or None (the reason is kept)."""
        if not library_supported(example_inputs):
            self.library_error = LibraryUnsupported("inputs other than CPU tensors")
            return None
        try:
            build_library(gm, example_inputs, self.library_path)
            run = load_library(self.library_path)
            run([t.detach().clone() for t in example_inputs])  # one trial step, on copies
        except Exception as err:  # noqa: BLE001  any failure: Inductor's usual compile instead
            self.library_error = err
            return None
        self.library_built = True

        def library_step(*args: Any) -> list[torch.Tensor]:
            return run(list(args))

        return library_step


class DirectCall:
    """The graph of one compiled call, callable with freshly gathered inputs.

    `descriptors` name where each input lives (`step_inputs.py`), so the call can be
    rebuilt in another process around a saved library of the same graph.
    """

    def __init__(
        self, graph_fn: Callable[..., Any], getters: list[Getter], descriptors: list[list]
    ) -> None:
        self.graph_fn = graph_fn
        self.getters = getters
        self.descriptors = descriptors

    @classmethod
    def bind(
        cls, capture: GraphCapture, step: Any, batches: list[tuple], rates: Any, output: Any
    ) -> DirectCall | None:
        """A DirectCall for the graph just compiled, or None when it is not safe."""
        if capture.calls != 1 or capture.graph_fn is None or output is not None:
            return None
        table = input_table(step, batches, rates)
        getters, descriptors = [], []
        for t in capture.example_inputs:
            found = table.get(id(t)) if isinstance(t, torch.Tensor) else None
            if found is None:
                return None  # an input this module cannot find again: keep Dynamo
            descriptors.append(found[0])
            getters.append(found[1])
        return cls(capture.graph_fn, getters, descriptors)

    @classmethod
    def rebuild(
        cls, graph_fn: Callable[..., Any], descriptors: list, step: Any
    ) -> DirectCall | None:
        """The call of a saved graph in this process, or None when a descriptor names
        nothing in `step`'s model."""
        getters = [getter_for(d, step) for d in descriptors]
        if any(g is None for g in getters):
            return None
        return cls(graph_fn, getters, list(descriptors))

    def inputs(self, batches: list[tuple], rates: Any) -> list[torch.Tensor]:
        """The graph's inputs for this call, in its order."""
        return [g(batches, rates) for g in self.getters]

    def __call__(self, batches: list[tuple], rates: Any) -> None:
        out = self.graph_fn(*self.inputs(batches, rates))
        if out:
            raise RuntimeError(
                "Expected the compiled train step's graph to return nothing, received: "
                f"{len(out)} outputs"
            )
