"""Functional-graph helpers of `keras.utils`: `is_keras_tensor`, `get_source_inputs`."""

from __future__ import annotations

from typing import Any

from lamina.layers.symbolic import KerasTensor


def is_keras_tensor(x: Any) -> bool:
    """Whether `x` is a symbolic tensor (what `Input` and layers called on it return)."""
    return isinstance(x, KerasTensor)


def get_source_inputs(tensor: Any) -> list[Any]:
    """The `Input` tensors `tensor` was computed from, each once, in the order found.

    A tensor without history (or an `Input` itself) is its own source.
    """
    node = getattr(tensor, "node", None)
    if node is None:
        return [tensor]
    parents = node.parent_tensors
    if not parents:
        return [tensor]
    sources: list[Any] = []
    for parent in parents:
        for source in get_source_inputs(parent):
            if not any(source is seen for seen in sources):
                sources.append(source)
    return sources
