"""FTRL-Proximal (McMahan et al., 2013) with Keras 3's arguments, defaults and rule,
including its L2 shrinkage and `beta` terms."""

from __future__ import annotations

from typing import Any

import torch

from lamina import registry
from lamina.optimizers.keras_rule import KerasRule, RuleOptimizer


class FtrlRule(KerasRule):
    """Keras's FTRL: an accumulator of squared gradients and a linear term; the weight is
    the closed-form proximal solution `(clip(z, -l1, l1) - z) / quadratic`."""

    def init_state(self, p: torch.Tensor, group: dict[str, Any]) -> dict[str, Any]:
        accumulator = torch.full_like(p, group["initial_accumulator_value"])
        return {"accumulator": accumulator, "linear": torch.zeros_like(p)}

    def update(self, p, g, state, group, step) -> None:  # type: ignore[no-untyped-def]
        lr, power = group["lr"], group["learning_rate_power"]
        l1 = group["l1_regularization_strength"]
        l2 = group["l2_regularization_strength"] + group["beta"] / (2.0 * lr)
        shrink = group["l2_shrinkage_regularization_strength"]
        accum, linear = state["accumulator"], state["linear"]
        new_accum = accum + g * g
        grad = g + 2 * shrink * p
        linear.add_(grad - (torch.pow(new_accum, -power) - torch.pow(accum, -power)) / lr * p)
        quadratic = torch.pow(new_accum, -power) / lr + 2 * l2
        p.copy_((torch.clamp(linear, -l1, l1) - linear) / quadratic)
        accum.copy_(new_accum)


@registry.register("optimizer", "Ftrl", "ftrl")
class Ftrl(RuleOptimizer):
    """Follow The Regularized Leader, suited to wide sparse models (Keras 3's variant)."""

    _torch_class = FtrlRule

    def __init__(
        self,
        learning_rate: Any = 0.001,
        learning_rate_power: float = -0.5,
        initial_accumulator_value: float = 0.1,
        l1_regularization_strength: float = 0.0,
        l2_regularization_strength: float = 0.0,
        l2_shrinkage_regularization_strength: float = 0.0,
        beta: float = 0.0,
        **kwargs: Any,
    ):
        super().__init__(learning_rate, **kwargs)
        if isinstance(learning_rate_power, bool) or not learning_rate_power <= 0:
            raise ValueError(
                f"Optimizer '{self.name}' expected learning_rate_power <= 0, received: "
                f"learning_rate_power={learning_rate_power!r}"
            )
        self.learning_rate_power = float(learning_rate_power)
        self.initial_accumulator_value = self._number(
            "initial_accumulator_value", initial_accumulator_value
        )
        self.l1_regularization_strength = self._number(
            "l1_regularization_strength", l1_regularization_strength
        )
        self.l2_regularization_strength = self._number(
            "l2_regularization_strength", l2_regularization_strength
        )
        self.l2_shrinkage_regularization_strength = self._number(
            "l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength
        )
        self.beta = self._number("beta", beta)

    def _torch_hparams(self) -> dict[str, Any]:
        return {
            "learning_rate_power": self.learning_rate_power,
            "initial_accumulator_value": self.initial_accumulator_value,
            "l1_regularization_strength": self.l1_regularization_strength,
            "l2_regularization_strength": self.l2_regularization_strength,
            "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
            "beta": self.beta,
        }
