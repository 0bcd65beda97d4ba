"""SGD with Keras's arguments and defaults, backed by `torch.optim.SGD`."""

from __future__ import annotations

from typing import Any

import torch

from lamina import registry
from lamina.optimizers.base import Optimizer


@registry.register("optimizer", "SGD", "sgd")
class SGD(Optimizer):
    """Gradient descent with optional (Nesterov) momentum.

    Keras keeps `v = momentum * v - lr * g; w += v`, torch `b = momentum * b + g;
    w -= lr * b`: identical while the learning rate is constant (v = -lr * b).
    """

    _torch_class = torch.optim.SGD
    _fusable = True

    def __init__(
        self,
        learning_rate: Any = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        **kwargs: Any,
    ):
        super().__init__(learning_rate, **kwargs)
        self.momentum = self._number("momentum", momentum, below=1.0)
        self.nesterov = bool(nesterov)

    def _torch_hparams(self) -> dict[str, Any]:
        return {"momentum": self.momentum, "nesterov": self.nesterov}

    _own_config = _torch_hparams
