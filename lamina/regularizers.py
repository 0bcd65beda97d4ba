"""Weight penalties added to the training loss: L1, L2, both, and orthogonality (Keras's names).

    Dense(64, kernel_regularizer=regularizers.l2(0.01))

A regularizer is called on a weight tensor and returns a scalar tensor.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

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
    """A finite float >= 0 (Keras rejects negative, NaN and infinite factors)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value < 0:
        raise ValueError(f"Expected a non-negative {name} factor, received: {name}={value!r}")
    return float(value)


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


@registry.register("regularizer", "OrthogonalRegularizer", "orthogonal_regularizer")
class OrthogonalRegularizer(Regularizer):
    """Pushes the rows (`mode="rows"`) or columns (`"columns"`) of a 2-D weight toward
    orthogonality: `factor * 0.5 * sum|off-diagonal cosines| / (n * (n - 1) / 2)` over
    the L2-normalised vectors (Keras's layout: a Dense kernel is (inputs, units))."""

    def __init__(self, factor: float = 0.01, mode: str = "rows"):
        self.factor = _check("factor", factor)
        if mode not in ("rows", "columns"):
            raise ValueError(
                f"OrthogonalRegularizer expected mode in {{'rows', 'columns'}}, received: mode={mode!r}"
            )
        self.mode = mode

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2:
            raise ValueError(
                f"OrthogonalRegularizer expected a rank-2 weight, received: shape={tuple(x.shape)}"
            )
        vectors = F.normalize(x if self.mode == "rows" else x.T, dim=1)
        product = vectors @ vectors.T
        size = product.shape[0]
        off_diagonal = product * (1.0 - torch.eye(size, dtype=x.dtype, device=x.device))
        pairs = size * (size - 1.0) / 2.0
        return self.factor * 0.5 * off_diagonal.abs().sum() / pairs

    def get_config(self) -> dict[str, Any]:
        return {"factor": self.factor, "mode": self.mode}


l1 = L1
l2 = L2
l1_l2 = L1L2
orthogonal_regularizer = OrthogonalRegularizer


def deserialize(config: Any) -> Any:
    """A regularizer from `serialize`'s output: a {'class_name', 'config'} dict or a name."""
    if isinstance(config, str):
        return registry.get("regularizer", config)()
    if isinstance(config, dict) and "class_name" in config:
        cls = registry.get("regularizer", config["class_name"])
        return cls.from_config(config.get("config") or {})
    raise ValueError(f"Expected a regularizer config dict or name, received: config={config!r}")


def get(identifier: Any) -> Any:
    """Resolve None, a name, a {'class_name', 'config'} dict, a Regularizer class, or a callable."""
    if identifier is None:
        return None
    if isinstance(identifier, type) and issubclass(identifier, Regularizer):
        return identifier()
    if callable(identifier):
        return identifier
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    raise ValueError(
        f"Expected a regularizer name, config or callable, received: regularizer={identifier!r}"
    )


def serialize(reg: Any) -> Any:
    if reg is None:
        return None
    if isinstance(reg, Regularizer):
        return {"class_name": type(reg).__name__, "config": reg.get_config()}
    return getattr(reg, "__name__", repr(reg))
