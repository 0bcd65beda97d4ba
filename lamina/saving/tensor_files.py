"""Safetensors bytes that keep the weights' order, and reading them back as FileFormatErrors.

safetensors sorts its header by name, but loading by position (a model whose layers got
other automatic names) needs the model's order, so it is kept in the metadata.
"""

from __future__ import annotations

import json
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from lamina.saving.errors import FileFormatError

LAYOUT = "keras"


def dump(tensors: dict[str, torch.Tensor]) -> bytes:
    """Safetensors bytes of `tensors`, with their order and Keras's layout in the metadata."""
    return save_tensors(tensors, metadata={"layout": LAYOUT, "order": json.dumps(list(tensors))})


def parse(data: bytes, source: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """(tensors in their saved order, metadata); any damage is a FileFormatError."""
    try:
        tensors = load_tensors(data)
    except (SafetensorError, ValueError, RuntimeError, TypeError, OverflowError) as err:
        raise FileFormatError(
            f"Expected a safetensors file in {source}, received: {type(err).__name__}: "
            f"{str(err)[:200]}"
        ) from None
    metadata = header_metadata(data)
    return ordered(tensors, metadata), metadata


def header_metadata(data: bytes) -> dict[str, str]:
    """The `__metadata__` of safetensors bytes that `load_tensors` already accepted."""
    n = int.from_bytes(data[:8], "little")
    try:
        header = json.loads(data[8 : 8 + n])
    except (ValueError, UnicodeDecodeError):
        return {}
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    return meta if isinstance(meta, dict) else {}


def ordered(tensors: dict[str, Any], metadata: dict[str, str]) -> dict[str, Any]:
    """`tensors` in the order the metadata records (when it names exactly these tensors)."""
    try:
        order = json.loads(metadata.get("order", "null"))
    except (ValueError, TypeError):
        return tensors
    if isinstance(order, list) and sorted(map(str, order)) == sorted(tensors):
        return {name: tensors[name] for name in order}
    return tensors
