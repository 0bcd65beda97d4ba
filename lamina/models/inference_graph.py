"""A functional graph's inference call: folded Conv+BN chains, intermediates freed early.

`Functional.call` runs its nodes in topological order and keeps each output in a dict
until the call ends. With autograd on that costs nothing (autograd keeps what the
backward pass needs anyway); without it, every activation of the batch would stay alive
to the end: for MobileNetV2 at batch 32 several GB, all in fresh pages, so each call
page-faults its whole working set instead of reusing the memory of dead tensors. In an
inference call (autograd off, not training, not compiling) `GraphRun`:

- drops each intermediate from the dict after its last consumer ran (model outputs stay);
- runs each chain `[ZeroPadding2D ->] Conv -> BatchNormalization [-> Add] [-> activation]` found by
  `GraphPlan` as one folded convolution (models/conv_bn_folding.py) when the chain's
  input allows it (`Chain.ready`): the chain's first node is skipped, the middle ones
  too, and the last one produces the chain's output. A tensor a chain reads (its input,
  the Add's other input) counts as used at the chain's last node, so it is still there.

The plan is made once per model (its graph never changes) and kept in its `__dict__`.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.layers.mask_utils import MASK_ATTR
from lamina.layers.merging import Add
from lamina.models.conv_bn_folding import (
    Chain,
    activation_name,
    foldable_bn,
    foldable_conv,
    foldable_pad,
    folding_enabled,
)
from lamina.tree import flatten

Role = tuple[Chain, str, Any, Any, Any]  # chain, first/middle/last, first node, recorded, other


class GraphPlan:
    """One functional graph's chains (node id -> role) and when each value dies."""

    def __init__(self, nodes: list[Any], outputs: list[Any]) -> None:
        self.roles: dict[int, Role] = {}
        self._find_chains(nodes, {id(t) for t in outputs})
        self.frees = _release_schedule(nodes, outputs, self.roles)

    def _find_chains(self, nodes: list[Any], out_ids: set[int]) -> None:
        positions = {id(node) for node in nodes}
        consumers: dict[int, list[Any]] = {}
        for node in nodes:
            for t in node.parent_tensors:
                consumers.setdefault(id(t), []).append(node)

        def only_consumer(node: Any) -> Any:
            """The one node reading `node`'s one output, if that output is no model output."""
            outs = flatten(node.outputs)
            if len(outs) != 1 or id(outs[0]) in out_ids:
                return None
            users = consumers.get(id(outs[0]), [])
            free = len(users) == 1 and id(users[0]) not in self.roles
            return users[0] if free else None

        for node in nodes:
            if id(node) in self.roles or not foldable_conv(node.layer) or not _single_input(node):
                continue
            bn_node = only_consumer(node)
            if bn_node is None or not foldable_bn(bn_node.layer) or not _single_input(bn_node):
                continue
            members, add, other, act = [node, bn_node], None, None, None
            pad = flatten(node.inputs)[0].node  # a ZeroPadding2D only this conv reads
            if (
                pad is not None
                and id(pad) in positions
                and id(pad) not in self.roles
                and foldable_pad(pad.layer)
                and _single_input(pad)
                and only_consumer(pad) is node
            ):
                members.insert(0, pad)
            else:
                pad = None
            nxt = only_consumer(bn_node)
            ins = flatten(nxt.inputs) if nxt is not None else []
            if nxt is not None and type(nxt.layer) is Add and len(ins) == 2 and _no_extras(nxt):
                add, other = nxt, ins[1] if ins[0] is flatten(bn_node.outputs)[0] else ins[0]
                members.append(nxt)
                nxt = only_consumer(nxt)
            if nxt is not None and activation_name(nxt.layer) and _single_input(nxt):
                act = nxt
                members.append(nxt)
            add_layer = None if add is None else add.layer
            act_layer = None if act is None else act.layer
            chain = Chain(node.layer, bn_node.layer, add_layer, act_layer, pad and pad.layer)
            recorded = bn_node.kwargs.get("training")
            for i, member in enumerate(members):
                role = "first" if i == 0 else "last" if i == len(members) - 1 else "middle"
                self.roles[id(member)] = (chain, role, members[0], recorded, other)


