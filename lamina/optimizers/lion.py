"""Lion (Chen et al., 2023, "Symbolic Discovery of Optimization Algorithms") with Keras 3's
arguments, defaults and rule: the sign of an interpolated momentum."""

from __future__ import annotations

from typing import Any

import torch

from lamina import registry
from lamina.optimizers.keras_rule import KerasRule, RuleOptimizer


class LionRule(KerasRule):
    """`w -= lr * sign(b1 * m + (1 - b1) * g)`, then `m = b2 * m + (1 - b2) * g`."""

    def init_state(self, p: torch.Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"momentum": torch.zeros_like(p, memory_format=torch.preserve_format)}

    def update(self, p, g, state, group, step) -> None:  # type: ignore[no-untyped-def]
        m, b1, b2 = state["momentum"], group["beta_1"], group["beta_2"]
        p.sub_(torch.sign(m * b1 + g * (1.0 - b1)) * group["lr"])
        m.mul_(b2).add_(g * (1.0 - b2))


@registry.register("optimizer", "Lion", "lion")
class Lion(RuleOptimizer):
    """Lion: every weight moves by `learning_rate` times the sign of a momentum, so rates
    are usually 3-10x smaller than Adam's. `beta_1` in (0, 1] (0 would be SignSGD)."""

    _torch_class = LionRule

    def __init__(
        self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.99, **kwargs: Any
    ):
        super().__init__(learning_rate, **kwargs)
        if isinstance(beta_1, bool) or not isinstance(beta_1, (int, float)) or not 0 < beta_1 <= 1:
            raise ValueError(
                f"Optimizer '{self.name}' expected beta_1 in (0, 1] (0 degenerates to SignSGD), "
                f"received: beta_1={beta_1!r}"
            )
        self.beta_1 = float(beta_1)
        self.beta_2 = self._number("beta_2", beta_2, below=1.0)

    def _torch_hparams(self) -> dict[str, Any]:
        return {"beta_1": self.beta_1, "beta_2": self.beta_2}
