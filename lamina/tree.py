"""Nested structures: apply a function to, or list, the leaves of lists, tuples and dicts.

A base module (it imports nothing from Lamina): layers, models and the data adapter
all walk nested inputs, targets and weights with it. Dicts keep their insertion order
(Keras's `keras.tree`, built on optree, sorts their keys); a `torch.Size` is a leaf.

    map_structure(lambda t: t * 2, {"a": 1, "b": [2, 3]})   # {"a": 2, "b": [4, 6]}
    flatten({"a": 1, "b": [2, 3]})                          # [1, 2, 3]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch


def _default_leaf(x: Any) -> bool:
    return not isinstance(x, (list, tuple, dict)) or isinstance(x, torch.Size)


def map_structure(
    fn: Callable[[Any], Any], structure: Any, is_leaf: Callable[[Any], bool] | None = None
) -> Any:
    """Apply `fn` to every leaf of nested lists, tuples and dicts; keep the nesting."""
    leaf = is_leaf or _default_leaf
    if leaf(structure):
        return fn(structure)
    if isinstance(structure, dict):
        return {k: map_structure(fn, v, is_leaf) for k, v in structure.items()}
    if isinstance(structure, (list, tuple)):
        return type(structure)(map_structure(fn, v, is_leaf) for v in structure)
    return fn(structure)


def flatten(structure: Any) -> list[Any]:
    """Leaves of a nested structure, in order."""
    out: list[Any] = []
    map_structure(out.append, structure)
    return out
