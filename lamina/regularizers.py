"""Weight penalties added to the training loss: L1, L2 and both (Keras's names).

    Dense(64, kernel_regularizer=regularizers.l2(0.01))

A regularizer is called on a weight tensor and returns a scalar tensor.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import registry


class Regularizer:
    """Base class: `__call__(weight) -> scalar tensor`; `get_config()` for saving."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Regularizer:
        return cls(**config)


def _check(name: str, value: float) -> float:
    value = float(value)
    if value < 0 or value != value:
        raise ValueError(f"Expected a non-negative {name} factor, received: {name}={value}")
    return value


@registry.register("regularizer", "L1L2", "l1_l2")
class L1L2(Regularizer):
    """l1 * sum(|w|) + l2 * sum(w^2)."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1 = _check("l1", l1)
        self.l2 = _check("l2", l2)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        out = x.new_zeros(())
        if self.l1:
            out = out + self.l1 * x.abs().sum()
        if self.l2:
            out = out + self.l2 * x.square().sum()
        return out

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1, "l2": self.l2}


@registry.register("regularizer", "L1", "l1")
class L1(L1L2):
    """l1 * sum(|w|); Keras's default factor is 0.01."""

    def __init__(self, l1: float = 0.01):
        super().__init__(l1=l1)

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1}


@registry.register("regularizer", "L2", "l2")
class L2(L1L2):
    """l2 * sum(w^2); Keras's default factor is 0.01."""

    def __init__(self, l2: float = 0.01):
        super().__init__(l2=l2)

    def get_config(self) -> dict[str, Any]:
        return {"l2": self.l2}


l1 = L1
l2 = L2
l1_l2 = L1L2


def get(identifier: Any) -> Any:
    """Resolve None, a name, a {'class_name', 'config'} dict, or a callable."""
    if identifier is None or callable(identifier):
        return identifier
    if isinstance(identifier, str):
        return registry.get("regularizer", identifier)()
    if isinstance(identifier, dict):
        cls = registry.get("regularizer", identifier["class_name"])
        return cls.from_config(identifier.get("config", {}))
    raise TypeError(
        f"Expected a regularizer name or callable, received: regularizer={identifier!r}"
    )


def serialize(reg: Any) -> Any:
    if reg is None:
        return None
    if isinstance(reg, Regularizer):
        return {"class_name": type(reg).__name__, "config": reg.get_config()}
    return getattr(reg, "__name__", repr(reg))
