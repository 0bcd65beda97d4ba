"""Adafactor (Shazeer & Stern, 2018) with Keras 3's arguments, defaults and rule: second
moments of matrices kept as row and column averages (memory linear in the sides)."""

from __future__ import annotations

from typing import Any

import torch

from lamina import registry
from lamina.optimizers.keras_rule import KerasRule, RuleOptimizer
from lamina.optimizers.variable_paths import tag_owner_paths


def _rms(x: torch.Tensor) -> torch.Tensor:
    return torch.sqrt(torch.mean(torch.square(x)))


class AdafactorRule(KerasRule):
    """Keras's Adafactor. Weights of rank >= 2 factor the second moment over their last two
    axes (`r`: mean over the last, `c`: over the one before); others keep it whole (`v`).

    Weights tagged with `keras_layout` (`variable_paths`; the Adafactor optimizer tags
    the weights of the model it is compiled with) are factored in
    Keras's layout; untagged ones in their own (the same update for a transposed Dense
    kernel, since `r_i c_j / mean(r)` is symmetric; not for convolution kernels).
    """

    @staticmethod
    def keras_view(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """`t` (shaped like the weight `like`) viewed in Keras's layout when it is known."""
        perm = getattr(like, "keras_layout", None)
        return t.permute(*perm) if perm is not None else t

    def init_state(self, p: torch.Tensor, group: dict[str, Any]) -> dict[str, Any]:
        p = self.keras_view(p, p)
        if p.dim() < 2:
            return {"velocity": torch.zeros_like(p)}
        return {
            "r": p.new_zeros(p.shape[:-1]),
            "c": p.new_zeros(p.shape[:-2] + p.shape[-1:]),
            "velocity": torch.zeros_like(p),
        }

    def update(self, p, g, state, group, step) -> None:  # type: ignore[no-untyped-def]
        p, g = self.keras_view(p, p), self.keras_view(g, p)  # views: updates write through
        rho = torch.clamp(torch.as_tensor(group["lr"], dtype=p.dtype), max=1 / torch.sqrt(step))
        alpha = torch.clamp(_rms(p), min=group["epsilon_2"]) * rho
        squared = g * g + group["epsilon_1"]
        beta_2 = 1 - torch.pow(step, group["beta_2_decay"])
        v = state["velocity"]
        if p.dim() >= 2:
            r, c = state["r"], state["c"]
            r.copy_(beta_2 * r + (1 - beta_2) * squared.mean(dim=-1))
            c.copy_(beta_2 * c + (1 - beta_2) * squared.mean(dim=-2))
            v.copy_((r / r.mean(dim=-1, keepdim=True)).unsqueeze(-1) * c.unsqueeze(-2))
        else:
            v.copy_(beta_2 * v + (1 - beta_2) * squared)
        u = g / torch.sqrt(v)
        u = u / torch.clamp(_rms(u) / group["clip_threshold"], min=1.0)
        p.sub_(alpha * u)


@registry.register("optimizer", "Adafactor", "adafactor")
class Adafactor(RuleOptimizer):
    """Adafactor: Adam-like steps from factored second moments; the step is the rate
    (capped at `1 / sqrt(step)`) times the weight's RMS (at least `epsilon_2`).
    `relative_step` is kept for configs: Keras's rule caps the rate either way."""

    _torch_class = AdafactorRule

    def __init__(
        self,
        learning_rate: Any = 0.001,
        beta_2_decay: float = -0.8,
        epsilon_1: float = 1e-30,
        epsilon_2: float = 1e-3,
        clip_threshold: float = 1.0,
        relative_step: bool = True,
        **kwargs: Any,
    ):
        super().__init__(learning_rate, **kwargs)
        self.beta_2_decay = float(beta_2_decay)
        self.epsilon_1 = self._number("epsilon_1", epsilon_1)
        self.epsilon_2 = self._number("epsilon_2", epsilon_2)
        self.clip_threshold = self._number("clip_threshold", clip_threshold, True)
        self.relative_step = bool(relative_step)

    def _make_torch(self, params: list[torch.Tensor], lr: float) -> Any:
        tag_owner_paths(self, params)  # the weights' Keras layouts (keras_layout)
        return super()._make_torch(params, lr)

    def _torch_hparams(self) -> dict[str, Any]:
        return {
            "beta_2_decay": self.beta_2_decay,
            "epsilon_1": self.epsilon_1,
            "epsilon_2": self.epsilon_2,
            "clip_threshold": self.clip_threshold,
            "relative_step": self.relative_step,
        }
