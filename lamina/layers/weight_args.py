"""The argument forms `Layer.add_weight` accepts: Keras 3's, Keras 2's and Lamina's.

Keras 3 puts `shape` first (`add_weight(shape, initializer, dtype, trainable, ...,
name)`), Keras 2 puts `name` first (`add_weight(name, shape, dtype, initializer, ...)`),
and Lamina's own layers call `add_weight(name, shape, initializer, regularizer,
constraint)`. A string first argument means name-first; then a dtype in third place
means Keras 2's order. Everything can also be passed by keyword.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

KERAS3_ORDER = (
    "shape",
    "initializer",
    "dtype",
    "trainable",
    "autocast",
    "regularizer",
    "constraint",
    "aggregation",
    "overwrite_with_gradient",
    "name",
)
KERAS2_ORDER = ("name", "shape", "dtype", "initializer", "regularizer", "trainable", "constraint")
LAMINA_ORDER = ("name", "shape", "initializer", "regularizer", "constraint", "trainable")
KEYWORDS = frozenset(KERAS3_ORDER + KERAS2_ORDER + ("torch_layout", "use_resource", "synchronization", "experimental_autocast", "caching_device", "partitioner"))  # fmt: skip
_DTYPE_NAMES = frozenset(
    {
        "float16",
        "bfloat16",
        "float32",
        "float64",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "bool",
    }
)


@dataclass
class WeightArgs:
    """One `add_weight` call's arguments, resolved to one form."""

    name: str | None
    shape: tuple[int, ...]
    initializer: Any
    dtype: Any
    trainable: bool
    regularizer: Any
    constraint: Any
    torch_layout: Any


def _is_dtype(value: Any) -> bool:
    return isinstance(value, torch.dtype) or (isinstance(value, str) and value in _DTYPE_NAMES)


def parse_weight_args(layer: str, args: tuple, kwargs: dict[str, Any]) -> WeightArgs:
    """Map positional and keyword arguments onto names, whichever form the caller used."""
    unknown = sorted(set(kwargs) - KEYWORDS)
    if unknown:
        raise TypeError(
            f"Layer '{layer}': expected add_weight arguments among {sorted(KEYWORDS)}, "
            f"received: {unknown}"
        )
    if args and isinstance(args[0], str):
        order = KERAS2_ORDER if len(args) > 2 and _is_dtype(args[2]) else LAMINA_ORDER
    else:
        order = KERAS3_ORDER
    if len(args) > len(order):
        raise TypeError(
            f"Layer '{layer}': expected at most {len(order)} positional add_weight arguments "
            f"({', '.join(order)}), received: {len(args)}"
        )
    values = dict(zip(order, args))
    clash = sorted(set(values) & set(kwargs))
    if clash:
        raise TypeError(
            f"Layer '{layer}': add_weight received {clash} both by position and by keyword"
        )
    values.update(kwargs)
    shape = values.get("shape")
    if shape is None:
        shape = ()
    elif isinstance(shape, int):
        shape = (shape,)
    return WeightArgs(
        name=values.get("name"),
        shape=tuple(int(s) for s in shape),
        initializer=values.get("initializer"),
        dtype=values.get("dtype"),
        trainable=bool(values.get("trainable", True)),
        regularizer=values.get("regularizer"),
        constraint=values.get("constraint"),
        torch_layout=values.get("torch_layout"),
    )
