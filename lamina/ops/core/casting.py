"""Dtype and shape queries, casts and gradient control (Keras's `ops.cast`, `ops.shape`, ...)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from lamina.ops.conversion import convert_to_numpy, convert_to_tensor, is_tensor
from lamina.ops.dtypes import standardize_dtype, to_torch_dtype

__all__ = [
    "cast",
    "convert_to_numpy",
    "convert_to_tensor",
    "custom_gradient",
    "dtype",
    "is_tensor",
    "saturate_cast",
    "shape",
    "stop_gradient",
]


def _unwrap(x: Any) -> Any:
    """A variable's tensor (anything with a tensor `.value`), else `x` itself."""
    value = getattr(x, "value", None)
    return value if isinstance(value, torch.Tensor) else x


def cast(x: Any, dtype: Any) -> torch.Tensor:
    """`x` converted to `dtype` (a tensor already of that dtype is returned as is)."""
    target = to_torch_dtype(dtype)
    x = _unwrap(x)
    if isinstance(x, torch.Tensor):
        return x if x.dtype == target else x.to(target)
    return convert_to_tensor(x, target)


def dtype(x: Any) -> str:
    """The standardized dtype name of `x` ('float32', 'int32', ...)."""
    return standardize_dtype(_unwrap(x).dtype)


def shape(x: Any) -> tuple[int, ...]:
    """The shape of a tensor as a plain tuple of ints."""
    return tuple(_unwrap(x).shape)


def _limits(name: str) -> tuple[Any, Any]:
    if name == "bool":
        return 0, 1
    if "int" in name:
        info = torch.iinfo(to_torch_dtype(name))
    else:
        info = torch.finfo(to_torch_dtype(name))
    return info.min, info.max


def saturate_cast(x: Any, dtype: Any) -> torch.Tensor:
    """Cast `x` to `dtype`, first clipping it to the range both dtypes represent.

    Unlike `cast`, out-of-range values (and infinities) land on the target's min/max
    instead of wrapping around.
    """
    name = standardize_dtype(dtype)
    x = convert_to_tensor(_unwrap(x))
    in_name = standardize_dtype(x.dtype)
    in_min, in_max = _limits(in_name)
    out_min, out_max = _limits(name)
    np_in = np.float32 if in_name == "bfloat16" else np.dtype(in_name)
    low = np.asarray(max(in_min, out_min)).astype(np_in)
    if low < out_min:
        low = np.nextafter(low, 0, dtype=np_in)
    high = np.asarray(min(in_max, out_max)).astype(np_in)
    if high > out_max:
        high = np.nextafter(high, 0, dtype=np_in)
    if in_name == "bool":
        clipped = x.to(torch.int32).clamp(int(low), int(high))
    else:
        clipped = torch.clamp(x, low.item(), high.item())
    return clipped.to(to_torch_dtype(name))


def stop_gradient(variable: Any) -> torch.Tensor:
    """`variable` cut off from autograd (the same values, no gradient flows back)."""
    return convert_to_tensor(_unwrap(variable)).detach()


class _CustomGradientFunction(torch.autograd.Function):
    """Runs `forward_fn` (returning `(output, grad_fn)`) and calls `grad_fn` backwards."""

    @staticmethod
    def forward(ctx: Any, forward_fn: Callable[..., Any], *args: Any) -> Any:
        output, ctx.grad_fn = forward_fn(*args)
        ctx.save_for_backward(*args)
        return output

    @staticmethod
    def backward(ctx: Any, upstream: Any) -> Any:
        grads = ctx.grad_fn(*ctx.saved_tensors, upstream=upstream)
        if not isinstance(grads, (tuple, list)):
            grads = (grads,)
        return (None, *grads)


class custom_gradient:  # noqa: N801 - Keras's name for a decorator
    """Decorate `f(*args) -> (output, grad_fn)` so autograd differentiates it with `grad_fn`.

    As on Keras's torch backend, `grad_fn` is called as `grad_fn(*args, upstream=g)` with
    the forward inputs and the output's gradient `g`, and returns one gradient per input.
    """

    def __init__(self, f: Callable[..., Any]) -> None:
        self.forward_fn = f

    def __call__(self, *args: Any) -> Any:
        return _CustomGradientFunction.apply(self.forward_fn, *args)
