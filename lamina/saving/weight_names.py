"""A model's weights as named tensors in Keras's layouts, and loading them back.

Each weight is named by where it lives: the path of layer names from the model down to
the layer that owns it, then the weight's own name (`"conv2d/kernel"`,
`"encoder/dense_1/bias"`, `"block/norm/running_mean"` for a plain torch module). Files
hold independent, contiguous CPU copies: the engine may keep weights as views of one
flat buffer, which no file format should see.

Loading matches names first. When a model rebuilt in another process got other
automatic names (a subclassed model's `dense_3` instead of `dense`), it falls back to
the saved order, as Keras's HDF5 loader does, if every shape agrees.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from lamina.layers.weight_walk import Entry
from lamina.saving.errors import FileFormatError


def layer_paths(model: Any) -> dict[int, str]:
    """id(layer) -> its path of names below `model` ("" for the model itself)."""
    paths: dict[int, str] = {id(model): ""}

    def visit(layer: Any, prefix: str) -> None:
        for child in layer._sublayers():
            if id(child) in paths:
                continue  # a shared layer keeps its first place
            path = f"{prefix}{child.name}"
            paths[id(child)] = path
            visit(child, path + "/")

    visit(model, "")
    return paths


def named_entries(model: Any) -> list[tuple[str, Entry]]:
    """Every weight of `model` with its name, in `model.weights` order; names are unique."""
    paths = layer_paths(model)
    out: list[tuple[str, Entry]] = []
    used: set[str] = set()
    for entry in model._weight_entries():
        owner = paths.get(id(entry.layer), entry.layer.name)
        base = f"{owner}/{entry.spec.name}" if owner else entry.spec.name
        name, n = base, 1
        while name in used:
            name, n = f"{base}_{n}", n + 1
        used.add(name)
        out.append((name, entry))
    return out


def keras_layout(entry: Entry) -> torch.Tensor:
    """The entry's tensor in Keras's layout (torch's for torch modules), detached."""
    t = entry.tensor.detach()
    if entry.spec.to_torch is not None:
        t = t.permute(*entry.spec.to_keras)
    return t


def weight_tensors(model: Any) -> dict[str, torch.Tensor]:
    """name -> an independent, contiguous CPU copy in Keras's layout."""
    return {
        name: keras_layout(entry).to("cpu", copy=True).contiguous()
        for name, entry in named_entries(model)
    }


def assign_weights(
    model: Any,
    tensors: Mapping[str, Any],
    *,
    skip_mismatch: bool = False,
    source: str = "the file",
) -> list[str]:
    """Copy `tensors` (name -> array in Keras's layout) into `model`; returns skipped names.

    Every value is checked before any is copied, so a failed load leaves the model as
    it was. `skip_mismatch=True` skips weights whose shape differs or that the file
    lacks (Keras's meaning), and the return value names them.
    """
    entries = named_entries(model)
    names = [n for n, _ in entries]
    saved = list(tensors)
    by_name = set(names) <= set(saved) or not _same_shapes_in_order(entries, tensors)
    if not by_name:
        tensors = dict(zip(names, (tensors[k] for k in saved)))
    staged: list[tuple[torch.Tensor, torch.Tensor]] = []
    skipped: list[str] = []
    if not skip_mismatch and len(saved) != len(names) and not by_name:
        raise _count_error(model, names, saved, source)
    for name, entry in entries:
        if name not in tensors:
            if skip_mismatch:
                skipped.append(name)
                continue
            raise FileFormatError(
                f"Layer '{entry.layer.name}' expected weight '{name}' in {source}, received: "
                f"names {_preview(saved)}"
            )
        value = torch.as_tensor(np.asarray(tensors[name]))
        expected = tuple(keras_layout(entry).shape)
        if tuple(value.shape) != expected:
            if skip_mismatch:
                skipped.append(name)
                continue
            raise FileFormatError(
                f"Layer '{entry.layer.name}' expected weight '{name}' of shape {expected}, "
                f"received: shape={tuple(value.shape)} in {source}"
            )
        if entry.spec.to_torch is not None:
            value = value.permute(*entry.spec.to_torch)
        staged.append((entry.tensor, value))
    unused = [k for k in tensors if k not in set(names)]
    if unused and not skip_mismatch and by_name and len(saved) > len(names):
        raise _count_error(model, names, saved, source)
    with torch.no_grad():
        for target, value in staged:
            target.copy_(value.to(dtype=target.dtype, device=target.device))
    return skipped


def _same_shapes_in_order(entries: list[tuple[str, Entry]], tensors: Mapping[str, Any]) -> bool:
    values = list(tensors.values())
    if len(values) != len(entries):
        return False
    return all(
        tuple(np.shape(v)) == tuple(keras_layout(e).shape) for (_, e), v in zip(entries, values)
    )


def _count_error(model: Any, names: list[str], saved: list[str], source: str) -> FileFormatError:
    return FileFormatError(
        f"Model '{model.name}' expected {len(names)} weights ({_preview(names)}), received: "
        f"{len(saved)} weights in {source} ({_preview(saved)})"
    )


def _preview(names: list[str], n: int = 6) -> str:
    shown = ", ".join(names[:n])
    return shown + (f", ... ({len(names)} in all)" if len(names) > n else "")
