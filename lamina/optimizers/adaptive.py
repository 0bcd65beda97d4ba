"""Per-parameter adaptive rates: RMSprop, Adadelta and Adagrad, with Keras's arguments
and defaults, backed by `torch.optim`."""

from __future__ import annotations

from typing import Any

import torch

from lamina import registry
from lamina.optimizers.base import Optimizer
from lamina.optimizers.flat_rmsprop import FlatRMSprop
from lamina.optimizers.keras_momentum import KerasMomentum


@registry.register("optimizer", "RMSprop", "rmsprop")
class RMSprop(KerasMomentum, Optimizer):
    """RMSprop (Hinton, 2012): divide the gradient by a running RMS of past gradients.

    Keras divides by `sqrt(v + epsilon)`, torch by `sqrt(v) + epsilon` (relative difference
    about epsilon / sqrt(v)). With momentum Keras accumulates `lr * g / rms`, torch `g / rms`
    scaled by lr afterwards: identical for a constant learning rate, and kept identical
    when it changes by rescaling the buffers (`keras_momentum`).
    """

    _torch_class = torch.optim.RMSprop

    def __init__(
        self,
        learning_rate: Any = 0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
        **kwargs: Any,
    ):
        super().__init__(learning_rate, **kwargs)
        self.rho = self._number("rho", rho, below=1.0)
        self.momentum = self._number("momentum", momentum, below=1.0)
        self.epsilon = self._number("epsilon", epsilon)
        self.centered = bool(centered)
        self._flat: FlatRMSprop | None = None  # the eager update's flat layout, made on use

    def _torch_step(self, params: list[torch.Tensor], grads: list[torch.Tensor], lr: Any) -> None:
        """The eager rule: over one flat buffer when it applies (`flat_rmsprop.py`),
        else torch.optim's step."""
        flat = self._flat
        if flat is not None and not flat.holds(params):
            flat = self._flat = None
        if flat is None and not self._state_bound:  # a compiled step's tensors stay put
            FlatRMSprop.create_state(self, params)
            flat = self._flat = FlatRMSprop.make(self, params, grads)
        if flat is None:
            self._torch.step()
        else:
            flat.step(grads, lr)

    def _torch_hparams(self) -> dict[str, Any]:
        return {
            "alpha": self.rho,
            "eps": self.epsilon,
            "momentum": self.momentum,
            "centered": self.centered,
        }

    def _own_config(self) -> dict[str, Any]:
        return {
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }


@registry.register("optimizer", "Adadelta", "adadelta")
class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012): the same formula in Keras and torch.
    learning_rate=1.0 gives the paper's form."""

    _torch_class = torch.optim.Adadelta

    def __init__(
        self, learning_rate: Any = 0.001, rho: float = 0.95, epsilon: float = 1e-7, **kwargs: Any
    ):
        super().__init__(learning_rate, **kwargs)
        self.rho = self._number("rho", rho, below=1.0)
        self.epsilon = self._number("epsilon", epsilon)

    def _torch_hparams(self) -> dict[str, Any]:
        return {"rho": self.rho, "eps": self.epsilon}

    def _own_config(self) -> dict[str, Any]:
        return {"rho": self.rho, "epsilon": self.epsilon}


@registry.register("optimizer", "Adagrad", "adagrad")
class Adagrad(Optimizer):
    """Adagrad: per-parameter rates that shrink with the sum of squared gradients.
    Keras divides by `sqrt(acc + epsilon)`, torch by `sqrt(acc) + epsilon`."""

    _torch_class = torch.optim.Adagrad
    _fusable = True

    def __init__(
        self,
        learning_rate: Any = 0.001,
        initial_accumulator_value: float = 0.1,
        epsilon: float = 1e-7,
        **kwargs: Any,
    ):
        super().__init__(learning_rate, **kwargs)
        self.initial_accumulator_value = self._number(
            "initial_accumulator_value", initial_accumulator_value
        )
        self.epsilon = self._number("epsilon", epsilon)

    def _torch_hparams(self) -> dict[str, Any]:
        return {"initial_accumulator_value": self.initial_accumulator_value, "eps": self.epsilon}

    def _own_config(self) -> dict[str, Any]:
        return {
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
        }
