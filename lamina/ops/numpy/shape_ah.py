"""Keras's joining, splitting, reshaping and product ops a..h on torch (append, concatenate, dot, einsum, ...)."""

from __future__ import annotations

from typing import Any

import torch

from lamina.ops.conversion import convert_to_tensor
from lamina.ops.core.casting import cast
from lamina.ops.dtypes import result_type, standardize_dtype

__all__ = [
    "append",
    "array_split",
    "broadcast_to",
    "concatenate",
    "cross",
    "diagonal",
    "dot",
    "dsplit",
    "dstack",
    "einsum",
    "expand_dims",
    "flip",
    "fliplr",
    "flipud",
    "get_item",
    "hsplit",
    "hstack",
]


def append(x1: Any, x2: Any, axis: int | None = None) -> torch.Tensor:
    """`x2` joined after `x1` along `axis` (both flattened when None)."""
    x1, x2 = convert_to_tensor(x1), convert_to_tensor(x2)
    if axis is None:
        return torch.cat((x1.reshape(-1), x2.reshape(-1)))
    return torch.cat((x1, x2), dim=axis)


def array_split(x: Any, indices_or_sections: int, axis: int = 0) -> list[torch.Tensor]:
    """`x` cut into `indices_or_sections` near-equal parts along `axis` (the first ones one longer)."""
    if not isinstance(indices_or_sections, int) or indices_or_sections <= 0:
        raise ValueError(
            f"Expected a positive int indices_or_sections, received: indices_or_sections={indices_or_sections!r}"
        )
    if not isinstance(axis, int):
        raise TypeError(f"Expected an int axis, received: axis={axis!r}")
    return list(torch.tensor_split(convert_to_tensor(x), indices_or_sections, dim=axis))


def broadcast_to(x: Any, shape: Any) -> torch.Tensor:
    """`x` broadcast to `shape` (a view: no copy)."""
    return torch.broadcast_to(convert_to_tensor(x), tuple(shape))


def concatenate(xs: Any, axis: int | None = 0) -> torch.Tensor:
    """The tensors `xs` joined along `axis` (dtypes promote as torch does)."""
    tensors = [convert_to_tensor(x) for x in xs]
    if axis is None:
        tensors, axis = [t.reshape(-1) for t in tensors], 0
    return torch.cat(tensors, dim=axis)


def cross(
    x1: Any, x2: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis: int | None = None
) -> torch.Tensor:
    """The 3-vector cross product along `axis` (the last size-3 axis when None)."""
    if axisa != -1 or axisb != -1 or axisc != -1:
        raise ValueError(
            "Expected axisa, axisb and axisc at -1 (use axis on torch), received: "
            f"axisa={axisa}, axisb={axisb}, axisc={axisc}"
        )
    x1, x2 = convert_to_tensor(x1), convert_to_tensor(x2)
    target = result_type(x1.dtype, x2.dtype)
    compute = "float32" if target == "float16" else target
    return cast(
        torch.linalg.cross(cast(x1, compute), cast(x2, compute), dim=-1 if axis is None else axis),
        target,
    )


def diagonal(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> torch.Tensor:
    """The `offset` diagonal over axes `axis1`, `axis2`, moved to the last axis."""
    x = convert_to_tensor(x)
    if axis1 % x.dim() == axis2 % x.dim():
        raise ValueError(f"Expected two different axes, received: axis1={axis1}, axis2={axis2}")
    return torch.diagonal(x, offset=offset, dim1=axis1, dim2=axis2)


def dot(x1: Any, x2: Any) -> torch.Tensor:
    """NumPy's `dot`: products of scalars, inner products of vectors, matrix products otherwise."""
    x1, x2 = convert_to_tensor(x1), convert_to_tensor(x2)
    target = result_type(x1.dtype, x2.dtype)
    compute = result_type(target, float)
    if compute == "float16":
        compute = "float32"
    x1, x2 = cast(x1, compute), cast(x2, compute)
    if x1.dim() == 0 or x2.dim() == 0:
        return cast(torch.multiply(x1, x2), target)
    return cast(torch.matmul(x1, x2), target)


def _split_arg(indices_or_sections: Any) -> Any:
    if isinstance(indices_or_sections, int):
        return indices_or_sections
    return [int(i) for i in convert_to_tensor(indices_or_sections).reshape(-1).tolist()]


def dsplit(x: Any, indices_or_sections: Any) -> list[torch.Tensor]:
    """`x` split along its third axis into equal parts or at the given indices."""
    return list(torch.dsplit(convert_to_tensor(x), _split_arg(indices_or_sections)))


def hsplit(x: Any, indices_or_sections: Any) -> list[torch.Tensor]:
    """`x` split along its second axis (the first for 1-D) into equal parts or at indices."""
    return list(torch.hsplit(convert_to_tensor(x), _split_arg(indices_or_sections)))


def dstack(xs: Any) -> torch.Tensor:
    """The tensors `xs` (made at least 3-D) joined along the third axis."""
    return torch.dstack([convert_to_tensor(x) for x in xs])


def hstack(xs: Any) -> torch.Tensor:
    """The tensors `xs` joined along the second axis (the first for 1-D)."""
    return torch.hstack([convert_to_tensor(x) for x in xs])


def einsum(subscripts: str, *operands: Any, **kwargs: Any) -> torch.Tensor:
    """Einstein summation over `operands` as `subscripts` says (all-int8 inputs give int32)."""
    tensors = [convert_to_tensor(op) for op in operands]
    names = {standardize_dtype(t.dtype) for t in tensors}
    if names == {"int8"}:
        return torch.einsum(subscripts, *[t.to(torch.int32) for t in tensors])
    return torch.einsum(subscripts, *tensors)


def expand_dims(x: Any, axis: Any) -> torch.Tensor:
    """`x` with new size-1 axes at the positions `axis` (int or sequence) of the result."""
    x = convert_to_tensor(x)
    axes = [axis] if isinstance(axis, int) else list(axis)
    rank = x.dim() + len(axes)
    for a in sorted(a % rank for a in axes):
        x = torch.unsqueeze(x, a)
    return x


def flip(x: Any, axis: Any = None) -> torch.Tensor:
    """`x` reversed along `axis` (all axes when None)."""
    x = convert_to_tensor(x)
    if axis is None:
        axis = tuple(range(x.dim()))
    return torch.flip(x, dims=(axis,) if isinstance(axis, int) else tuple(axis))


def fliplr(x: Any) -> torch.Tensor:
    """`x` reversed along its second axis."""
    return torch.fliplr(convert_to_tensor(x))


def flipud(x: Any) -> torch.Tensor:
    """`x` reversed along its first axis."""
    return torch.flipud(convert_to_tensor(x))


def get_item(x: Any, key: Any) -> torch.Tensor:
    """`x[key]` (NumPy-style indexing with ints, slices, None, Ellipsis, masks or index tensors)."""
    return convert_to_tensor(x)[key]
