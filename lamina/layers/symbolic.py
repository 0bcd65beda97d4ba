"""Symbolic tensors for the functional API.

`Input(shape=(784,))` returns a `KerasTensor`: a shape with no data. Calling a
layer on one records a `Node` (layer, inputs, outputs); a functional `Model`
walks these nodes back from its outputs to find its graph.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import torch

from lamina import registry
from lamina.tree import flatten, map_structure


class KerasTensor:
    """A placeholder with a shape (batch dim None) and the node that made it."""

    # NumPy defers to the tensor's reflected operators: np.float32(2) * h is h.__rmul__.
    __array_ufunc__ = None

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

    # Arithmetic in a functional graph becomes layers, found by their registered names (the
    # layers are built on Layer, which imports this module): two symbolic tensors meet in a
    # merge layer (Add, Subtract, Multiply), a number is a Rescaling (x * scale + offset).
    # The graph stays made of layers, so it saves and loads as any other.
    def __add__(self, other: Any) -> KerasTensor:
        return arithmetic(self, other, "+")

    def __radd__(self, other: Any) -> KerasTensor:
        return arithmetic(self, other, "+")

    def __sub__(self, other: Any) -> KerasTensor:
        return arithmetic(self, other, "-")

    def __rsub__(self, other: Any) -> KerasTensor:
        return arithmetic(self, other, "r-")

    def __mul__(self, other: Any) -> KerasTensor:
        return arithmetic(self, other, "*")

    def __rmul__(self, other: Any) -> KerasTensor:
        return arithmetic(self, other, "*")

    def __truediv__(self, other: Any) -> KerasTensor:
        return arithmetic(self, other, "/")

    def __neg__(self) -> KerasTensor:
        return arithmetic(self, -1.0, "*")


_MERGES = {"+": "Add", "-": "Subtract", "*": "Multiply"}


def arithmetic(x: KerasTensor, other: Any, op: str, name: str | None = None) -> KerasTensor:
    """`x op other` as a layer call (named `name`, else automatically): a merge layer for two
    symbolic tensors, a Rescaling for a number (`r-` is `other - x`)."""
    shown = op.removeprefix("r")
    if isinstance(other, KerasTensor):
        if op not in _MERGES:
            raise TypeError(
                f"Expected a number on the right of '{shown}' between symbolic tensors (Keras "
                f"layers add, subtract and multiply tensors), received: {other!r}; use "
                "layers.Lambda or a custom layer to divide"
            )
        return registry.get("layer", _MERGES[op])(name=name)([x, other])
    if isinstance(other, bool) or not isinstance(other, (int, float, np.integer, np.floating)):
        raise TypeError(
            f"Expected a symbolic tensor or a number on the other side of '{shown}' in a "
            f"functional model, received: {type(other).__name__}; for an array of constants "
            "use layers.Rescaling(scale, offset) or a custom layer"
        )
    if not str(x.dtype).startswith(("float", "bfloat", "mixed")):
        raise TypeError(
            f"Expected a float symbolic tensor for '{shown}' with a number (it becomes a "
            f"Rescaling layer, which computes in floats), received: dtype={x.dtype!r}"
        )
    c = float(other)
    if op == "/" and c == 0:
        raise ZeroDivisionError(f"Expected a non-zero divisor, received: {other!r}")
    scale, offset = {"+": (1.0, c), "-": (1.0, -c), "r-": (-1.0, c), "*": (c, 0.0)}.get(
        op, (1.0 / c, 0.0)
    )
    return registry.get("layer", "Rescaling")(scale, offset=offset, dtype=x.dtype, name=name)(x)


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
