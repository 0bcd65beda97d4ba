"""Schedule-Free AdamW (Defazio et al., 2024, "The Road Less Scheduled") with Keras 3's
arguments, defaults and rule: no learning-rate schedule needed, the weights interpolate
between an Adam iterate and its running average."""

from __future__ import annotations

from typing import Any

import torch

from lamina import registry
from lamina.optimizers.keras_rule import KerasRule, RuleOptimizer


class ScheduleFreeRule(KerasRule):
    """Keras's rule: `z` (slot "momentum", starting at the initial weights) takes Adam
    steps; the average `x` is recovered from the weight `y = (1 - b1) z + b1 x`, moved
    toward `z` by `1 / step`, and the weight set to the new interpolation."""

    def __init__(self, params: Any, lr: float, **hparams: Any) -> None:
        super().__init__(params, lr, **hparams)
        for group in self.param_groups:  # Keras copies the weights when it builds
            for p in group["params"]:
                self.state[p].update(self._fresh(p))

    @staticmethod
    def _fresh(p: torch.Tensor) -> dict[str, Any]:
        return {
            "step": torch.zeros((), dtype=torch.float32),
            "momentum": p.detach().clone(),
            "velocity": torch.zeros_like(p),
        }

    def init_state(self, p: torch.Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in self._fresh(p).items() if k != "step"}

    def update(self, p, g, state, group, step) -> None:  # type: ignore[no-untyped-def]
        # the betas in the weight's dtype, as Keras casts them (1 - b2 differs in float32)
        b1, b2 = (torch.tensor(group[k], dtype=p.dtype) for k in ("beta_1", "beta_2"))
        eps = group["epsilon"]
        lr = group["lr"]
        if group["warmup_steps"] > 0:
            lr = lr * torch.clamp(step / group["warmup_steps"], max=1.0)
        z, v = state["momentum"], state["velocity"]
        z_old = z.clone()
        v.add_((g * g - v) * (1 - b2))
        denom = torch.sqrt(v / (1 - torch.pow(b2, step))) + eps
        z.sub_(lr * g / denom)
        weight = 1.0 / step
        x_old = (p - (1 - b1) * z_old) / b1
        x_new = (1 - weight) * x_old + weight * z
        p.copy_((1 - b1) * z + b1 * x_new)


@registry.register("optimizer", "ScheduleFreeAdamW", "schedule_free_adamw")
class ScheduleFreeAdamW(RuleOptimizer):
    """AdamW without a schedule: a constant rate (with optional linear `warmup_steps`)
    matches tuned schedules. Keras's default rate is 0.0025 and epsilon 1e-8."""

    _torch_class = ScheduleFreeRule

    def __init__(
        self,
        learning_rate: Any = 0.0025,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        warmup_steps: int = 0,
        **kwargs: Any,
    ):
        super().__init__(learning_rate, **kwargs)
        self.beta_1 = self._number("beta_1", beta_1, True, below=1.0)
        self.beta_2 = self._number("beta_2", beta_2, below=1.0)
        self.epsilon = self._number("epsilon", epsilon)
        if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 0:
            raise ValueError(
                f"Optimizer '{self.name}' expected warmup_steps an int >= 0, received: "
                f"warmup_steps={warmup_steps!r}"
            )
        self.warmup_steps = warmup_steps

    def _torch_hparams(self) -> dict[str, Any]:
        return {
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "warmup_steps": self.warmup_steps,
        }
