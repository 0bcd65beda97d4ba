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

from lamina.models import compile_utils as cu
from lamina.runtime.compiler import compile_graph

Getter = Callable[[list, Any], torch.Tensor]


class GraphCapture:
    """A `torch.compile` backend that compiles with Inductor and keeps what it compiled."""

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        self.options = options or None
        self.calls = 0
        self.graph_fn: Callable[..., Any] | None = None
        self.example_inputs: list[Any] = []

    def __call__(self, gm: torch.fx.GraphModule, example_inputs: Sequence[Any]) -> Any:
        self.calls += 1
        self.example_inputs = list(example_inputs)
        compiled, direct = compile_graph(gm, example_inputs, self.options)
        self.graph_fn = compiled if direct else None  # None: only Dynamo calls it
        return compiled


def _batch_getters(batches: list[tuple], rates: Any) -> dict[int, Getter]:
    """Getters for the tensors that change every call: the batches' leaves, the rates."""
    found: dict[int, Getter] = {}
    for k, batch in enumerate(batches):
        for j, part in enumerate(batch):
            if part is None:
                continue
            for n, t in enumerate(cu.as_list(part)):
                found[id(t)] = lambda b, r, k=k, j=j, n=n: cu.as_list(b[k][j])[n]
    if isinstance(rates, torch.Tensor):
        found[id(rates)] = lambda b, r: r
    return found


def _state_getters(step: Any) -> dict[int, Getter]:
    """Getters for the tensors that persist between calls, read where the step reads them."""
    found: dict[int, Getter] = {}
    for p in step.params:
        found[id(p)] = lambda b, r, p=p: p
    for buf in step.buffers.values():
        found[id(buf)] = lambda b, r, buf=buf: buf
    if step.torch_opt is not None:
        for p in step.params:
            for value in step.torch_opt.state.get(p, {}).values():
                if isinstance(value, torch.Tensor):
                    found[id(value)] = lambda b, r, v=value: v
        group = step.torch_opt.param_groups[0]
        if isinstance(group["lr"], torch.Tensor):
            found[id(group["lr"])] = lambda b, r, g=group: g["lr"]
    for metric in step.model.metrics:
        for owner, name in _metric_states(metric):
            found[id(getattr(owner, name))] = lambda b, r, m=owner, n=name: getattr(m, n)
    return found


def _metric_states(metric: Any) -> list[tuple[Any, str]]:
    """(metric, state name) for a metric's states and those of the metrics it holds."""
    out = [(metric, name) for name in getattr(metric, "_states", {})]
    subs = getattr(metric, "_sub_metrics", None)
    for sub in subs() if callable(subs) else []:
        out += _metric_states(sub)
    return out


class DirectCall:
    """The graph of one compiled call, callable with freshly gathered inputs."""

    def __init__(self, graph_fn: Callable[..., Any], getters: list[Getter]) -> None:
        self.graph_fn = graph_fn
        self.getters = getters

    @classmethod
    def bind(
        cls, capture: GraphCapture, step: Any, batches: list[tuple], rates: Any, output: Any
    ) -> DirectCall | None:
        """A DirectCall for the graph just compiled, or None when it is not safe."""
        if capture.calls != 1 or capture.graph_fn is None or output is not None:
            return None
        table = {**_state_getters(step), **_batch_getters(batches, rates)}
        getters = []
        for t in capture.example_inputs:
            getter = table.get(id(t)) if isinstance(t, torch.Tensor) else None
            if getter is None:
                return None  # an input this module cannot find again: keep Dynamo
            getters.append(getter)
        return cls(capture.graph_fn, getters)

    def __call__(self, batches: list[tuple], rates: Any) -> None:
        out = self.graph_fn(*[g(batches, rates) for g in self.getters])
        if out:
            raise RuntimeError(
                "Expected the compiled train step's graph to return nothing, received: "
                f"{len(out)} outputs"
            )
