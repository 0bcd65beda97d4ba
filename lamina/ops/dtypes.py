"""Dtype names and Keras 3's promotion rules, so `lamina.ops` returns Keras's dtypes.

Keras names dtypes with strings ('float32', 'int32', ...) and promotes mixed inputs on a
lattice modelled on JAX's: Python `int` and `float` are *weak* types that defer to a
tensor's dtype (`int8 tensor + 1` stays int8, `int32 + 1.5` becomes floatx). On the torch
backend a promoted 64-bit result narrows to 32 bits (int64 -> int32, float64 -> float32)
unless the input already was that type. `result_type` reproduces these rules; each op
calls it to pick its output dtype.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch

from lamina import config

BOOL_TYPES = ("bool",)
INT_TYPES = ("uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64")
FLOAT_TYPES = ("bfloat16", "float16", "float32", "float64")
COMPLEX_TYPES = ("complex64", "complex128")
WEAK_TYPES = ("int", "float")
ALLOWED_DTYPES = BOOL_TYPES + INT_TYPES + FLOAT_TYPES + COMPLEX_TYPES + ("string",)

_TORCH: dict[str, torch.dtype] = {
    "bool": torch.bool,
    "uint8": torch.uint8,
    "uint16": torch.uint16,
    "uint32": torch.uint32,
    "uint64": torch.uint64,
    "int8": torch.int8,
    "int16": torch.int16,
    "int32": torch.int32,
    "int64": torch.int64,
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
    "float32": torch.float32,
    "float64": torch.float64,
    "complex64": torch.complex64,
    "complex128": torch.complex128,
}
_PYTHON = {bool: "bool", int: "int32", float: "float32", str: "string", complex: "complex64"}

# Each node's direct successors: a type promotes to any type reachable from it.
_LATTICE: dict[str, tuple[str, ...]] = {
    "bool": ("int",),
    "int": ("uint8", "int8", "complex64"),
    "uint8": ("int16", "uint16"),
    "uint16": ("int32", "uint32"),
    "uint32": ("int64", "uint64"),
    "uint64": ("float",),
    "int8": ("int16",),
    "int16": ("int32",),
    "int32": ("int64",),
    "int64": ("float",),
    "float": ("bfloat16", "float16"),
    "bfloat16": ("float32",),
    "float16": ("float32",),
    "float32": ("float64", "complex64"),
    "float64": ("complex128",),
    "complex64": ("complex128",),
    "complex128": (),
}
_NARROW = {"int64": "int32", "uint64": "uint32", "float64": "float32", "complex128": "complex64"}


def _upper_bounds() -> dict[str, frozenset[str]]:
    bounds: dict[str, frozenset[str]] = {}
    for node in _LATTICE:
        seen = {node}
        frontier = [node]
        while frontier:
            for nxt in _LATTICE[frontier.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    frontier.append(nxt)
        bounds[node] = frozenset(seen)
    return bounds


_BOUNDS = _upper_bounds()


def standardize_dtype(dtype: Any) -> str:
    """Keras's name for a dtype given as a string, torch/NumPy dtype, Python type or None (floatx)."""
    if dtype is None:
        return config.floatx()
    if isinstance(dtype, torch.dtype):
        name = str(dtype).split(".")[-1]
    elif isinstance(dtype, type) and dtype in _PYTHON:
        name = _PYTHON[dtype]
    elif isinstance(dtype, np.dtype) or (isinstance(dtype, type) and issubclass(dtype, np.generic)):
        name = np.dtype(dtype).name
    elif dtype == "int":
        name = "int32"
    elif isinstance(dtype, str):
        name = dtype
    else:
        name = getattr(dtype, "name", str(dtype))
    if name not in ALLOWED_DTYPES:
        raise ValueError(f"Expected a dtype in {list(ALLOWED_DTYPES)}, received: dtype={dtype!r}")
    return name


def to_torch_dtype(dtype: Any) -> torch.dtype:
    """The torch dtype for a Keras dtype name (strings have no torch dtype)."""
    name = standardize_dtype(dtype)
    if name not in _TORCH:
        raise ValueError(f"Expected a dtype torch supports, received: dtype={dtype!r}")
    return _TORCH[name]


@functools.lru_cache(maxsize=512)
def _least_upper_bound(*nodes: str) -> str:
    common = frozenset.intersection(*(_BOUNDS[n] for n in nodes))
    least = (common & set(nodes)) or {c for c in common if common <= _BOUNDS[c]}
    if len(least) != 1:
        raise ValueError(
            f"Expected dtypes with an implicit promotion path, received: dtypes={nodes}; "
            "cast the inputs explicitly"
        )
    return next(iter(least))


def _weak(name: str) -> str:
    if name == "bool":
        return name
    if "float" in name:
        return "float"
    if "int" in name:
        return "int"
    return "complex64"


def _resolve_weak(name: str) -> str:
    """A weak result takes floatx's precision, keeping its kind (bool, int, uint or float)."""
    bits = config.floatx()[-2:]
    kind = "f" if name == "bfloat16" else name[:1]
    if kind == "b":
        return "bool"
    if kind == "i":
        return f"int{bits}"
    if kind == "u":
        return f"uint{bits}"
    return f"float{bits}"


def result_type(*dtypes: Any) -> str:
    """The dtype of an op's result from its inputs' dtypes, by Keras 3's rules on torch.

    Pass Python `int`/`float` (the types) for Python scalars: they are weak.
    """
    if not dtypes:
        return config.floatx()
    pairs = [
        (standardize_dtype(d), d is int or d is float)
        for d in (config.floatx() if d is None else d for d in dtypes)
    ]
    names = [n for n, _ in pairs]
    weak = [w for _, w in pairs]
    if len(pairs) == 1:
        out, out_weak = names[0], weak[0]
    elif len(set(names)) == 1 and not all(weak):
        out, out_weak = names[0], False
    elif all(weak):
        out, out_weak = _least_upper_bound(*sorted(set(names))), True
    else:
        nodes = {_weak(n) if w else n for n, w in pairs}
        out = _least_upper_bound(*sorted(nodes))
        out_weak = out in WEAK_TYPES
    if out != "bool" and out_weak:
        out = _resolve_weak(out)
    return _NARROW.get(out, out)


def dtype_of(x: Any) -> Any:
    """What `result_type` takes for one operand: a tensor's dtype, or the Python type of a scalar."""
    if isinstance(x, torch.Tensor):
        return x.dtype
    if isinstance(x, (bool, int, float, complex)):
        return type(x)
    if isinstance(x, (np.ndarray, np.generic)):
        return x.dtype
    if hasattr(x, "dtype"):
        return x.dtype
    return type(x)


def is_int_dtype(dtype: Any) -> bool:
    return standardize_dtype(dtype) in INT_TYPES
