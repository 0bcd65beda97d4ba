"""Turning op inputs into torch tensors the way Keras 3's torch backend does.

Every `lamina.ops` function accepts tensors, NumPy arrays, Python scalars and nested
lists, and returns torch tensors. Tensors keep their dtype and device; a Python int
becomes int32 (int64 when it does not fit), a float floatx, a bool bool; a NumPy array
keeps its dtype (uint32 widens to int64, as torch lacks most uint32 kernels); a list
takes the promoted dtype of its elements. New tensors go to torch's default device.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lamina import config
from lamina.ops.dtypes import result_type, standardize_dtype, to_torch_dtype


def is_tensor(x: Any) -> bool:
    """Whether `x` is a torch tensor (Parameters included)."""
    return isinstance(x, torch.Tensor)


def _flat(x: Any) -> list[Any]:
    if isinstance(x, (list, tuple)):
        return [leaf for item in x for leaf in _flat(item)]
    return [x]


def convert_to_tensor(
    x: Any, dtype: Any = None, sparse: Any = None, ragged: Any = None
) -> torch.Tensor:
    """`x` as a torch tensor, cast to `dtype` when given (Keras's `ops.convert_to_tensor`)."""
    if sparse:
        raise ValueError(
            f"Expected sparse=None or False (torch tensors are dense), received: sparse={sparse!r}"
        )
    if ragged:
        raise ValueError(
            f"Expected ragged=None or False (torch has no ragged tensors), received: ragged={ragged!r}"
        )
    if isinstance(x, torch.Tensor):
        return x if dtype is None else x.to(to_torch_dtype(dtype))
    if hasattr(x, "value") and isinstance(x.value, torch.Tensor):
        return convert_to_tensor(x.value, dtype)
    if isinstance(x, (bool, int, float, complex)):  # np.float64 too, as in Keras
        if dtype is not None:
            target = to_torch_dtype(dtype)
        elif isinstance(x, bool):
            target = torch.bool
        elif isinstance(x, int):
            target = torch.int64 if x < -(2**31) or x >= 2**31 else torch.int32
        elif isinstance(x, float):
            target = to_torch_dtype(config.floatx())
        else:
            target = torch.complex64
        return torch.as_tensor(x, dtype=target)
    if isinstance(x, (list, tuple)):
        leaves = _flat(x)
        if any(isinstance(leaf, torch.Tensor) for leaf in leaves):
            return torch.stack([convert_to_tensor(item) for item in x]).to(
                to_torch_dtype(dtype) if dtype is not None else None
            )
        if dtype is None:
            dtype = result_type(*[type(v) if not hasattr(v, "dtype") else v.dtype for v in leaves])
        return torch.as_tensor(np.array(x), dtype=to_torch_dtype(dtype))
    array = np.asarray(x)
    if array.dtype == np.uint32:
        array = array.astype(np.int64)
    if array.dtype.kind in "OUS":
        raise ValueError(
            f"Expected numeric data, received: dtype={array.dtype} (of {type(x).__name__})"
        )
    target = to_torch_dtype(dtype if dtype is not None else standardize_dtype(array.dtype))
    return torch.as_tensor(np.ascontiguousarray(array), dtype=target)


def convert_to_numpy(x: Any) -> np.ndarray:
    """`x` as a NumPy array, detached and on the CPU (bfloat16 widens to float32)."""
    if isinstance(x, (list, tuple)):
        return np.array([convert_to_numpy(item) for item in x])
    if isinstance(x, torch.Tensor):
        x = x.detach()
        if x.device.type != "cpu":
            x = x.cpu()
        if x.dtype == torch.bfloat16:
            x = x.float()
        return x.numpy()
    return np.asarray(x)
