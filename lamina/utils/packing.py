"""The data tuple a train, test or predict step receives, as in `keras.utils`.

`fit` hands each step one batch packed the way Keras packs it: `x` alone, `(x,)` when
`x` is itself a tuple or list, `(x, y)`, or `(x, y, sample_weight)`. A step that
overrides `train_step(data)` unpacks it with `unpack_x_y_sample_weight(data)`.

    x, y, sample_weight = unpack_x_y_sample_weight(data)
"""

from __future__ import annotations

from typing import Any


def pack_x_y_sample_weight(x: Any, y: Any = None, sample_weight: Any = None) -> Any:
    """`x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)`: the shortest unambiguous tuple.

    A tuple or list `x` (several inputs) is wrapped as `(x,)`, so that unpacking never
    reads its second input as `y`.
    """
    if y is None:
        return (x,) if isinstance(x, (tuple, list)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def unpack_x_y_sample_weight(data: Any) -> tuple[Any, Any, Any]:
    """`(x, y, sample_weight)` from `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)`;
    the missing parts are None."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return (data, None, None)
    if len(data) == 1:
        return (data[0], None, None)
    if len(data) == 2:
        return (data[0], data[1], None)
    if len(data) == 3:
        return (data[0], data[1], data[2])
    raise ValueError(
        "Expected data as x, (x,), (x, y) or (x, y, sample_weight), received: "
        f"a tuple of {len(data)} elements"
    )
