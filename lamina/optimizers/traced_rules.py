"""Optimizer rules as plain tensor code, for the compiled train step.

Why: `torch.optim`'s `step()` graph-breaks on purpose and reads `p.grad`, so inside
one compiled train step its update cannot fuse with the backward pass. These rules
compute exactly `torch.optim`'s update (the eager path's, within float rounding) on the
optimizer's own state tensors, so eager steps, checkpoints and compiled steps share
one state. Optimizers without a rule here update eagerly after the compiled gradients.
Only the rule itself lives here: clipping, weight decay, the moving average and
constraints are `update.apply_update`'s, which calls the rule.

    rule = traced_rule(optimizer)          # None: no rule, or state not created yet
    apply_update(optimizer, params, grads, lr, rule, constraints)   # traced, under no_grad
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from lamina.optimizers.adam import Adam, AdamW
from lamina.optimizers.adaptive import RMSprop
from lamina.optimizers.sgd import SGD
from lamina.optimizers.update import Rule


def _slots(optimizer: Any, names: tuple[str, ...]) -> list[list[torch.Tensor]] | None:
    """Per-parameter state tensors `names`, or None when the state is not complete yet."""
    torch_opt = optimizer.torch_optimizer
    out: list[list[torch.Tensor]] = [[] for _ in names]
    for p in optimizer._params:
        state = torch_opt.state.get(p)
        if not state:
            return None
        for i, name in enumerate(names):
            t = state.get(name)
            if not isinstance(t, torch.Tensor):
                return None
            out[i].append(t)
    return out


def _rate_moves_every_step(opt: Any) -> bool:
    """A schedule or `decay`: Keras's momentum then rescales the buffers before every update
    (keras_momentum.py), which a rule fused over several steps in one call would skip."""
    return callable(opt._lr) or bool(getattr(opt, "decay", 0))


def _sgd(opt: Any) -> Rule | None:
    momentum, nesterov = opt.momentum, opt.nesterov
    if momentum and _rate_moves_every_step(opt):
        return None  # updated eagerly after the compiled gradients, one batch per call
    slots = _slots(opt, ("momentum_buffer",)) if momentum else None
    if momentum and slots is None:
        return None
    bufs = slots[0] if slots else None

    def rule(params: list[torch.Tensor], grads: list[torch.Tensor], lr: Any) -> None:
        for i, (p, g) in enumerate(zip(params, grads)):
            if momentum:
                buf = bufs[i]
                buf.mul_(momentum).add_(g)
                g = g.add(buf, alpha=momentum) if nesterov else buf
            p.sub_(g * lr)

    return rule


def _rmsprop(opt: Any) -> Rule | None:
    if opt.momentum and _rate_moves_every_step(opt):
        return None  # see _sgd
    names = ("step", "square_avg") + (("momentum_buffer",) if opt.momentum else ())
    names += ("grad_avg",) if opt.centered else ()
    slots = _slots(opt, names)
    if slots is None:
        return None
    state = dict(zip(names, slots))
    alpha, eps, momentum, centered = opt.rho, opt.epsilon, opt.momentum, opt.centered

    def rule(params: list[torch.Tensor], grads: list[torch.Tensor], lr: Any) -> None:
        for i, (p, g) in enumerate(zip(params, grads)):
            state["step"][i].add_(1)
            sq = state["square_avg"][i]
            sq.mul_(alpha).addcmul_(g, g, value=1 - alpha)
            if centered:
                ga = state["grad_avg"][i]
                ga.lerp_(g, 1 - alpha)
                avg = sq.addcmul(ga, ga, value=-1).sqrt_().add_(eps)
            else:
                avg = sq.sqrt().add_(eps)
            if momentum:
                buf = state["momentum_buffer"][i]
                buf.mul_(momentum).addcdiv_(g, avg)
                p.sub_(buf * lr)
            else:
                p.sub_(g / avg * lr)

    return rule


def _adam(opt: Any) -> Rule | None:
    names = ("step", "exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if opt.amsgrad else ())
    slots = _slots(opt, names)
    if slots is None:
        return None
    state = dict(zip(names, slots))
    b1, b2, eps, amsgrad = opt.beta_1, opt.beta_2, opt.epsilon, opt.amsgrad

    def rule(params: list[torch.Tensor], grads: list[torch.Tensor], lr: Any) -> None:
        for i, (p, g) in enumerate(zip(params, grads)):
            step = state["step"][i]
            step.add_(1)
            m, v = state["exp_avg"][i], state["exp_avg_sq"][i]
            m.lerp_(g, 1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            if amsgrad:
                torch.maximum(state["max_exp_avg_sq"][i], v, out=state["max_exp_avg_sq"][i])
                v = state["max_exp_avg_sq"][i]
            bias1 = 1 - torch.pow(b1, step)
            bias2_sqrt = torch.sqrt(1 - torch.pow(b2, step))
            denom = (v.sqrt() / bias2_sqrt).add_(eps)
            p.sub_(m / denom * (lr / bias1))

    return rule


_RULES: dict[type, Callable[[Any], Rule | None]] = {
    SGD: _sgd,
    RMSprop: _rmsprop,
    Adam: _adam,
    AdamW: _adam,
}


def traced_rule(optimizer: Any) -> Rule | None:
    """The traced rule for `optimizer`, or None: no rule for its exact class (a user
    subclass may change the update), several param groups, or no state yet."""
    build = _RULES.get(type(optimizer))
    if build is None or optimizer.torch_optimizer is None:
        return None
    if len(optimizer.torch_optimizer.param_groups) != 1:
        return None
    return build(optimizer)
