"""A `torch.optim.Optimizer` whose update is one of Keras 3's rules that torch lacks.

Lion, Lamb, Ftrl, Adafactor, Muon and ScheduleFreeAdamW have no `torch.optim` class with
Keras's arithmetic, so each writes its rule as a `KerasRule` subclass: the state lives
in torch's `state` dict (checkpoints, `state_dict()` and `optimizer_state` saving work
unchanged), and `Optimizer.update` runs it through `apply_update` like any torch rule.

    class LionRule(KerasRule):
        def update(self, p, g, state, group, step): ...
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.optimizers.base import Optimizer
from lamina.runtime.optim_without_dynamo import construct_optimizer


class KerasRule(torch.optim.Optimizer):
    """One param group; `update(p, g, state, group, step)` per weight with a gradient.

    `step` is Keras's `iterations + 1` as a float tensor of the weight's dtype, counted
    per weight in `state["step"]`.
    """

    def __init__(self, params: Any, lr: float, **hparams: Any) -> None:
        super().__init__(params, {"lr": lr, **hparams})

    def init_state(self, p: torch.Tensor, group: dict[str, Any]) -> dict[str, Any]:
        """The slots of a weight (besides `step`)."""
        return {}

    def update(
        self,
        p: torch.Tensor,
        g: torch.Tensor,
        state: dict[str, Any],
        group: dict[str, Any],
        step: torch.Tensor,
    ) -> None:
        raise NotImplementedError

    @torch.no_grad()
    def step(self, closure: Any = None) -> None:  # type: ignore[override]
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = torch.zeros((), dtype=torch.float32)
                    state.update(self.init_state(p, group))
                state["step"].add_(1)
                step = state["step"].to(p.dtype)
                self.update(p, p.grad.to(p.dtype), state, group, step)


class RuleOptimizer(Optimizer):
    """An `Optimizer` over a `KerasRule` (no foreach/fused variants to choose from)."""

    def _make_torch(self, params: list[torch.Tensor], lr: float) -> Any:
        self._flags = {}
        return construct_optimizer(self._torch_class, params, lr=lr, **self._torch_hparams())

    def _own_config(self) -> dict[str, Any]:
        return self._torch_hparams()
