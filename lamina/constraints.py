"""Weight constraints with Keras's names: projections applied after each optimizer step.

    Dense(64, kernel_constraint="max_norm")
    Conv2D(32, 3, kernel_constraint=constraints.MaxNorm(3, axis=[0, 1, 2]))

A constraint is called on a weight in Keras's layout (a Dense kernel is (in, out),
a Conv2D kernel (kh, kw, in, out)) and returns the projected weight, so `axis`
means what it means in Keras; layers convert from and to PyTorch's layout.
"""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Sequence
from typing import Any

import torch

from lamina import registry
from lamina.config import epsilon

Axis = int | list[int] | None


@registry.register("constraint", "Constraint", "constraint")
class Constraint:
    """Base class: `__call__(weight) -> projected weight` (the identity); `get_config()`."""

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        return w

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Constraint:
        return cls(**config)


def _bound(name: str, value: Any) -> int | float:
    """A non-negative real number, kept an int when given one (Keras's configs do)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise ValueError(f"Expected a non-negative number, received: {name}={value!r}")
    return int(value) if isinstance(value, numbers.Integral) else float(value)


def _axis(axis: Any) -> Axis:
    """None, an int, or a list of ints (a tuple becomes a list, as JSON would)."""
    if axis is None or (isinstance(axis, numbers.Integral) and not isinstance(axis, bool)):
        return None if axis is None else int(axis)
    if isinstance(axis, Sequence) and not isinstance(axis, str):
        if all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axis):
            return [int(a) for a in axis]
    raise ValueError(f"Expected an int or a list of ints, received: axis={axis!r}")


def _norms(w: torch.Tensor, axis: Axis) -> torch.Tensor:
    """L2 norms over `axis`, kept as size-1 dims so they broadcast against `w`."""
    return w.square().sum(dim=axis, keepdim=True).sqrt()


@registry.register("constraint", "MaxNorm", "max_norm")
class MaxNorm(Constraint):
    """Rescales each slice along `axis` to an L2 norm of at most `max_value`.

    `w * clip(norm, 0, max_value) / (epsilon + norm)`, norms over `axis`: 0 for a
    Dense kernel's columns, [0, 1, 2] for whole Conv2D filters.
    """

    def __init__(self, max_value: float = 2, axis: Axis = 0):
        self.max_value = _bound("max_value", max_value)
        self.axis = _axis(axis)

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        norms = _norms(w, self.axis)
        return w * (norms.clamp(0, self.max_value) / (epsilon() + norms))

    def get_config(self) -> dict[str, Any]:
        return {"max_value": self.max_value, "axis": self.axis}


@registry.register("constraint", "NonNeg", "non_neg")
class NonNeg(Constraint):
    """Sets negative weights to zero: `maximum(w, 0)`."""

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        return w.clamp_min(0)


@registry.register("constraint", "UnitNorm", "unit_norm")
class UnitNorm(Constraint):
    """Rescales each slice along `axis` to unit L2 norm: `w / (epsilon + norm)`."""

    def __init__(self, axis: Axis = 0):
        self.axis = _axis(axis)

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        return w / (epsilon() + _norms(w, self.axis))

    def get_config(self) -> dict[str, Any]:
        return {"axis": self.axis}


@registry.register("constraint", "MinMaxNorm", "min_max_norm")
class MinMaxNorm(Constraint):
    """Moves each slice's L2 norm into [min_value, max_value] at `rate` (1.0: at once).

    The target norm is `rate * clip(norm, min_value, max_value) + (1 - rate) * norm`.
    """

    def __init__(
        self,
        min_value: float = 0.0,
        max_value: float = 1.0,
        rate: float = 1.0,
        axis: Axis = 0,
    ):
        self.min_value = _bound("min_value", min_value)
        self.max_value = _bound("max_value", max_value)
        if self.min_value > self.max_value:
            raise ValueError(
                f"Expected min_value <= max_value, received: min_value={min_value!r}, "
                f"max_value={max_value!r}"
            )
        self.rate = _bound("rate", rate)
        self.axis = _axis(axis)

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        norms = _norms(w, self.axis)
        desired = self.rate * norms.clamp(self.min_value, self.max_value) + (1 - self.rate) * norms
        return w * (desired / (epsilon() + norms))

    def get_config(self) -> dict[str, Any]:
        return {
            "min_value": self.min_value,
            "max_value": self.max_value,
            "rate": self.rate,
            "axis": self.axis,
        }


max_norm = MaxNorm
non_neg = NonNeg
unit_norm = UnitNorm
min_max_norm = MinMaxNorm


def deserialize(config: Any) -> Any:
    """Rebuild a constraint from a name or a {'class_name', 'config'} dict (Keras's too)."""
    if isinstance(config, str):
        return registry.get("constraint", config)()
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise ValueError(
            f"Expected a name or a {{'class_name': ..., 'config': ...}} dict, "
            f"received: constraint={config!r}"
        )
    cls = registry.get("constraint", config["class_name"])
    return cls.from_config(config.get("config") or {})


def get(identifier: Any) -> Any:
    """Resolve None, a name, a config dict, a class, an instance or any callable."""
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if inspect.isclass(identifier):
        return identifier()
    if callable(identifier):
        return identifier
    raise TypeError(
        f"Expected a constraint name, config dict or callable, received: constraint={identifier!r}"
    )


def serialize(constraint: Any) -> Any:
    """JSON-able form: names and dicts as given, a Constraint as {'class_name', 'config'}."""
    if constraint is None or isinstance(constraint, (str, dict)):
        return constraint
    if isinstance(constraint, Constraint):
        return {"class_name": type(constraint).__name__, "config": constraint.get_config()}
    return getattr(constraint, "__name__", repr(constraint))


def check_axis(constraint: Any, shape: Sequence[int], weight: str) -> None:
    """Raise if a norm constraint's `axis` is not an axis of a weight of Keras shape `shape`."""
    axis = getattr(constraint, "axis", None) if isinstance(constraint, Constraint) else None
    if axis is None:
        return
    ndim = len(shape)
    if any(not -ndim <= a < ndim for a in (axis if isinstance(axis, list) else [axis])):
        raise ValueError(
            f"Expected {type(constraint).__name__} axis within the {ndim} axes of weight "
            f"'{weight}' (Keras shape {tuple(shape)}), received: axis={axis!r}"
        )
