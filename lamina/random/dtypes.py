"""Keras dtype names: `standardize_dtype` and the torch dtype each name maps to.

Keras names dtypes by strings ('float32', 'int32', ...); Python types, NumPy dtypes
and torch dtypes all standardize to those strings (`int` is 'int32' as on Keras's
torch backend, None is floatx).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lamina.config import floatx

ALLOWED_DTYPES = (
    "float16",
    "float32",
    "float64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "int8",
    "int16",
    "int32",
    "int64",
    "bfloat16",
    "bool",
    "string",
    "float8_e4m3fn",
    "float8_e5m2",
    "complex64",
    "complex128",
)
_PYTHON_TYPES: dict[Any, str] = {
    bool: "bool",
    int: "int32",
    float: "float32",
    str: "string",
    complex: "complex64",
    "int": "int32",
}


def standardize_dtype(dtype: Any) -> str:
    """The Keras name of `dtype` (a string, Python type, NumPy or torch dtype; None = floatx)."""
    if dtype is None:
        return floatx()
    try:
        dtype = _PYTHON_TYPES.get(dtype, dtype)
    except TypeError:  # an unhashable dtype-like object
        pass
    if isinstance(dtype, torch.dtype):
        name = str(dtype).split(".")[-1]
    elif isinstance(dtype, np.dtype):
        name = dtype.name
    elif isinstance(dtype, type) and issubclass(dtype, np.generic):
        name = np.dtype(dtype).name
    elif hasattr(dtype, "name") and isinstance(dtype.name, str):
        name = dtype.name
    elif hasattr(dtype, "__name__"):
        name = dtype.__name__
    else:
        name = dtype
    if name not in ALLOWED_DTYPES:
        raise ValueError(f"Expected a dtype in {list(ALLOWED_DTYPES)}, received: dtype={dtype!r}")
    return name


def to_torch_dtype(dtype: Any) -> torch.dtype:
    """The torch dtype of a Keras dtype name (or anything `standardize_dtype` takes)."""
    name = standardize_dtype(dtype)
    if name == "string":
        raise ValueError("Expected a numeric or boolean dtype, received: dtype='string'")
    found = getattr(torch, name, None)
    if not isinstance(found, torch.dtype):
        raise ValueError(f"Expected a dtype torch supports, received: dtype={name!r}")
    return found
