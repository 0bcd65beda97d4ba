"""Keras 3's `OptimizerMap`: which optimizer updates which variable, by variable path.

    m = OptimizerMap(default_optimizer=optimizers.SGD())
    m["encoder/.*"] = optimizers.Adam()         # a regular expression over whole paths
    m[variable]                                  # via variable.path (variable_paths.py)

An exact key wins; otherwise the keys are patterns that must `re.fullmatch` the path
(two matches are an error); no match gives the default optimizer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, MutableMapping
from typing import Any

from lamina import registry
from lamina.optimizers.base import Optimizer
from lamina.optimizers.serialization import deserialize, serialize
from lamina.optimizers.variable_paths import path_of
from lamina.optimizers.wrapper import WrapperOptimizer


def check_member(optimizer: Any, where: str) -> None:
    """Only plain optimizers may sit inside a map or a MultiOptimizer (as in Keras)."""
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"{where} expected a Lamina Optimizer, received: optimizer={optimizer!r}")
    if isinstance(optimizer, WrapperOptimizer):
        raise ValueError(
            f"{where} expected a plain optimizer, received: a {type(optimizer).__name__} "
            "(it cannot sit inside a MultiOptimizer)"
        )


@registry.register("optimizer_map", "OptimizerMap")
class OptimizerMap(MutableMapping):
    """A mapping from variable paths (or path patterns) to optimizers, with a default."""

    def __init__(self, default_optimizer: Optimizer, optimizer_map: dict[str, Any] | None = None):
        if not isinstance(default_optimizer, Optimizer):
            raise TypeError(
                f"OptimizerMap expected a Lamina Optimizer as default_optimizer, received: "
                f"default_optimizer={default_optimizer!r}"
            )
        if optimizer_map is not None and not isinstance(optimizer_map, dict):
            raise TypeError(
                f"OptimizerMap expected a dict optimizer_map, received: optimizer_map={optimizer_map!r}"
            )
        self._default_optimizer = default_optimizer
        self._optimizer_map: dict[str, Optimizer] = dict(optimizer_map or {})

    @property
    def default_optimizer(self) -> Optimizer:
        return self._default_optimizer

    def __getitem__(self, key: str) -> Optimizer:
        if key in self._optimizer_map:
            return self._optimizer_map[key]
        found = [k for k in self._optimizer_map if re.fullmatch(k, key)]
        if len(found) > 1:
            raise ValueError(
                f"OptimizerMap expected at most one pattern matching a variable, received: "
                f"{found} all matching {key!r}"
            )
        return self._optimizer_map[found[0]] if found else self._default_optimizer

    def __setitem__(self, key: str, optimizer: Optimizer) -> None:
        if key in self._optimizer_map:
            raise ValueError(
                f"OptimizerMap expected a new key, received: {key!r}, already mapped to "
                f"{self._optimizer_map[key]!r}"
            )
        if not isinstance(key, str):
            raise ValueError(f"OptimizerMap expected a string key, received: key={key!r}")
        check_member(optimizer, "OptimizerMap")
        self._optimizer_map[key] = optimizer

    def __delitem__(self, key: str) -> None:
        del self._optimizer_map[key]

    def __len__(self) -> int:
        return len(self._optimizer_map)

    def __iter__(self) -> Iterator[str]:
        return iter(self._optimizer_map)

    def __call__(self, variable: Any) -> Optimizer:
        """The optimizer of `variable`, looked up by its path."""
        path = path_of(variable)
        if not path and self._optimizer_map:
            raise ValueError(
                f"OptimizerMap expected variables with a Keras path, received: a weight of shape "
                f"{tuple(getattr(variable, 'shape', ()))} without one. Call "
                "lamina.optimizers.tag_paths(model) once the model is built."
            )
        return self[path]

    def get_config(self) -> dict[str, Any]:
        return {
            "default_optimizer": serialize(self._default_optimizer),
            "optimizer_map": {k: serialize(v) for k, v in self._optimizer_map.items()},
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> OptimizerMap:
        default = config["default_optimizer"]
        default = deserialize(default) if isinstance(default, dict) else default
        mapped = {
            k: deserialize(v) if isinstance(v, dict) else v
            for k, v in (config.get("optimizer_map") or {}).items()
        }
        return cls(default, mapped)
