"""Layer and model configs as JSON: entries, `to_json`, `model_from_json`.

A layer entry is `{"class_name": ..., "config": ...}`. Its class is found only through
`lamina.registry` (or a `custom_objects` dict the caller passes), so loading a config
never imports a module or runs code named in it. Entries that Keras 3 wrote carry a
"module" key; `keras_config.translate` maps their arguments to Lamina's.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

from lamina import registry
from lamina.layers.base import Layer
from lamina.saving.keras_config import translate


def registered_name(layer: Layer) -> str:
    """The registry name of the layer's class (its `__name__` when that is the name)."""
    cls = type(layer)
    try:
        if registry.get("layer", cls.__name__) is cls:
            return cls.__name__
    except ValueError:
        pass
    for name in registry.names("layer"):
        if registry.get("layer", name) is cls:
            return name
    return cls.__name__  # unregistered: reading it back names the class and the fix


def serialize_layer(layer: Layer) -> dict[str, Any]:
    return {"class_name": registered_name(layer), "config": layer.get_config()}


def resolve_class(entry: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> type:
    """The layer class an entry names: `custom_objects` first, then the registry."""
    name = entry["class_name"]
    if not isinstance(name, str):
        raise ValueError(f"Expected a class name string, received: class_name={name!r}")
    candidates = [name]
    keras_name = entry.get("registered_name")  # Keras: "package>Name" for custom classes
    if isinstance(keras_name, str):
        candidates.append(keras_name.rsplit(">", 1)[-1])
    for candidate in candidates:
        found = (custom_objects or {}).get(candidate)
        if found is not None:
            if not (isinstance(found, type) and issubclass(found, Layer)):
                raise TypeError(
                    f"Expected custom_objects[{candidate!r}] to be a Layer or Model class, "
                    f"received: {found!r}"
                )
            return found
    try:
        return registry.get("layer", name)
    except ValueError as err:
        for candidate in candidates[1:]:
            try:
                return registry.get("layer", candidate)
            except ValueError:
                pass
        raise ValueError(
            f"{err} A custom layer or model must be registered to load from a config: "
            f"@lamina.registry.register('layer', {name!r}) on its class (or pass "
            f"custom_objects={{{name!r}: TheClass}})."
        ) from None


def deserialize_layer(entry: Any, custom_objects: dict[str, Any] | None = None) -> Layer:
    """Build the layer (or model) an entry describes, through its class's `from_config`."""
    if not isinstance(entry, dict) or "class_name" not in entry:
        raise ValueError(
            "Expected a layer entry {'class_name': ..., 'config': {...}}, "
            f"received: {str(entry)[:200]}"
        )
    cls = resolve_class(entry, custom_objects)
    config = dict(entry.get("config") or {})
    if "module" in entry:  # written by Keras 3
        config = translate(cls, config)
    if "custom_objects" in inspect.signature(cls.from_config).parameters:
        return cls.from_config(config, custom_objects=custom_objects)
    return cls.from_config(config)


def model_from_json(json_string: str, custom_objects: dict[str, Any] | None = None) -> Any:
    """A model from `model.to_json()` (Lamina's or Keras 3's), with new weights.

    Classes come only from the registry (or `custom_objects`): no code in the JSON runs.
    """
    return deserialize_layer(json.loads(json_string), custom_objects)
