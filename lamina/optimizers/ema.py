"""Keras 3's `use_ema`: an exponential moving average of the trained weights.

After every update `average = momentum * average + (1 - momentum) * weight`, with
momentum 0 on the first update (the average starts at the first updated weights).
With `ema_overwrite_frequency=N` every N-th update copies the averages into the
weights; `Optimizer.finalize_variable_values` (called at the end of `fit`) does it
once. The update count is a tensor, so a compiled train step traces the same code.

    opt = optimizers.SGD(0.1, use_ema=True, ema_momentum=0.9)
"""

from __future__ import annotations

from typing import Any

import torch


class WeightAverage:
    """The averages of one optimizer's parameters (aligned with its `build` list)."""

    def __init__(self, momentum: float, overwrite_frequency: int | None) -> None:
        self.momentum = momentum
        self.overwrite_frequency = overwrite_frequency
        self.averages: list[torch.Tensor] = []
        self.count: torch.Tensor | None = None  # updates averaged so far
        self._pending: dict[str, Any] | None = None

    def build(self, params: list[torch.Tensor], old_params: list[torch.Tensor] | None) -> None:
        """Averages for `params`, keeping those of parameters present before."""
        kept = dict(zip(map(id, old_params or []), self.averages))
        self.averages = [
            kept.get(id(p), torch.zeros_like(p, memory_format=torch.preserve_format)).detach()
            for p in params
        ]
        device = params[0].device if params else None
        if self.count is None:
            self.count = torch.zeros((), dtype=torch.int64, device=device)
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self.load_state_dict(pending)

    def update(self, params: list[torch.Tensor]) -> None:
        """Average the just-updated `params` in; overwrite them every N-th update."""
        first = self.count == 0
        keep: dict[torch.dtype, torch.Tensor] = {}
        for average, p in zip(self.averages, params):
            if p.dtype not in keep:  # Keras: momentum * (iterations != 0)
                keep[p.dtype] = (~first).to(p.dtype) * self.momentum
            k = keep[p.dtype]
            average.mul_(k).add_(p * (1 - k))
        self.count.add_(1)
        if self.overwrite_frequency:
            due = self.count % self.overwrite_frequency == 0
            for p, average in zip(params, self.averages):
                p.copy_(torch.where(due, average, p))

    def overwrite(self, params: list[torch.Tensor], variables: list[torch.Tensor]) -> None:
        """Copy the averages of `variables` (some of `params`) into them (none averaged
        yet: nothing to copy)."""
        if self.count is None or int(self.count) == 0:
            return
        index = {id(p): i for i, p in enumerate(params)}
        with torch.no_grad():
            for v in variables:
                v.copy_(self.averages[index[id(v)]])

    def state_dict(self) -> dict[str, Any]:
        return {
            "averages": [a.detach().clone() for a in self.averages],
            "count": int(self.count) if self.count is not None else 0,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a `state_dict()`; before `build`, it is applied at build time."""
        if self.count is None:
            self._pending = state
            return
        if len(state["averages"]) != len(self.averages):
            raise ValueError(
                f"Expected moving averages of {len(self.averages)} parameters, "
                f"received: {len(state['averages'])}"
            )
        with torch.no_grad():
            for average, saved in zip(self.averages, state["averages"]):
                average.copy_(saved)
            self.count.fill_(int(state["count"]))
