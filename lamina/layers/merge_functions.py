"""Keras's functional merge forms: `add([a, b])` is `Add()([a, b])`, and so on.

Each function builds the merge layer with `**kwargs` (name, dtype, ...) and calls it on
`inputs`, eager tensors or symbolic ones alike.

    s = add([x1, x2])
    c = concatenate([x1, x2], axis=1)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lamina.layers.merging import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
)


def add(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """Element-wise sum of `inputs` (an `Add` layer)."""
    return Add(**kwargs)(inputs)


def subtract(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """`inputs[0] - inputs[1]` (a `Subtract` layer)."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """Element-wise product of `inputs` (a `Multiply` layer)."""
    return Multiply(**kwargs)(inputs)


def average(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """Element-wise mean of `inputs` (an `Average` layer)."""
    return Average(**kwargs)(inputs)


def maximum(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """Element-wise maximum of `inputs` (a `Maximum` layer)."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """Element-wise minimum of `inputs` (a `Minimum` layer)."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs: Sequence[Any], axis: int = -1, **kwargs: Any) -> Any:
    """`inputs` joined along `axis` (a `Concatenate` layer)."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs: Sequence[Any], axes: int | Sequence[int] = -1, **kwargs: Any) -> Any:
    """Per-sample dot product of two tensors along `axes` (a `Dot` layer)."""
    return Dot(axes=axes, **kwargs)(inputs)
