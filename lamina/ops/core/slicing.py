"""Static slices, their in-place-style updates, scatters and unstacking (Keras's core ops).

All return new tensors (inputs are never modified) and stay differentiable: the updates
are `index_put`/`index_reduce` on a clone rather than Python loops over elements.
"""

from __future__ import annotations

import builtins
import math
from typing import Any

import torch

from lamina.ops.conversion import convert_to_tensor

__all__ = ["scatter", "scatter_update", "slice", "slice_update", "unstack"]


def _int_list(values: Any) -> list[int]:
    if isinstance(values, torch.Tensor):
        return [int(v) for v in values.reshape(-1).tolist()]
    return [int(v) for v in values]


def slice(inputs: Any, start_indices: Any, shape: Any) -> torch.Tensor:  # noqa: A001 - Keras's name
    """The block of `inputs` starting at `start_indices` with size `shape` along each axis."""
    inputs = convert_to_tensor(inputs)
    starts, sizes = _int_list(start_indices), _int_list(shape)
    result = inputs
    for axis, (start, size) in enumerate(zip(starts, sizes)):
        result = torch.narrow(result, axis, start, size)
    return result


def slice_update(inputs: Any, start_indices: Any, updates: Any) -> torch.Tensor:
    """A copy of `inputs` whose block at `start_indices` is replaced by `updates`."""
    inputs = convert_to_tensor(inputs)
    updates = convert_to_tensor(updates)
    starts = _int_list(start_indices)
    index = tuple(builtins.slice(start, start + size) for start, size in zip(starts, updates.shape))
    outputs = inputs.clone()
    outputs[index] = updates.to(outputs.dtype)
    return outputs


def _linear_index(indices: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """Row-major positions of index tuples (last axis of `indices`) into `shape[:depth]`."""
    depth = indices.shape[-1]
    strides = torch.tensor(
        [math.prod(shape[i + 1 : depth]) for i in range(depth)],
        dtype=torch.int64,
        device=indices.device,
    )
    return (indices.reshape(-1, depth).to(torch.int64) * strides).sum(-1)


def scatter(indices: Any, values: Any, shape: Any) -> torch.Tensor:
    """A zero tensor of `shape` with `values` added at the index tuples in `indices` (duplicates sum)."""
    indices = convert_to_tensor(indices)
    values = convert_to_tensor(values)
    shape = tuple(_int_list(shape))
    depth = indices.shape[-1]
    flat_shape = (math.prod(shape[:depth]), *shape[depth:])
    out = torch.zeros(flat_shape, dtype=values.dtype, device=values.device)
    rows = values.reshape(-1, *shape[depth:])
    out = out.index_put((_linear_index(indices, shape),), rows, accumulate=True)
    return out.reshape(shape)


_REDUCE = {"max": "amax", "min": "amin", "mul": "prod"}


def scatter_update(
    inputs: Any, indices: Any, updates: Any, reduction: str | None = None
) -> torch.Tensor:
    """A copy of `inputs` with `updates` written at the index tuples in `indices`.

    `reduction` combines each update with the value already there: None replaces,
    'add', 'max', 'min' and 'mul' accumulate.
    """
    inputs = convert_to_tensor(inputs)
    indices = convert_to_tensor(indices, "int64")
    updates = convert_to_tensor(updates, inputs.dtype)
    shape = tuple(inputs.shape)
    depth = indices.shape[-1]
    flat = inputs.reshape(math.prod(shape[:depth]), *shape[depth:])
    rows = updates.reshape(-1, *shape[depth:])
    position = _linear_index(indices, shape)
    if reduction is None:
        out = flat.index_put((position,), rows)
    elif reduction == "add":
        out = flat.index_put((position,), rows, accumulate=True)
    elif reduction in _REDUCE:
        out = flat.index_reduce(0, position, rows, _REDUCE[reduction], include_self=True)
    else:
        raise ValueError(
            f"Expected reduction in (None, 'add', 'max', 'min', 'mul'), received: reduction={reduction!r}"
        )
    return out.reshape(shape)


def unstack(x: Any, num: int | None = None, axis: int = 0) -> list[torch.Tensor]:
    """The slices of `x` along `axis`, as a list."""
    return list(convert_to_tensor(x).unbind(axis))
