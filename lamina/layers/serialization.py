"""`serialize(layer)` / `deserialize(entry)`: a layer to and from its JSON-able entry.

An entry is `{"class_name": ..., "config": {...}}`. `deserialize` finds the class only
through `custom_objects` and Lamina's registry (no module is imported, nothing is
unpickled) and also reads the entries Keras 3's `keras.layers.serialize` writes (with
their "module" key and DTypePolicy dtype).

    entry = serialize(Dense(3))
    layer = deserialize(entry)
"""

from __future__ import annotations

from typing import Any

from lamina.layers.base import Layer
from lamina.layers.wrapper import deserialize_nested, serialize_nested


def serialize(layer: Layer) -> dict[str, Any]:
    """The layer's entry: its registered class name and its config."""
    if not isinstance(layer, Layer):
        raise TypeError(
            f"Expected a lamina Layer to serialize, received: layer={layer!r} "
            f"(type {type(layer).__name__})"
        )
    return serialize_nested(layer)


def deserialize(config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Layer:
    """The layer an entry describes (its class from `custom_objects` or the registry)."""
    if not isinstance(config, dict):
        raise ValueError(
            "Expected a layer entry {'class_name': ..., 'config': {...}}, received: "
            f"config={str(config)[:200]}"
        )
    layer = deserialize_nested(config, "layers.deserialize", custom_objects)
    if not isinstance(layer, Layer):
        raise ValueError(f"Expected an entry of a Layer, received: config={str(config)[:200]}")
    return layer
