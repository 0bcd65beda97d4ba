"""The Adam family: Adam, AdamW, Adamax and Nadam, with Keras's arguments and defaults,
backed by `torch.optim`."""

from __future__ import annotations

from typing import Any

import torch

from lamina import registry
from lamina.optimizers.base import Optimizer

# Weight decay is apply_update's (decoupled, for every optimizer): torch's stays 0, also
# over param groups loaded from a checkpoint that held a rate.
_NO_TORCH_DECAY = {"weight_decay": 0.0}


class _Moments(Optimizer):
    """Shared arguments of the Adam family."""

    def _moments(self, beta_1: float, beta_2: float, epsilon: float) -> None:
        self.beta_1 = self._number("beta_1", beta_1, below=1.0)
        self.beta_2 = self._number("beta_2", beta_2, below=1.0)
        self.epsilon = self._number("epsilon", epsilon)

    def _own_config(self) -> dict[str, Any]:
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


@registry.register("optimizer", "Adam", "adam")
class Adam(_Moments):
    """Adam (Kingma & Ba, 2014).

    Keras's epsilon is "epsilon hat": `w -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)`,
    while torch adds eps after bias correction, `sqrt(v / (1 - b2^t)) + eps`. Keras's rule is
    torch's with eps / sqrt(1 - b2^t), so updates differ by about that over sqrt(v), relatively
    (3e-6 for unit gradients at step 1, shrinking with t). `weight_decay` is decoupled
    (`update.apply_update`), as for every optimizer.
    """

    _torch_class = torch.optim.Adam
    _fusable = True

    def __init__(
        self,
        learning_rate: Any = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        **kwargs: Any,
    ):
        super().__init__(learning_rate, **kwargs)
        self._moments(beta_1, beta_2, epsilon)
        self.amsgrad = bool(amsgrad)

    def _torch_hparams(self) -> dict[str, Any]:
        betas = (self.beta_1, self.beta_2)
        return {"betas": betas, "eps": self.epsilon, "amsgrad": self.amsgrad, **_NO_TORCH_DECAY}

    def _own_config(self) -> dict[str, Any]:
        return {**super()._own_config(), "amsgrad": self.amsgrad}


@registry.register("optimizer", "AdamW", "adamw")
class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): `w -= lr * weight_decay * w`
    before the Adam update, as Keras and `torch.optim.AdamW` do. Epsilon as in `Adam`."""

    def __init__(self, learning_rate: Any = 0.001, weight_decay: float = 0.004, **kwargs: Any):
        super().__init__(learning_rate, weight_decay=weight_decay, **kwargs)


@registry.register("optimizer", "Adamax", "adamax")
class Adamax(_Moments):
    """Adamax: Adam with the infinity norm. Keras keeps `u = max(b2 * u, |g|)` and divides by
    `u + epsilon`; torch keeps `u = max(b2 * u, |g| + epsilon)` and divides by `u`."""

    _torch_class = torch.optim.Adamax

    def __init__(
        self,
        learning_rate: Any = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        **kwargs: Any,
    ):
        super().__init__(learning_rate, **kwargs)
        self._moments(beta_1, beta_2, epsilon)

    def _torch_hparams(self) -> dict[str, Any]:
        return {"betas": (self.beta_1, self.beta_2), "eps": self.epsilon}


@registry.register("optimizer", "Nadam", "nadam")
class Nadam(_Moments):
    """Adam with Nesterov momentum (Dozat, 2015), with Keras 3's momentum schedule
    `mu_t = beta_1 * (1 - 0.5 * 0.96 ** t)` = torch's NAdam with momentum_decay=1 (epsilon
    after bias correction in both: the same formula). Keras 1/2 used `0.96 ** (t * 0.004)`:
    pass `schedule_decay=0.004` for it.
    """

    _torch_class = torch.optim.NAdam

    def __init__(
        self,
        learning_rate: Any = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        schedule_decay: float | None = None,
        **kwargs: Any,
    ):
        super().__init__(learning_rate, **kwargs)
        self._moments(beta_1, beta_2, epsilon)
        self.schedule_decay = (
            None if schedule_decay is None else self._number("schedule_decay", schedule_decay)
        )

    def _torch_hparams(self) -> dict[str, Any]:
        md = 1.0 if self.schedule_decay is None else self.schedule_decay
        betas = (self.beta_1, self.beta_2)
        return {"betas": betas, "eps": self.epsilon, "momentum_decay": md, **_NO_TORCH_DECAY}

    def _own_config(self) -> dict[str, Any]:
        extra = {} if self.schedule_decay is None else {"schedule_decay": self.schedule_decay}
        return {**super()._own_config(), **extra}
