"""SGD with Keras's arguments and defaults, backed by `torch.optim.SGD`."""

from __future__ import annotations

from typing import Any

import torch

from lamina import registry
from lamina.optimizers.base import Optimizer
from lamina.optimizers.keras_momentum import KerasMomentum


@registry.register("optimizer", "SGD", "sgd")
class SGD(KerasMomentum, Optimizer):
    """Gradient descent with optional (Nesterov) momentum.

    Keras keeps `v = momentum * v - lr * g; w += v`, torch `b = momentum * b + g;
    w -= lr * b`: identical while the learning rate is constant (v = -lr * b); when it
    changes the buffers are rescaled (`keras_momentum`), so the update stays Keras's.
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

    def _complete_state(self, params: list[torch.Tensor]) -> None:
        """Zero momentum (Keras's initial velocity) for parameters new to a rebuilt optimizer
        (a layer unfrozen and compiled again with the same SGD): torch's SGD steps fail
        when some buffers exist and others not."""
        state = self._torch.state
        if not self.momentum or not any("momentum_buffer" in state[p] for p in params):
            return
        for p in params:
            if state[p].get("momentum_buffer") is None:
                state[p]["momentum_buffer"] = torch.zeros_like(
                    p, memory_format=torch.preserve_format
                )
