"""Resolve a loss argument (name, instance, config dict, class or function) to a Loss,
and describe a Loss as a {'class_name', 'config'} dict that resolves back to it."""

from __future__ import annotations

from typing import Any

from lamina import registry
from lamina.losses.base import Loss, LossFunctionWrapper


def get(identifier: Any) -> Loss | None:
    """Resolve a name, a Loss, a {'class_name', 'config'} dict or a function to a Loss."""
    if identifier is None or isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        return registry.get("loss", identifier)()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        return LossFunctionWrapper(identifier, name=getattr(identifier, "__name__", None))
    raise TypeError(
        "Expected a loss name, a Loss, a config dict or a function, received: "
        f"loss={identifier!r} (type {type(identifier).__name__})"
    )


def serialize(loss: Loss) -> dict[str, Any]:
    """{'class_name', 'config'} that `get` and `deserialize` turn back into an equal loss."""
    return {"class_name": type(loss).__name__, "config": loss.get_config()}


def deserialize(config: dict[str, Any] | str, custom_objects: dict[str, Any] | None = None) -> Loss:
    """A Loss from `serialize`'s dict (or a registered name); `custom_objects` maps
    class names of user-defined losses to their classes, as in Keras."""
    if isinstance(config, str):
        config = {"class_name": config, "config": {}}
    if not isinstance(config, dict) or "class_name" not in config:
        raise TypeError(
            "Expected a loss config {'class_name': ..., 'config': ...} or a loss name, "
            f"received: config={config!r}"
        )
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or registry.get("loss", name)
    return cls.from_config(dict(config.get("config") or {}))
