"""LAMB (You et al., 2019, "Large Batch Optimization for Deep Learning") with Keras 3's
arguments, defaults and rule: Adam's step rescaled per weight by a trust ratio."""

from __future__ import annotations

from typing import Any

import torch

from lamina import registry
from lamina.optimizers.keras_rule import KerasRule, RuleOptimizer


class LambRule(KerasRule):
    """Adam's `u = m_hat / (sqrt(v_hat) + eps)`, then `w -= ||w|| / ||u|| * lr * u` (ratio 1
    when either norm is 0)."""

    def init_state(self, p: torch.Tensor, group: dict[str, Any]) -> dict[str, Any]:
        zeros = torch.zeros_like
        return {"momentum": zeros(p), "velocity": zeros(p)}

    def update(self, p, g, state, group, step) -> None:  # type: ignore[no-untyped-def]
        b1, b2, eps = group["beta_1"], group["beta_2"], group["epsilon"]
        m, v = state["momentum"], state["velocity"]
        m.add_((g - m) * (1 - b1))
        v.add_((g * g - v) * (1 - b2))
        m_hat = m / (1.0 - torch.pow(torch.tensor(b1, dtype=p.dtype), step))
        v_sqrt = torch.sqrt(v / (1.0 - torch.pow(torch.tensor(b2, dtype=p.dtype), step))) + eps
        u = m_hat / v_sqrt
        w_norm = torch.linalg.vector_norm(p)
        u_norm = torch.linalg.vector_norm(u)
        one = torch.ones((), dtype=p.dtype)
        ratio = torch.where(w_norm > 0, torch.where(u_norm > 0, w_norm / u_norm, one), one)
        p.sub_(ratio * group["lr"] * u)


@registry.register("optimizer", "Lamb", "lamb")
class Lamb(RuleOptimizer):
    """LAMB: layer-wise adaptive large-batch optimizer (Adam moments, trust-ratio scaling)."""

    _torch_class = LambRule

    def __init__(
        self,
        learning_rate: Any = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        **kwargs: Any,
    ):
        super().__init__(learning_rate, **kwargs)
        self.beta_1 = self._number("beta_1", beta_1, below=1.0)
        self.beta_2 = self._number("beta_2", beta_2, below=1.0)
        self.epsilon = self._number("epsilon", epsilon)

    def _torch_hparams(self) -> dict[str, Any]:
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