def _no_extras(node: Any) -> bool:
    """No positional extras and no keyword but `training`."""
    return not node.args and all(k == "training" for k in node.kwargs)


def _single_input(node: Any) -> bool:
    return _no_extras(node) and len(flatten(node.inputs)) == 1


def _release_schedule(
    nodes: list[Any], outputs: list[Any], roles: dict[int, Role]
) -> dict[int, list[int]]:
    """Node id -> ids of the tensors to drop once that node is done."""
    position = {id(node): i for i, node in enumerate(nodes)}
    last_of_chain: dict[int, int] = {}
    for node in nodes:
        entry = roles.get(id(node))
        if entry is not None and entry[1] == "last":
            last_of_chain[id(entry[0])] = position[id(node)]
    last_use: dict[int, int] = {}
    for i, node in enumerate(nodes):
        entry = roles.get(id(node))
        used_at = i if entry is None else last_of_chain[id(entry[0])]
        for t in node.parent_tensors:
            last_use[id(t)] = max(last_use.get(id(t), -1), used_at)
        for t in flatten(node.outputs):
            last_use.setdefault(id(t), i)  # never read: dropped as soon as it is made
    keep = {id(t) for t in outputs}
    frees: dict[int, list[int]] = {}
    for tensor_id, i in last_use.items():
        if tensor_id not in keep:
            frees.setdefault(id(nodes[i]), []).append(tensor_id)
    return frees


class GraphRun:
    """One inference call over a functional graph: `handles` each node first (True when
    a folded chain did or skipped its work), `release` after running it."""

    def __init__(self, plan: GraphPlan, training: Any) -> None:
        self.plan = plan
        self.training = training
        self.active: set[int] = set()

    def release(self, node: Any, values: dict[int, Any]) -> None:
        for tensor_id in self.plan.frees.get(id(node), ()):
            values.pop(tensor_id, None)

    def handles(self, node: Any, values: dict[int, Any]) -> bool:
        entry = self.plan.roles.get(id(node))
        if entry is None:
            return False
        chain, role, first, recorded, other = entry
        if role == "first":
            bn_training = self.training if self.training is not None else recorded
            if not chain.ready(values.get(id(flatten(first.inputs)[0])), bn_training):
                return False
            self.active.add(id(chain))
        elif id(chain) not in self.active:
            return False
        elif role == "last":
            x = values[id(flatten(first.inputs)[0])]
            o = None if other is None else values[id(other)]
            out_id = id(flatten(node.outputs)[0])
            if o is None or _plain(o):
                values[out_id] = chain.run(x, o)
            else:  # a masked or non-float Add input: the Add and activation run as layers
                values[out_id] = _add_after(chain, x, o, self.training)
        self.release(node, values)
        return True


def _plain(t: Any) -> bool:
    return (
        isinstance(t, torch.Tensor)
        and t.dtype == torch.float32
        and getattr(t, MASK_ATTR, None) is None
    )


def _add_after(chain: Chain, x: torch.Tensor, other: Any, training: Any) -> Any:
    """The convolution and its normalization folded, then the Add and activation layers."""
    saved, chain.activation = chain.activation, "linear"
    try:
        y = chain.run(x, None)
    finally:
        chain.activation = saved
    y = chain.add([y, other])
    return y if chain.act is None else chain.act(y, training=training)


def graph_run(model: Any, training: Any) -> GraphRun | None:
    """The inference run for one call of functional `model`, or None (autograd on,
    training, compiling, autocast): then every node runs and every value is kept."""
    if training or not folding_enabled():
        return None
    plan = model.__dict__.get("_inference_plan")
    if plan is None:
        plan = model.__dict__["_inference_plan"] = GraphPlan(model._nodes, model.outputs)
    return GraphRun(plan, training)
