"""Layer and Input dtypes by Keras name: floats, and the integer and boolean dtypes that
token ids, class indices, masks and counters use (`Input((5,), dtype="int32")`)."""

from __future__ import annotations

from typing import Any

import torch

from lamina.config import torch_dtype

# Float dtypes (and None, for floatx) go through `config.torch_dtype`.
EXACT_DTYPES = {
    "bool": torch.bool,
    "uint8": torch.uint8,
    "int8": torch.int8,
    "int16": torch.int16,
    "int32": torch.int32,
    "int64": torch.int64,
}
FLOAT_NAMES = ("bfloat16", "float16", "float32", "float64")


def dtype_name(dtype: torch.dtype) -> str:
    """Keras's name of a torch dtype: 'float32', 'int32', 'bool'."""
    return str(dtype).removeprefix("torch.")


def resolve_dtype(layer: Any, dtype: Any) -> torch.dtype:
    """A layer's dtype: a float (None: floatx), or an integer/boolean one as Keras allows.

    Unknown names raise an error naming the layer and listing the valid ones.
    """
    if dtype is None or (isinstance(dtype, str) and dtype == "None"):
        return torch_dtype(None)
    if isinstance(dtype, torch.dtype):
        return dtype
    name = getattr(dtype, "name", None) if not isinstance(dtype, str) else dtype  # np.dtype
    if name in EXACT_DTYPES:
        return EXACT_DTYPES[name]
    if name in FLOAT_NAMES:
        return torch_dtype(name)
    valid = ", ".join(sorted((*FLOAT_NAMES, *EXACT_DTYPES)))
    raise ValueError(
        f"Layer '{getattr(layer, 'name', '?')}' ({type(layer).__name__}) expected a dtype in "
        f"[{valid}], received: dtype={dtype!r}"
    )
