"""einops-style axis rearrangement (Keras's `ops.rearrange`): reshape, permute, reshape."""

from __future__ import annotations

import math
import re
from typing import Any

import torch

from lamina.ops.conversion import convert_to_tensor

__all__ = ["rearrange"]


def _groups(side: str) -> list[list[str]]:
    """'b (h w) c' -> [['b'], ['h', 'w'], ['c']]."""
    return [
        token[1:-1].split() if token.startswith("(") else [token]
        for token in re.findall(r"\w+|\(.*?\)", side)
    ]


def rearrange(tensor: Any, pattern: str, **axes_lengths: int) -> torch.Tensor:
    """Reorder, merge and split the axes of `tensor` as the einops `pattern` says.

    `'b h w c -> b (c h w)'` flattens; `'b (h1 h) w c -> (b h1) h w c'` splits `h`
    into `h1` (its length given as `h1=2`) and `h`.
    """
    tensor = convert_to_tensor(tensor)
    if "->" not in pattern:
        raise ValueError(f"Expected a pattern 'inputs -> outputs', received: pattern={pattern!r}")
    left, right = (side.strip() for side in pattern.split("->"))
    in_groups, out_groups = _groups(left), _groups(right)
    if len(in_groups) != tensor.dim():
        raise ValueError(
            f"Expected {len(in_groups)} axes for pattern {left!r}, received: tensor.shape={tuple(tensor.shape)}"
        )
    lengths: dict[str, int] = {}
    for group, size in zip(in_groups, tensor.shape):
        known = [name for name in group if name in axes_lengths]
        unknown = [name for name in group if name not in axes_lengths]
        for name in known:
            lengths[name] = int(axes_lengths[name])
        product = math.prod(lengths[name] for name in known)
        if len(unknown) > 1:
            raise ValueError(
                f"Expected at most one unknown length in {group}, received: axes_lengths={axes_lengths}"
            )
        if unknown:
            lengths[unknown[0]] = int(size) // product
        elif product != size:
            raise ValueError(
                f"Expected {group} to multiply to {size}, received: axes_lengths={axes_lengths}"
            )
    in_axes = [name for group in in_groups for name in group]
    out_axes = [name for group in out_groups for name in group]
    if sorted(in_axes) != sorted(out_axes):
        raise ValueError(f"Expected the same axes on both sides, received: pattern={pattern!r}")
    tensor = tensor.reshape([lengths[name] for name in in_axes])
    tensor = tensor.permute([in_axes.index(name) for name in out_axes])
    return tensor.reshape([math.prod(lengths[name] for name in group) for group in out_groups])
