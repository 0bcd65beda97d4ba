"""Multi-tensor ("foreach") kernels for the optimizer update, with per-tensor fallbacks.

torch runs one kernel over a whole list of tensors through `torch._foreach_*`, which
saves a launch per tensor on the eager path; Dynamo traces them too. They are private
names, so Lamina reaches them only here: each function falls back to a loop of public
per-tensor ops when the running torch lacks the kernel.

    scales = foreach.norms(grads)
    foreach.mul_(grads, 0.5)
"""

from __future__ import annotations

from typing import Any

import torch

Tensors = list[torch.Tensor]

_norm = getattr(torch, "_foreach_norm", None)
_mul_ = getattr(torch, "_foreach_mul_", None)
_clamp_min_ = getattr(torch, "_foreach_clamp_min_", None)
_clamp_max_ = getattr(torch, "_foreach_clamp_max_", None)
_reciprocal_ = getattr(torch, "_foreach_reciprocal_", None)
_copy_ = getattr(torch, "_foreach_copy_", None)
_add_ = getattr(torch, "_foreach_add_", None)


def norms(tensors: Tensors) -> list[torch.Tensor]:
    """The L2 norm of each tensor, as 0-d tensors."""
    if _norm is not None:
        return list(_norm(tensors))
    return [torch.linalg.vector_norm(t) for t in tensors]


def mul_(tensors: Tensors, other: Any) -> None:
    """Multiply each tensor in place by a number, a 0-d tensor or the matching tensor of a list."""
    if _mul_ is not None:
        _mul_(tensors, other)
        return
    others = other if isinstance(other, (list, tuple)) else [other] * len(tensors)
    for t, o in zip(tensors, others):
        t.mul_(o)


def clamp_(tensors: Tensors, low: float | None = None, high: float | None = None) -> None:
    """Clamp each tensor in place to [low, high] (either bound may be None)."""
    if _clamp_min_ is not None and _clamp_max_ is not None:
        if low is not None:
            _clamp_min_(tensors, low)
        if high is not None:
            _clamp_max_(tensors, high)
        return
    for t in tensors:
        t.clamp_(low, high)


def reciprocal_(tensors: Tensors) -> None:
    """Replace each tensor by its reciprocal, in place."""
    if _reciprocal_ is not None:
        _reciprocal_(tensors)
        return
    for t in tensors:
        t.reciprocal_()


def copy_(targets: Tensors, sources: Tensors) -> None:
    """Copy each source into the matching target, in place."""
    if _copy_ is not None:
        _copy_(targets, sources)
        return
    for t, s in zip(targets, sources):
        t.copy_(s)


def add_(tensors: Tensors, other: Any) -> None:
    """Add a number to each tensor, in place."""
    if _add_ is not None:
        _add_(tensors, other)
        return
    for t in tensors:
        t.add_(other)
