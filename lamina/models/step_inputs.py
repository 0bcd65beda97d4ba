"""The tensors a compiled train step reads, each with a getter and a portable name.

A compiled step's graph takes its tensors in one order: the batch, the weights and
buffers, the optimizer state, the learning rate, the metric states. `DirectCall`
gathers them for each call with getters. Each getter also has a descriptor, a JSON
name that says where the tensor lives (`["param", 3]`, `["state", 3, "square_avg"]`,
`["batch", 0, 1, 0]`), so a later process can find the same tensors again in its own
model and call a saved library of the step (`saved_step.py`).

    table = input_table(step, batches, rates)      # id(tensor) -> (descriptor, getter)
    getter = getter_for(descriptor, step)           # None when it names nothing here
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from lamina.models import compile_utils as cu

Getter = Callable[[list, Any], torch.Tensor]
Descriptor = list  # JSON: a kind, then indices or names


def _metric_states(metric: Any) -> list[tuple[Any, str]]:
    """(metric, state name) for a metric's states and those of the metrics it holds."""
    out = [(metric, name) for name in getattr(metric, "_states", {})]
    subs = getattr(metric, "_sub_metrics", None)
    for sub in subs() if callable(subs) else []:
        out += _metric_states(sub)
    return out


def _all_metric_states(step: Any) -> list[tuple[Any, str]]:
    found = []
    for metric in step.model.metrics:
        found += _metric_states(metric)
    return found


def _descriptors(step: Any, batches: list[tuple], rates: Any) -> list[Descriptor]:
    """Every place a tensor the step may read can live, in a fixed order."""
    found: list[Descriptor] = [["param", i] for i in range(len(step.params))]
    found += [["buffer", name] for name in step.buffers]
    if step.torch_opt is not None:
        for i, p in enumerate(step.params):
            found += [["state", i, str(key)] for key in step.torch_opt.state.get(p, {})]
        found.append(["lr"])
    found += [["metric", i, name] for i, (_, name) in enumerate(_all_metric_states(step))]
    for k, batch in enumerate(batches):
        for j, part in enumerate(batch):
            if part is not None:
                found += [["batch", k, j, n] for n in range(len(cu.as_list(part)))]
    return [*found, ["rates"]] if isinstance(rates, torch.Tensor) else found


def input_table(
    step: Any, batches: list[tuple], rates: Any
) -> dict[int, tuple[Descriptor, Getter]]:
    """Every tensor the step may read, by id: its descriptor and its getter.

    The batches' leaves and the rates change every call (their getters read the call's
    arguments); weights, buffers, optimizer and metric states persist between calls.
    """
    found: dict[int, tuple[Descriptor, Getter]] = {}
    for descriptor in _descriptors(step, batches, rates):
        getter = getter_for(descriptor, step)
        if getter is not None:
            found[id(getter(batches, rates))] = (descriptor, getter)
    return found


def getter_for(descriptor: Any, step: Any) -> Getter | None:
    """The getter `descriptor` names in `step`'s model, or None when it names nothing there."""
    if not isinstance(descriptor, list) or not descriptor:
        return None
    kind, rest = descriptor[0], descriptor[1:]
    try:
        if kind == "param" and len(rest) == 1:
            p = step.params[int(rest[0])]
            return lambda b, r, p=p: p
        if kind == "buffer" and len(rest) == 1:
            buf = step.buffers[str(rest[0])]
            return lambda b, r, buf=buf: buf
        if kind == "state" and len(rest) == 2 and step.torch_opt is not None:
            value = step.torch_opt.state[step.params[int(rest[0])]][str(rest[1])]
            return (lambda b, r, v=value: v) if isinstance(value, torch.Tensor) else None
        if kind == "lr" and not rest and step.torch_opt is not None:
            group = step.torch_opt.param_groups[0]
            return (
                (lambda b, r, g=group: g["lr"]) if isinstance(group["lr"], torch.Tensor) else None
            )
        if kind == "metric" and len(rest) == 2:
            owner, name = _all_metric_states(step)[int(rest[0])]
            if name != rest[1] or not isinstance(getattr(owner, name, None), torch.Tensor):
                return None
            return lambda b, r, m=owner, n=name: getattr(m, n)
        if kind == "batch" and len(rest) == 3:
            k, j, n = (int(v) for v in rest)
            return lambda b, r, k=k, j=j, n=n: cu.as_list(b[k][j])[n]
        if kind == "rates" and not rest:
            return lambda b, r: r
    except (IndexError, KeyError, TypeError, ValueError):
        return None
    return None
