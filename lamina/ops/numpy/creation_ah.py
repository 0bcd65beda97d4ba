"""Keras's tensor constructors a..h on torch: arange, array, eye, full, windows, diagonals, geomspace."""

from __future__ import annotations

from typing import Any

import torch

from lamina import config
from lamina.ops.conversion import convert_to_tensor
from lamina.ops.dtypes import FLOAT_TYPES, dtype_of, result_type, standardize_dtype, to_torch_dtype

__all__ = [
    "arange",
    "array",
    "bartlett",
    "blackman",
    "diag",
    "diagflat",
    "empty",
    "empty_like",
    "eye",
    "full",
    "full_like",
    "geomspace",
    "hamming",
    "hanning",
]


def _dtype_or_type(x: Any) -> Any:
    return getattr(x, "dtype", type(x))


def _shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, int):
        return (shape,)
    return tuple(int(s) for s in shape)


def _number(x: Any) -> Any:
    return x.item() if isinstance(x, torch.Tensor) else x


def arange(start: Any, stop: Any = None, step: Any = None, dtype: Any = None) -> torch.Tensor:
    """Evenly spaced values in `[start, stop)` (`[0, start)` with one argument) every `step`."""
    if dtype is None:
        kinds = [_dtype_or_type(v) for v in (start, stop, step) if v is not None]
        dtype = result_type(*kinds)
    if stop is None:
        start, stop = 0, start
    if step is None:
        step = 1
    return torch.arange(_number(start), _number(stop), _number(step), dtype=to_torch_dtype(dtype))


def array(x: Any, dtype: Any = None) -> torch.Tensor:
    """`x` as a tensor (optionally cast to `dtype`)."""
    return convert_to_tensor(x, dtype=None if dtype is None else standardize_dtype(dtype))


def _window(kind: str, x: Any) -> torch.Tensor:
    length = int(_number(convert_to_tensor(x)))
    make = {
        "bartlett": torch.signal.windows.bartlett,
        "blackman": torch.signal.windows.blackman,
        "hamming": torch.signal.windows.hamming,
        "hanning": torch.signal.windows.hann,
    }[kind]
    return make(length)


def bartlett(x: Any) -> torch.Tensor:
    """The symmetric Bartlett (triangular) window of length `x`."""
    return _window("bartlett", x)


def blackman(x: Any) -> torch.Tensor:
    """The symmetric Blackman window of length `x`."""
    return _window("blackman", x)


def hamming(x: Any) -> torch.Tensor:
    """The symmetric Hamming window of length `x`."""
    return _window("hamming", x)


def hanning(x: Any) -> torch.Tensor:
    """The symmetric Hann window of length `x`."""
    return _window("hanning", x)


def diag(x: Any, k: int = 0) -> torch.Tensor:
    """The `k`-th diagonal of a matrix, or a matrix with the vector `x` on its `k`-th diagonal."""
    return torch.diag(convert_to_tensor(x), diagonal=k)


def diagflat(x: Any, k: int = 0) -> torch.Tensor:
    """A matrix with the flattened `x` on its `k`-th diagonal."""
    return torch.diagflat(convert_to_tensor(x), offset=k)


def empty(shape: Any, dtype: Any = None) -> torch.Tensor:
    """An uninitialized tensor of `shape` (floatx unless `dtype`)."""
    return torch.empty(_shape(shape), dtype=to_torch_dtype(dtype or config.floatx()))


def empty_like(x: Any, dtype: Any = None) -> torch.Tensor:
    """An uninitialized tensor of `x`'s shape and (unless `dtype`) dtype."""
    x = convert_to_tensor(x)
    return torch.empty_like(x, dtype=to_torch_dtype(dtype or x.dtype))


def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> torch.Tensor:  # noqa: N803 - Keras's names
    """An `N x M` matrix with ones on the `k`-th diagonal (floatx unless `dtype`)."""
    for name, value in (("N", N), ("M", M)):
        if isinstance(value, float) or (
            value is not None and standardize_dtype(dtype_of(value)) in FLOAT_TYPES
        ):
            raise TypeError(f"Expected an integer {name}, received: {name}={value!r}")
    rows = int(_number(N))
    cols = rows if M is None else int(_number(M))
    offset = 0 if k is None else int(_number(k))
    diagonal = torch.arange(cols)[None, :] - torch.arange(rows)[:, None] == offset
    return diagonal.to(to_torch_dtype(dtype or config.floatx()))


def full(shape: Any, fill_value: Any, dtype: Any = None) -> torch.Tensor:
    """A tensor of `shape` filled with `fill_value` (broadcast if it is a tensor); floatx unless `dtype`."""
    target = to_torch_dtype(dtype)
    value = convert_to_tensor(fill_value, dtype=target)
    return value.broadcast_to(_shape(shape)).clone()


def full_like(x: Any, fill_value: Any, dtype: Any = None) -> torch.Tensor:
    """A tensor of `x`'s shape filled with `fill_value`, of `x`'s dtype unless `dtype`."""
    return full(tuple(x.shape), fill_value, dtype=dtype or x.dtype)


def geomspace(
    start: Any, stop: Any, num: int = 50, endpoint: bool = True, dtype: Any = None, axis: int = 0
) -> torch.Tensor:
    """`num` numbers from `start` to `stop` spaced evenly on a log scale (a geometric progression)."""
    if axis != 0:
        raise ValueError(
            f"Expected axis=0 (torch has no axis for geomspace), received: axis={axis}"
        )
    if dtype is None:
        dtype = result_type(_dtype_or_type(start), _dtype_or_type(stop), float)
    target = to_torch_dtype(dtype)
    start, stop = convert_to_tensor(start, target), convert_to_tensor(stop, target)
    low, high = torch.log10(torch.abs(start)), torch.log10(torch.abs(stop))
    if not endpoint:
        high = high - (high - low) / num
    steps = torch.arange(num, dtype=target) / (num - 1)
    steps = steps.reshape(-1, *([1] * low.dim()))
    return (10 ** (low[None] + steps * (high - low)[None])) * torch.sign(start)
