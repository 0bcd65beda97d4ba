"""RMSprop's eager update over one flat buffer holding every weight, and one per state.

torch.optim's foreach RMSprop runs each of its operations once per weight tensor on the
CPU, plus its own Python per step: on a small model the update costs as much as the
backward pass (docs/design.md). Here the weights become views into one flat buffer, and
`square_avg` (`grad_avg`, `momentum_buffer`) into one flat buffer each, so an update is
a handful of operations over all weights at once, with the same arithmetic as
torch.optim's (same results). The state stays torch.optim's: its entries are the views,
so checkpoints, `get_weights`, an eager torch step and the compiled step all see the
same tensors.

A weight or state tensor that moved since the layout was made (`model.to(...)`, a loaded
optimizer state, a weight rebound by hand) is noticed before the update by comparing
data pointers, and the layout is made again. Each weight starts at a multiple of 16
elements (64 bytes), so views stay as aligned as separately allocated tensors.

    flat = FlatRMSprop.make(optimizer, params, grads)   # None: not applicable
    flat.step(grads, lr)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from lamina.runtime import foreach

ALIGN = 16  # elements between the starts of two weights' views


def _aligned(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


class FlatRMSprop:
    """The flat layout of one optimizer's weights and state, and the update over it."""

    def __init__(self, optimizer: Any, params: Sequence[torch.Tensor]) -> None:
        torch_opt = optimizer.torch_optimizer
        self.optimizer = optimizer
        self.params = list(params)
        self.names = self.state_names(optimizer)
        self.alpha, self.eps = float(optimizer.rho), float(optimizer.epsilon)
        self.momentum, self.centered = float(optimizer.momentum), bool(optimizer.centered)
        first = self.params[0]
        offsets, total = [], 0
        for p in self.params:
            offsets.append(total)
            total += _aligned(p.numel())
        spans = [(o, o + p.numel()) for o, p in zip(offsets, self.params)]

        def home(source: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
            flat = torch.zeros(total, dtype=first.dtype, device=first.device)
            views = []
            for (a, b), p, t in zip(spans, self.params, source):
                flat[a:b].copy_(t.detach().reshape(-1))
                views.append(flat[a:b].view(p.shape))
            return flat, views

        with torch.no_grad():
            self.flat, views = home(self.params)
            for p, view in zip(self.params, views):
                p.data = view
            self.state_flat: dict[str, torch.Tensor] = {}
            for name in self.names:
                current = [torch_opt.state[p][name] for p in self.params]
                self.state_flat[name], state_views = home(current)
                for p, view in zip(self.params, state_views):
                    torch_opt.state[p][name] = view
            self.grad_flat, self.grad_views = home([torch.zeros_like(p) for p in self.params])
        self.steps = [torch_opt.state[p]["step"] for p in self.params]
        self.pointers = self._pointers()

    @staticmethod
    def state_names(optimizer: Any) -> tuple[str, ...]:
        names = ("square_avg",)
        names += ("momentum_buffer",) if optimizer.momentum else ()
        return names + (("grad_avg",) if optimizer.centered else ())

    @classmethod
    def create_state(cls, optimizer: Any, params: Sequence[torch.Tensor]) -> None:
        """Give each of `params` without state the zero state torch.optim's RMSprop makes on
        its first step (a scalar `step`, zero buffers shaped like the weight).

        torch.optim's `step()` imports Dynamo on its first call (about a second of a short
        eager fit); with the state made here, the first update is already the flat one.
        """
        torch_opt = optimizer.torch_optimizer
        if torch_opt is None or torch_opt.param_groups[0].get("capturable"):
            return  # a capturable step keeps `step` on the device: torch's own step makes it
        scalar = torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32
        for p in params:
            if torch_opt.state.get(p):
                continue
            state = {"step": torch.zeros((), dtype=scalar)}
            for name in cls.state_names(optimizer):
                state[name] = torch.zeros_like(p, memory_format=torch.preserve_format)
            torch_opt.state[p] = state

    @classmethod
    def make(
        cls, optimizer: Any, params: Sequence[torch.Tensor], grads: Sequence[Any]
    ) -> FlatRMSprop | None:
        """A layout for `params`, or None when the flat update does not apply: not every
        weight has a dense gradient, the weights differ in dtype or device, they are not
        plain dense tensors, there are several param groups, or the state is not created yet."""
        torch_opt = optimizer.torch_optimizer
        if torch_opt is None or len(torch_opt.param_groups) != 1 or not params:
            return None
        if len(params) != len(optimizer._params or []) or len(params) != len(grads):
            return None
        first, names = params[0], ("step", *cls.state_names(optimizer))
        for p, g in zip(params, grads):
            if p.dtype != first.dtype or p.device != first.device or not p.is_contiguous():
                return None
            if p.layout != torch.strided or not p.dtype.is_floating_point:
                return None
            if g is None or g.layout != torch.strided or g.shape != p.shape:
                return None
            state = torch_opt.state.get(p)
            if not state or any(not isinstance(state.get(n), torch.Tensor) for n in names):
                return None
        return cls(optimizer, params)

    def _pointers(self) -> list[int]:
        state = self.optimizer.torch_optimizer.state
        found = [p.data_ptr() for p in self.params]
        for name in self.names:
            found += [state[p][name].data_ptr() if p in state else -1 for p in self.params]
        return found

    def holds(self, params: Sequence[torch.Tensor]) -> bool:
        """True while `params` are this layout's weights and nothing has moved."""
        if len(params) != len(self.params) or any(a is not b for a, b in zip(params, self.params)):
            return False
        if self.optimizer.torch_optimizer is None:
            return False
        try:
            return self._pointers() == self.pointers
        except KeyError:
            return False

    @torch.no_grad()
    def step(self, grads: Sequence[torch.Tensor], lr: Any) -> None:
        """One RMSprop update of every weight from `grads`, with torch.optim's arithmetic."""
        foreach.copy_(self.grad_views, list(grads))
        foreach.add_(self.steps, 1)
        g, sq = self.grad_flat, self.state_flat["square_avg"]
        sq.mul_(self.alpha).addcmul_(g, g, value=1 - self.alpha)
        if self.centered:
            ga = self.state_flat["grad_avg"]
            ga.lerp_(g, 1 - self.alpha)
            avg = sq.addcmul(ga, ga, value=-1).sqrt_().add_(self.eps)
        else:
            avg = sq.sqrt().add_(self.eps)
        rate = float(lr)  # torch.optim reads a tensor rate as a number here too
        if self.momentum:
            buf = self.state_flat["momentum_buffer"]
            buf.mul_(self.momentum).addcdiv_(g, avg)
            self.flat.add_(buf, alpha=-rate)
        else:
            self.flat.addcdiv_(g, avg, value=-rate)
