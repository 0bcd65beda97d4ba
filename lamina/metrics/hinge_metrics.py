"""Hinge metrics: running means of the hinge losses' per-sample values (Keras's
Hinge, SquaredHinge and CategoricalHinge metrics)."""

from __future__ import annotations

from typing import Any

from lamina import losses
from lamina.metrics.base import MeanMetricWrapper, _register


@_register("Hinge", "hinge")
class Hinge(MeanMetricWrapper):
    """The mean hinge loss max(1 - t p, 0) of -1/+1 (or 0/1) targets."""

    def __init__(self, name: str = "hinge", dtype: Any = None):
        super().__init__(losses.hinge, name=name, dtype=dtype)


@_register("SquaredHinge", "squared_hinge")
class SquaredHinge(MeanMetricWrapper):
    """The mean squared hinge loss max(1 - t p, 0)**2."""

    def __init__(self, name: str = "squared_hinge", dtype: Any = None):
        super().__init__(losses.squared_hinge, name=name, dtype=dtype)


@_register("CategoricalHinge", "categorical_hinge")
class CategoricalHinge(MeanMetricWrapper):
    """The mean categorical hinge loss of one-hot targets."""

    def __init__(self, name: str = "categorical_hinge", dtype: Any = None):
        super().__init__(losses.categorical_hinge, name=name, dtype=dtype)
