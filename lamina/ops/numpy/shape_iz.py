"""Shape and layout ops of `keras.ops.numpy` (i..z): reshape, transpose, stack, split, pad,
roll, tile, repeat, triangles and bit-level `view`."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina.ops.dtypes import to_torch_dtype
from lamina.ops.numpy.common_iz import as_tensor

__all__ = [
    "moveaxis",
    "ndim",
    "pad",
    "ravel",
    "repeat",
    "reshape",
    "roll",
    "rot90",
    "size",
    "split",
    "squeeze",
    "stack",
    "swapaxes",
    "tile",
    "transpose",
    "tril",
    "triu",
    "view",
    "vsplit",
    "vstack",
]


def _ints(values: Any) -> Any:
    if isinstance(values, torch.Tensor):
        values = values.tolist()
    if isinstance(values, (list, tuple)):
        return [int(v) for v in values]
    return int(values)


def moveaxis(x: Any, source: Any, destination: Any) -> torch.Tensor:
    return torch.moveaxis(as_tensor(x), source, destination)


def ndim(x: Any) -> int:
    return as_tensor(x).ndim


def size(x: Any) -> torch.Tensor:
    """The number of elements, as an int64 scalar tensor (Keras's torch backend's dtype)."""
    return torch.tensor(as_tensor(x).numel(), dtype=torch.int64)


def ravel(x: Any) -> torch.Tensor:
    return torch.ravel(as_tensor(x))


def reshape(x: Any, newshape: Any) -> torch.Tensor:
    """`x` with shape `newshape` (one entry may be -1)."""
    newshape = _ints(newshape)
    if isinstance(newshape, int):
        newshape = [newshape]
    if sum(1 for d in newshape if d == -1) > 1:
        raise ValueError(f"Expected at most one -1 in newshape, received: newshape={newshape}")
    return torch.reshape(as_tensor(x), tuple(newshape))


def squeeze(x: Any, axis: Any = None) -> torch.Tensor:
    x = as_tensor(x)
    if axis is None:
        return torch.squeeze(x)
    return torch.squeeze(x, dim=axis if isinstance(axis, int) else tuple(axis))


def swapaxes(x: Any, axis1: int, axis2: int) -> torch.Tensor:
    return torch.swapaxes(as_tensor(x), axis1, axis2)


def transpose(x: Any, axes: Any = None) -> torch.Tensor:
    """Permute the axes (reverse them when `axes` is None)."""
    x = as_tensor(x)
    if axes is None:
        return x.permute(tuple(reversed(range(x.ndim))))
    return x.permute(tuple(axes))


def stack(x: Any, axis: int = 0) -> torch.Tensor:
    return torch.stack([as_tensor(v) for v in x], dim=axis)


def vstack(xs: Any) -> torch.Tensor:
    return torch.vstack([as_tensor(v) for v in xs])


def split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[torch.Tensor]:
    """Split into equal sections (an int that must divide the axis) or at the given indices."""
    x = as_tensor(x)
    length = x.shape[axis]
    if isinstance(indices_or_sections, int):
        if length % indices_or_sections:
            raise ValueError(
                f"Expected a number of sections dividing x.shape[{axis}]={length}, "
                f"received: indices_or_sections={indices_or_sections}"
            )
        if length == 0:
            return [x.clone() for _ in range(indices_or_sections)]
        return list(torch.split(x, length // indices_or_sections, dim=axis))
    return list(torch.tensor_split(x, _ints(indices_or_sections), dim=axis))


def vsplit(x: Any, indices_or_sections: Any) -> list[torch.Tensor]:
    return list(torch.vsplit(as_tensor(x), _ints(indices_or_sections)))


def roll(x: Any, shift: Any, axis: Any = None) -> torch.Tensor:
    x = as_tensor(x)
    if axis is None:
        return torch.roll(x, _ints(shift))
    return torch.roll(x, _ints(shift), dims=axis)


def rot90(array: Any, k: int = 1, axes: tuple[int, int] = (0, 1)) -> torch.Tensor:
    """Rotate by 90 degrees k times in the plane of `axes`."""
    x = as_tensor(array)
    if x.ndim < 2:
        raise ValueError(f"Expected an input of rank >= 2, received: array.ndim={x.ndim}")
    if len(axes) != 2 or axes[0] % x.ndim == axes[1] % x.ndim:
        raise ValueError(f"Expected two different axes, received: axes={axes}")
    return torch.rot90(x, k=k, dims=[a % x.ndim for a in axes])


def tile(x: Any, repeats: Any) -> torch.Tensor:
    repeats = _ints(repeats)
    if isinstance(repeats, int):
        repeats = [repeats]
    return torch.tile(as_tensor(x), tuple(repeats))


def repeat(x: Any, repeats: Any, axis: int | None = None) -> torch.Tensor:
    """Repeat each element `repeats` times (per-element counts allowed) along `axis`."""
    x = as_tensor(x)
    if not isinstance(repeats, int):
        repeats = as_tensor(repeats).to(torch.int64)
    return torch.repeat_interleave(x, repeats, dim=axis)


def tril(x: Any, k: int = 0) -> torch.Tensor:
    return torch.tril(as_tensor(x), diagonal=k)


def triu(x: Any, k: int = 0) -> torch.Tensor:
    return torch.triu(as_tensor(x), diagonal=k)


def view(x: Any, dtype: Any = None) -> torch.Tensor:
    """The same bytes read as `dtype` (the last axis scales by the size ratio)."""
    x = as_tensor(x)
    if dtype is None:
        return x.view(x.dtype)
    return x.view(to_torch_dtype(dtype))


def pad(
    x: Any, pad_width: Any, mode: str = "constant", constant_values: Any = None
) -> torch.Tensor:
    """Pad each axis by (before, after) with NumPy's modes 'constant', 'reflect' (mirror
    without the edge), 'symmetric' (mirror with the edge) or 'edge' (repeat the edge)."""
    x = as_tensor(x)
    if constant_values is not None and mode != "constant":
        raise ValueError(f"Expected mode='constant' with constant_values, received: mode={mode!r}")
    widths = _pad_widths(pad_width, x.ndim)
    if mode == "symmetric":
        for axis, (before, after) in enumerate(widths):
            n = x.shape[axis]
            head = x.narrow(axis, 0, before).flip(axis)
            tail = x.narrow(axis, n - after, after).flip(axis)
            x = torch.cat([head, x, tail], dim=axis)
        return x
    flat: list[int] = []
    for before, after in reversed(widths):
        flat += [before, after]
    while len(flat) > 2 and flat[-1] == 0 and flat[-2] == 0:
        flat = flat[:-2]
    if mode == "constant":
        value = 0 if constant_values is None else constant_values
        return F.pad(x, flat, mode="constant", value=value)
    torch_mode = {"reflect": "reflect", "edge": "replicate"}.get(mode)
    if torch_mode is None:
        raise ValueError(
            f"Expected mode in 'constant', 'reflect', 'symmetric', 'edge', received: mode={mode!r}"
        )
    original_dtype, original_ndim = x.dtype, x.ndim
    if x.ndim < 3:
        x = x.reshape(*([1] * (3 - x.ndim)), *x.shape)
    if x.dtype not in (torch.float32, torch.float64):
        x = x.to(torch.float32)
    out = F.pad(x, flat, mode=torch_mode).to(original_dtype)
    if original_ndim < 3:
        out = out.reshape(out.shape[3 - original_ndim :])
    return out


def _pad_widths(pad_width: Any, ndim: int) -> list[tuple[int, int]]:
    """NumPy's pad_width forms (int, (n,), (a, b), per-axis pairs) as one pair per axis."""
    if isinstance(pad_width, torch.Tensor):
        pad_width = pad_width.tolist()
    if not isinstance(pad_width, (list, tuple)):
        return [(int(pad_width), int(pad_width))] * ndim
    if all(not isinstance(v, (list, tuple)) for v in pad_width):
        if len(pad_width) == 1:
            return [(int(pad_width[0]), int(pad_width[0]))] * ndim
        if len(pad_width) == 2:
            return [(int(pad_width[0]), int(pad_width[1]))] * ndim
    pairs = [tuple(p) if len(p) == 2 else (p[0], p[0]) for p in pad_width]
    if len(pairs) == 1:
        pairs = pairs * ndim
    if len(pairs) != ndim:
        raise ValueError(
            f"Expected one (before, after) pair per axis ({ndim}), received: pad_width={pad_width}"
        )
    return [(int(a), int(b)) for a, b in pairs]
