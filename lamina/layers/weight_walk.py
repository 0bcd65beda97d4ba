"""Every weight of a layer's module tree, once, in order.

A layer's weights are its `add_weight` weights and every parameter and persistent buffer
of its plain torch modules (and of tensors set on it directly), so counts, `trainable`,
`get_weights` and `summary()` see all the state the optimizer and `state_dict` see.
Weights a layer did not make with `add_weight` keep torch's layout (Keras has none).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import nn


class TorchWeight:
    """A parameter or buffer the layer did not create with `add_weight`.

    It lives in a plain torch module of the layer's tree (or directly on the layer);
    `name` is its `state_dict` key relative to the owning layer.
    """

    __slots__ = ("module", "attr", "name")
    to_torch = None  # no permutation: torch's layout
    to_keras = None

    def __init__(self, module: nn.Module, attr: str, name: str) -> None:
        self.module = module
        self.attr = attr
        self.name = name


class Entry(NamedTuple):
    """One weight: the layer owning it, how it is stored, the tensor, whether it trains."""

    layer: Any  # the owning Layer (named in errors)
    spec: Any  # the layer's _WeightSpec, or a TorchWeight
    tensor: torch.Tensor
    trainable: bool


def add_entry(
    out: list[Entry], seen: set[int], layer: Any, spec: Any, tensor: torch.Tensor | None, on: bool
) -> None:
    """Append `tensor` once; it trains if it is a Parameter that requires grad (what the
    optimizer sees) and `on` (every layer down to its owner is trainable)."""
    if tensor is None or id(tensor) in seen:
        return
    seen.add(id(tensor))
    trainable = on and isinstance(tensor, nn.Parameter) and tensor.requires_grad
    out.append(Entry(layer, spec, tensor, trainable))


def is_layer(module: nn.Module) -> bool:
    """A Lamina layer (it collects its own entries); anything else is a plain torch module."""
    return hasattr(type(module), "_collect_entries")


def collect_torch(
    module: nn.Module,
    owner: Any,
    prefix: str,
    out: list[Entry],
    seen: set[int],
    on: bool,
    skip: set[str],
    into_layers: bool = True,
) -> None:
    """Parameters and persistent buffers of `module` (state_dict order), owned by `owner`;
    child layers add their own entries (when `into_layers`), plain modules are walked."""
    for name, p in module.named_parameters(recurse=False):
        if name not in skip:
            add_entry(out, seen, owner, TorchWeight(module, name, prefix + name), p, on)
    non_persistent = getattr(module, "_non_persistent_buffers_set", ())
    for name, b in module.named_buffers(recurse=False):
        if name not in skip and name not in non_persistent:
            add_entry(out, seen, owner, TorchWeight(module, name, prefix + name), b, on)
    for name, child in module.named_children():
        if not is_layer(child):
            collect_torch(child, owner, f"{prefix}{name}.", out, seen, on, set(), into_layers)
        elif into_layers:
            child._collect_entries(out, seen, on)


def foreign_modules(layer: nn.Module) -> list[nn.Module]:
    """Plain torch modules of a layer's tree, not inside a sublayer."""
    found: list[nn.Module] = []

    def visit(module: nn.Module) -> None:
        for child in module.children():
            if not is_layer(child):
                found.append(child)
                visit(child)

    visit(layer)
    return found
