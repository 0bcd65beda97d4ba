"""Layers inside a layer's config: an RNN's `cell`, StackedRNNCells' `cells`,
Bidirectional's `layer` and `backward_layer`.

They are written as entries `{"class_name": ..., "config": ...}` (Keras 3 adds
"module" keys) and rebuilt through the layer registry, never by importing anything
named in the config. An entry Keras 3 wrote keeps Keras's spellings inside (a dtype as
a DTypePolicy object, initializers tagged with their modules): the saving package
translates the outer layer's config only, so `_from_keras` reads those here.
"""

from __future__ import annotations

import inspect
from typing import Any

from lamina import registry
from lamina.layers.base import Layer
from lamina.layers.wrapper import serialize_nested


def serialize(layer: Layer) -> dict[str, Any]:
    """The entry of a nested layer: its registered class name and its config."""
    return serialize_nested(layer)


def deserialize(
    entry: Any,
    custom_objects: dict[str, Any] | None = None,
    owner: str = "",
    dtype: Any = None,
) -> Any:
    """The layer an entry describes (a layer object passes through). An entry without a
    dtype takes `dtype`, the owner's (Keras's entries always name theirs)."""
    if isinstance(entry, Layer):
        return entry
    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
        raise ValueError(
            f"{owner} expected a nested layer entry {{'class_name': ..., 'config': {{...}}}}, "
            f"received: {str(entry)[:200]}"
        )
    cls = _resolve(entry, custom_objects)
    config = dict(entry.get("config") or {})
    if dtype is not None and config.get("dtype") is None:
        config["dtype"] = dtype
    if _keras_written(entry, config):
        config = _from_keras(cls, config)
    if "custom_objects" in inspect.signature(cls.from_config).parameters:
        return cls.from_config(config, custom_objects=custom_objects)
    return cls.from_config(config)


def _resolve(entry: dict[str, Any], custom_objects: dict[str, Any] | None) -> type:
    names = [entry["class_name"]]
    keras_name = entry.get("registered_name")
    if isinstance(keras_name, str):
        names.append(keras_name.rsplit(">", 1)[-1])
    for name in names:
        found = (custom_objects or {}).get(name)
        if isinstance(found, type) and issubclass(found, Layer):
            return found
    for name in names[1:]:
        found = registry.lookup("layer", name)
        if found is not None:
            return found
    return registry.get("layer", names[0])  # raises with the closest valid names


def _keras_written(entry: dict[str, Any], config: dict[str, Any]) -> bool:
    return "module" in entry or any(
        isinstance(v, dict) and ("module" in v or v.get("class_name") == "DTypePolicy")
        for v in config.values()
    )


def _from_keras(cls: type, config: dict[str, Any]) -> dict[str, Any]:
    """A Keras 3 layer config as `cls`'s arguments (what saving's translation does for
    the outer layer): dtype policies as names, nested objects as plain entries without
    arguments left at None, and Keras-only arguments dropped while they are off."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict) and value.get("class_name") == "DTypePolicy":
            value = (value.get("config") or {}).get("name")
        elif isinstance(value, dict) and "module" in value and "class_name" in value:
            if value.get("class_name") == "function":
                value = value.get("config")
            elif key in ("cell", "layer", "backward_layer"):
                value = dict(value)  # a nested layer: its own deserialize reads it
            else:
                inner = {k: v for k, v in (value.get("config") or {}).items() if v is not None}
                value = {"class_name": value["class_name"], "config": inner}
        out[key] = value
    accepted = _accepted(cls)
    if accepted is not None:
        for key in [k for k in out if k not in accepted]:
            if out[key] is None or out[key] is False:
                del out[key]
    return out


def _accepted(cls: type) -> set[str] | None:
    """Keyword arguments `cls(...)` accepts (None when it takes any)."""
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters.values()
        names |= {p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
        if klass is Layer or not any(p.kind == p.VAR_KEYWORD for p in params):
            return names
    return None
