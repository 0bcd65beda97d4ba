"""The `__torch_function__` that lets a tensor subclass behave exactly like a plain tensor.

`NonTrainableVariable` (lamina/variables.py) is a `torch.Tensor` subclass so that Keras
code can call `.assign()` on a layer's state. torch's default `__torch_function__` would
run every op through Python and wrap each result in the subclass; torch's own
`nn.Parameter` opts out with the private `torch._C._disabled_torch_function_impl`, and
so does this. Without that name (another torch), a public fallback unwraps the results
to plain tensors, which is slower but gives the same values and types.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch


def _unwrap(value: Any) -> Any:
    if isinstance(value, torch.Tensor) and type(value) is not torch.Tensor:
        return value.as_subclass(torch.Tensor)
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v) for v in value)
    return value


def _public_fallback(
    cls: type, func: Callable, types: Any, args: tuple = (), kwargs: dict | None = None
) -> Any:
    return _unwrap(torch.Tensor.__torch_function__.__func__(cls, func, types, args, kwargs))


def plain_torch_function(private: bool = True) -> Any:
    """The `__torch_function__` to assign in a subclass body (`private=False` forces the fallback)."""
    impl = getattr(torch._C, "_disabled_torch_function_impl", None) if private else None
    return impl if impl is not None else classmethod(_public_fallback)
