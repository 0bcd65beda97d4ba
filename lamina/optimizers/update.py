"""The optimizer update, from gradients to new weights: the one place each rule lives.

`apply_update` runs Keras 3's order: gradients divided by `loss_scale_factor`,
clipped (`clipnorm` per tensor, `global_clipnorm`, `clipvalue`), decoupled weight
decay (`w -= lr * weight_decay * w`), the optimizer's own rule, the moving average
of the weights (`use_ema`), then the layers' constraints. The eager step
(`Optimizer.step`, `Optimizer.apply`) passes torch.optim's step as the rule, which
keeps its foreach/fused kernels; the compiled train step traces this same function
with the rule of `traced_rules` (torch.optim's `step()` graph-breaks on purpose).
Everything here is in-place tensor work on `grads` (the eager rule reads `p.grad`,
the same tensors) with no host-side counters.

    apply_update(optimizer, params, grads, lr, rule, constraints)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch

from lamina.runtime import foreach

Rule = Callable[[list[torch.Tensor], list[torch.Tensor], Any], None]


def apply_update(
    optimizer: Any,
    params: list[torch.Tensor],
    grads: list[torch.Tensor],
    lr: Any,
    rule: Rule,
    constraints: Iterable[Any] = (),
) -> None:
    """Update `params` in place from their `grads` (in place too), under no_grad.

    `lr` is the step's rate (a float or a 0-d tensor); `rule(params, grads, lr)` is the
    optimizer's update; `constraints` are the layers whose `apply_constraints()`
    projects their weights afterwards.
    """
    if optimizer.loss_scale_factor is not None:
        foreach.mul_(grads, 1.0 / optimizer.loss_scale_factor)
    clip_gradients(optimizer, grads)
    if optimizer.weight_decay and not getattr(optimizer, "_rule_decays", False):
        decayed = (
            optimizer.decayed_params(params) if hasattr(optimizer, "decayed_params") else params
        )
        if decayed:
            foreach.mul_(decayed, 1 - lr * optimizer.weight_decay)
    rule(params, grads, lr)
    if optimizer.ema is not None:
        optimizer.ema.update(optimizer._params)
    for layer in constraints:
        layer.apply_constraints()


def clip_gradients(optimizer: Any, grads: list[torch.Tensor]) -> None:
    """Keras's `clipnorm` (each tensor to that norm), torch's `global_clipnorm` (the
    denominator adds 1e-6, as `clip_grad_norm_`) and `clipvalue`, in place."""
    if not grads:
        return
    if optimizer.clipnorm is not None:  # g * clipnorm / max(||g||, clipnorm)
        scales = foreach.norms(grads)
        foreach.clamp_(scales, low=optimizer.clipnorm)
        foreach.reciprocal_(scales)
        foreach.mul_(scales, optimizer.clipnorm)
        foreach.mul_(grads, scales)
    if optimizer.global_clipnorm is not None:
        total = torch.linalg.vector_norm(torch.stack(foreach.norms(grads)))
        foreach.mul_(grads, torch.clamp(optimizer.global_clipnorm / (total + 1e-6), max=1.0))
    if optimizer.clipvalue is not None:
        foreach.clamp_(grads, -optimizer.clipvalue, optimizer.clipvalue)
