"""`Wrapper`: the base of layers that wrap another layer (`TimeDistributed`, `Bidirectional`).

The wrapped layer is a sublayer (its weights are the wrapper's), and the config holds it
as a nested entry `{"class_name": ..., "config": ...}`, as Keras 3 writes it. Its class is
found only through the registry (or `custom_objects`), like every layer loaded from a
config: nothing named in a config is imported or run.
"""

from __future__ import annotations

import inspect
from typing import Any

from lamina import registry
from lamina.layers.base import Layer


def registered_layer_name(layer: Layer) -> str:
    """The name the registry knows the layer's class by (its `__name__` when that is it)."""
    cls = type(layer)
    if registry.lookup("layer", cls.__name__) is cls:
        return cls.__name__
    for name in registry.names("layer"):
        if registry.lookup("layer", name) is cls:
            return name
    return cls.__name__


def serialize_nested(layer: Layer) -> dict[str, Any]:
    """A wrapped layer's entry in its wrapper's config."""
    return {"class_name": registered_layer_name(layer), "config": layer.get_config()}


def deserialize_nested(
    entry: Any, owner: str, custom_objects: dict[str, Any] | None = None
) -> Layer:
    """Rebuild a wrapped layer from its entry (Lamina's, or Keras 3's with its dtype policy
    and arguments Lamina has no use for left at None)."""
    if isinstance(entry, Layer):
        return entry
    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
        raise ValueError(
            f"{owner} expected a wrapped layer entry {{'class_name': ..., 'config': {{...}}}}, "
            f"received: layer={str(entry)[:200]}"
        )
    name = entry["class_name"]
    cls = (custom_objects or {}).get(name) or registry.get("layer", name)
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise TypeError(f"{owner} expected a Layer class for {name!r}, received: {cls!r}")
    config = _keras_arguments(cls, dict(entry.get("config") or {}))
    if "custom_objects" in inspect.signature(cls.from_config).parameters:
        return cls.from_config(config, custom_objects=custom_objects)
    return cls.from_config(config)


def _keras_arguments(cls: type, config: dict[str, Any]) -> dict[str, Any]:
    """Keras 3's nested configs: a DTypePolicy becomes its name, and arguments the class
    does not take are dropped when None or False (Keras's values that change nothing)."""
    dtype = config.get("dtype")
    if isinstance(dtype, dict):
        config["dtype"] = (dtype.get("config") or {}).get("name")
    params = inspect.signature(cls.__init__).parameters
    if any(p.kind == p.VAR_KEYWORD for p in params.values()) and issubclass(cls, Layer):
        params = {**inspect.signature(Layer.__init__).parameters, **params}
    return {k: v for k, v in config.items() if k in params or (v is not None and v is not False)}


class Wrapper(Layer):
    """Holds `layer` and serialises it inside its own config (Keras's `Wrapper`)."""

    def __init__(self, layer: Layer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) expected a lamina Layer to wrap, "
                f"received: layer={layer!r} (type {type(layer).__name__})"
            )
        self.layer = layer

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "layer": serialize_nested(self.layer)}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> Layer:
        config = dict(config)
        owner = f"Layer '{config.get('name', '?')}' ({cls.__name__})"
        layer = deserialize_nested(config.pop("layer", None), owner, custom_objects)
        return cls(layer, **config)
