"""Muon (Jordan et al., 2024; Moonlight scaling, Liu et al., 2025) with Keras 3's
arguments, defaults and rule: momentum orthogonalised by a Newton-Schulz iteration
for 2-D weights, AdamW for the rest."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import torch

from lamina import registry
from lamina.optimizers.keras_rule import KerasRule, RuleOptimizer
from lamina.optimizers.variable_paths import path_of, tag_owner_paths


def newton_schulz(x: torch.Tensor, steps: int, a: float, b: float, c: float) -> torch.Tensor:
    """Keras's quintic Newton-Schulz iteration towards the orthogonal factor of `x`."""
    tall = x.shape[-2] > x.shape[-1]
    if tall:
        x = x.transpose(-2, -1)
    x = x / (torch.linalg.matrix_norm(x, keepdim=True) + 1e-7)
    for _ in range(steps):
        gram = x @ x.transpose(-2, -1)
        x = a * x + (b * gram + c * gram @ gram) @ x
    return x.transpose(-2, -1) if tall else x


class MuonRule(KerasRule):
    """Per weight: Muon when `group["muon"]` says so (2-D, not excluded), else Keras's AdamW
    step with rate `lr * adam_lr_ratio`. Weight decay is done here too (Keras decays Adam
    weights by `adam_weight_decay`, Muon weights by `weight_decay`)."""

    def __init__(
        self, params: Any, lr: float, decays: Callable[[torch.Tensor], bool], **hparams: Any
    ) -> None:
        super().__init__(params, lr, **hparams)
        self.decays = decays  # whether weight decay applies to a weight (Muon's exclusions)

    def init_state(self, p: torch.Tensor, group: dict[str, Any]) -> dict[str, Any]:
        state = {"momentum": torch.zeros_like(p)}
        if not self.uses_muon(p, group):
            state["velocity"] = torch.zeros_like(p)
        return state

    @staticmethod
    def uses_muon(p: torch.Tensor, group: dict[str, Any]) -> bool:
        if p.dim() != 2:
            return False
        path = path_of(p)
        if group["exclude_embeddings"] and "embedding" in path.lower():
            return False
        return not any(re.search(k, path) for k in group["exclude_layers"])

    def update(self, p, g, state, group, step) -> None:  # type: ignore[no-untyped-def]
        lr = group["lr"]
        muon = "velocity" not in state
        decay = group["muon_weight_decay"] if muon else group["adam_weight_decay"]
        if decay and self.decays(p):
            p.sub_(p * decay * lr)
        m = state["momentum"]
        if muon:
            momentum = group["momentum"]
            m.mul_(momentum).add_(g)
            g = g + momentum * m if group["nesterov"] else m
            u = newton_schulz(
                g, group["ns_steps"], group["muon_a"], group["muon_b"], group["muon_c"]
            )
            u = lr * u
            if group["rms_rate"] is not None:
                u = u * (max(p.shape[0], p.shape[1]) ** 0.5) * group["rms_rate"]
            p.sub_(u)
            return
        b1, b2, v = group["adam_beta_1"], group["adam_beta_2"], state["velocity"]
        lr = lr * group["adam_lr_ratio"]
        b1_power = torch.pow(torch.tensor(b1, dtype=p.dtype), step)
        b2_power = torch.pow(torch.tensor(b2, dtype=p.dtype), step)
        alpha = lr * torch.sqrt(1 - b2_power) / (1 - b1_power)
        m.add_((g - m) * (1 - b1))
        v.add_((g * g - v) * (1 - b2))
        p.sub_(m * alpha / (torch.sqrt(v) + group["epsilon"]))


@registry.register("optimizer", "Muon", "muon")
class Muon(RuleOptimizer):
    """Muon for 2-D weights (orthogonalised momentum, scaled by `sqrt(max(n, m)) * rms_rate`)
    and AdamW for everything else: weights of another rank, embeddings
    (`exclude_embeddings`, by "embedding" in the path) and paths matching `exclude_layers`
    (regular expressions). Paths come from `variable_paths.tag_paths(model)`."""

    _torch_class = MuonRule
    _rule_decays = True

    def __init__(
        self,
        learning_rate: Any = 0.001,
        adam_beta_1: float = 0.9,
        adam_beta_2: float = 0.999,
        adam_weight_decay: float = 0.004,
        epsilon: float = 1e-7,
        weight_decay: float = 0.004,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        loss_scale_factor: float | None = None,
        gradient_accumulation_steps: int | None = None,
        name: str | None = None,
        exclude_layers: list[str] | None = None,
        exclude_embeddings: bool = True,
        muon_a: float = 3.4445,
        muon_b: float = -4.7750,
        muon_c: float = 2.0315,
        adam_lr_ratio: float = 1,
        momentum: float = 0.95,
        ns_steps: int = 5,
        nesterov: bool = True,
        rms_rate: float | None = 0.2,
        **kwargs: Any,
    ):
        super().__init__(
            learning_rate,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            use_ema=use_ema,
            ema_momentum=ema_momentum,
            ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps,
            name=name,
            **kwargs,
        )
        self.adam_beta_1 = self._number("adam_beta_1", adam_beta_1, below=1.0)
        self.adam_beta_2 = self._number("adam_beta_2", adam_beta_2, below=1.0)
        self.adam_weight_decay = (
            None
            if adam_weight_decay is None
            else self._number("adam_weight_decay", adam_weight_decay)
        )
        self.epsilon = self._number("epsilon", epsilon)
        self.exclude_layers = list(exclude_layers or [])
        self.exclude_embeddings = bool(exclude_embeddings)
        self.muon_a, self.muon_b, self.muon_c = float(muon_a), float(muon_b), float(muon_c)
        self.adam_lr_ratio = self._number("adam_lr_ratio", adam_lr_ratio)
        self.momentum = self._number("momentum", momentum, below=1.0)
        if isinstance(ns_steps, bool) or not isinstance(ns_steps, int) or ns_steps < 0:
            raise ValueError(
                f"Optimizer '{self.name}' expected ns_steps an int >= 0, received: ns_steps={ns_steps!r}"
            )
        self.ns_steps = ns_steps
        self.nesterov = bool(nesterov)
        self.rms_rate = None if rms_rate is None else self._number("rms_rate", rms_rate)

    def _make_torch(self, params: list[torch.Tensor], lr: float) -> Any:
        tag_owner_paths(self, params)  # exclude_embeddings / exclude_layers read paths
        self._flags = {}
        return MuonRule(params, lr=lr, decays=self._decays, **self._torch_hparams())

    def _decays(self, p: torch.Tensor) -> bool:
        return bool(self.decayed_params([p]))

    def _torch_hparams(self) -> dict[str, Any]:
        return {
            "adam_beta_1": self.adam_beta_1,
            "adam_beta_2": self.adam_beta_2,
            "epsilon": self.epsilon,
            "exclude_layers": self.exclude_layers,
            "muon_a": self.muon_a,
            "muon_b": self.muon_b,
            "muon_c": self.muon_c,
            "adam_lr_ratio": self.adam_lr_ratio,
            "momentum": self.momentum,
            "ns_steps": self.ns_steps,
            "nesterov": self.nesterov,
            "exclude_embeddings": self.exclude_embeddings,
            "adam_weight_decay": self.adam_weight_decay,
            "muon_weight_decay": self.weight_decay,
            "rms_rate": self.rms_rate,
        }

    def _own_config(self) -> dict[str, Any]:
        config = self._torch_hparams()
        del config["muon_weight_decay"]
        return config
