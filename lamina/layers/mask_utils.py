"""Keras's mask protocol: which steps of a sequence are padding.

A mask is a boolean tensor, True where the input holds data, shaped like the leading axes
of the tensor it describes ((batch, time) for a (batch, time, features) sequence). As in
Keras 3's torch backend, a mask travels on its tensor as the `_keras_mask` attribute: a
layer that makes one (`Embedding(mask_zero=True)`, `Masking`) sets it on its output, a
layer whose `call` takes `mask` receives the mask of its input, and a layer that
`supports_masking` hands a mask on (`compute_mask`). Symbolic tensors carry a symbolic
mask the same way, so a model knows when it is built whether any mask flows in it.

    x = Embedding(100, 8, mask_zero=True)(ids)   # x._keras_mask == (ids != 0)
"""

from __future__ import annotations

import warnings
from typing import Any

import torch

from lamina.layers.symbolic import KerasTensor
from lamina.stacklevel import user_stacklevel
from lamina.tree import flatten, map_structure

MASK_ATTR = "_keras_mask"


def get_mask(x: Any) -> Any:
    """The mask a tensor (or symbolic tensor) carries, else None."""
    return getattr(x, MASK_ATTR, None) if isinstance(x, (torch.Tensor, KerasTensor)) else None


def set_mask(x: Any, mask: Any) -> None:
    """Attach `mask` to `x` (None removes it), as Keras's `backend.set_keras_mask`."""
    if mask is None:
        if getattr(x, MASK_ATTR, None) is not None:
            delattr(x, MASK_ATTR)
        return
    setattr(x, MASK_ATTR, mask)


def masks_of(structure: Any) -> Any:
    """The masks of a structure of tensors (same structure, None where unmasked), or None
    when no tensor in it carries one."""
    if isinstance(structure, (torch.Tensor, KerasTensor)):
        return getattr(structure, MASK_ATTR, None)
    if not any(get_mask(t) is not None for t in flatten(structure)):
        return None
    return map_structure(get_mask, structure)


def has_mask(masks: Any) -> bool:
    """True when `masks` (a mask, a structure of masks, or None) holds at least one mask."""
    if masks is None:
        return False
    if isinstance(masks, (torch.Tensor, KerasTensor)):
        return True
    return any(m is not None for m in flatten(masks))


def all_masked(outputs: Any) -> bool:
    """True when every tensor output already carries a mask (the layer set them itself)."""
    tensors = [t for t in flatten(outputs) if isinstance(t, (torch.Tensor, KerasTensor))]
    return bool(tensors) and all(get_mask(t) is not None for t in tensors)


def attach(outputs: Any, masks: Any) -> None:
    """Set each output's mask from `masks` (one mask for a single output, or a structure
    matching the outputs), leaving masks an output already carries."""
    tensors = [t for t in flatten(outputs) if isinstance(t, torch.Tensor)]
    if isinstance(masks, torch.Tensor):
        masks = [masks]
    else:
        masks = flatten(masks)
    for t, m in zip(tensors, masks):
        if m is not None and getattr(t, MASK_ATTR, None) is None:
            setattr(t, MASK_ATTR, m)


def symbolic_masks(outputs: Any, concrete: Any) -> None:
    """Give symbolic `outputs` symbolic masks shaped like `concrete` (masks computed on a
    batch of one, where unknown sizes were 1): a mask whose shape fits the leading axes of
    its output takes those axes' sizes (None stays None)."""
    tensors = [t for t in flatten(outputs) if isinstance(t, KerasTensor)]
    if isinstance(concrete, (torch.Tensor, KerasTensor)):
        concrete = [concrete]
    else:
        concrete = flatten(concrete)
    for t, m in zip(tensors, concrete):
        if not isinstance(m, (torch.Tensor, KerasTensor)) or get_mask(t) is not None:
            continue
        ndim = len(m.shape)
        lead = t.shape[:ndim]
        if len(lead) == ndim and all(s is None or s == c for s, c in zip(lead, m.shape)):
            shape = (None, *lead[1:])
        else:
            shape = (None, *m.shape[1:])
        setattr(t, MASK_ATTR, KerasTensor(shape, dtype="bool"))


def concrete_masks(masks: Any, device: torch.device) -> Any:
    """All-True masks of the shapes of symbolic `masks` (unknown sizes 1), for computing the
    output masks of a symbolic call on a batch of one."""

    def one(m: Any) -> Any:
        if not isinstance(m, KerasTensor):
            return m
        shape = tuple(1 if d is None else d for d in m.shape)
        return torch.ones(shape, dtype=torch.bool, device=device)

    return map_structure(one, masks)


def warn_dropped(layer: Any) -> None:
    """Keras's warning for a layer that cannot pass a mask on (once per layer)."""
    if layer.__dict__.get("_warned_mask"):
        return
    layer.__dict__["_warned_mask"] = True
    warnings.warn(
        f"Layer '{layer.name}' ({type(layer).__name__}) received an input with a mask, but it "
        "does not support masking: the layers after it see no mask (as in Keras). Expected "
        "a mask-passing layer here (Dense, Dropout, an RNN, GlobalAveragePooling1D, ...), "
        f"received: {type(layer).__name__}",
        UserWarning,
        stacklevel=user_stacklevel(),
    )
