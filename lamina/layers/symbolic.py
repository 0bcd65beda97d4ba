"""Symbolic tensors for the functional API.

`Input(shape=(784,))` returns a `KerasTensor`: a shape with no data. Calling a
layer on one records a `Node` (layer, inputs, outputs); a functional `Model`
walks these nodes back from its outputs to find its graph.
"""

from __future__ import annotations

import itertools
from typing import Any

import torch

from lamina import registry
from lamina.tree import flatten, map_structure


class KerasTensor:
    """A placeholder with a shape (batch dim None) and the node that made it."""

    def __init__(
        self, shape: tuple, dtype: str = "float32", node: Node | None = None, index: int = 0
    ):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.node = node
        self.index = index

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        src = f", from layer '{self.node.layer.name}'" if self.node else ""
        return f"<KerasTensor shape={self.shape}{src}>"

    # Arithmetic on symbolic tensors is routed through merge layers, found by their
    # registered names: the merge layers are built on Layer, which imports this module.
    def __add__(self, other: Any) -> KerasTensor:
        return registry.get("layer", "Add")()([self, other])

    def __mul__(self, other: Any) -> KerasTensor:
        return registry.get("layer", "Multiply")()([self, other])


_NODE_SERIALS = itertools.count()


class Node:
    """One call of a layer in a functional graph.

    `serial` orders nodes by creation: a model's config numbers each layer's calls in
    that order, as Keras does.
    """

    def __init__(self, layer: Any, inputs: Any, args: tuple = (), kwargs: dict | None = None):
        self.layer = layer
        self.inputs = inputs
        self.args = args
        self.kwargs = kwargs or {}
        self.outputs: Any = None
        self.serial = next(_NODE_SERIALS)

    @property
    def parent_tensors(self) -> list[KerasTensor]:
        found: list[KerasTensor] = []
        map_structure(
            lambda t: found.append(t) if isinstance(t, KerasTensor) else None,
            (self.inputs, self.args, self.kwargs),
        )
        return found


def source_tensor(layer: Any) -> KerasTensor:
    """The symbolic tensor an `InputLayer` emits, giving it its source node if it has none.

    `Input(...)` makes that node at once; an `InputLayer` built directly (in a Sequential
    or from a config) gets it here.
    """
    if not layer._inbound_nodes:
        tensor = layer.output
        node = Node(layer, inputs=[])
        node.outputs = tensor
        tensor.node = node
        layer._inbound_nodes.append(node)
    return layer._inbound_nodes[0].outputs


def is_shape(x: Any) -> bool:
    """A shape: a tuple or list of ints and Nones (the batch dim included)."""
    return isinstance(x, (tuple, list, torch.Size)) and all(
        d is None or isinstance(d, int) for d in x
    )


def normalize_shape(shape: Any) -> Any:
    """`shape` (or a structure of shapes) with every shape a tuple."""
    return map_structure(tuple, shape, is_leaf=is_shape)


def any_symbolic(structure: Any) -> bool:
    return any(isinstance(x, KerasTensor) for x in flatten(structure))
