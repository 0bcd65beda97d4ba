"""`get`, `serialize` and `deserialize`: optimizers from names, configs and torch.optim."""

from __future__ import annotations

from typing import Any

import torch

from lamina import registry
from lamina.optimizers.base import Optimizer
from lamina.optimizers.torch_optimizer import TorchOptimizer


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """`{'class_name': ..., 'config': ...}`, as Keras saves optimizers."""
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config: dict[str, Any]) -> Optimizer:
    return registry.get("optimizer", config["class_name"]).from_config(config.get("config", {}))


def get(identifier: Any) -> Optimizer:
    """Resolve a name ('adam'), an Optimizer, a `{'class_name', 'config'}` dict, or a
    `torch.optim` optimizer instance or class (wrapped in `TorchOptimizer`)."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, torch.optim.Optimizer) or (
        isinstance(identifier, type) and issubclass(identifier, torch.optim.Optimizer)
    ):
        return TorchOptimizer(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    if isinstance(identifier, str):
        return registry.get("optimizer", identifier)()
    if isinstance(identifier, dict) and "class_name" in identifier:
        return deserialize(identifier)
    raise TypeError(
        f"Expected an optimizer name, Optimizer, config dict or torch.optim optimizer, "
        f"received: optimizer={identifier!r}"
    )
