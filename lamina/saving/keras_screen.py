"""Screening a Keras config for code before anything in it is built.

The Keras-format CVEs (CVE-2025-1550, -9905, -9906) all come from a config naming code:
a Lambda's marshalled bytecode, a `{"module": "os", "class_name": "function", "config":
"system"}` entry, or a class from a module of the attacker's choosing. Lamina imports
nothing by name, so such an entry could only fail later; `screen` refuses it up front
with an `UnsafeFileError` naming the layer and the object, so no partial model is built
and the user learns what the file asked for.
"""

from __future__ import annotations

from typing import Any

from lamina import registry
from lamina.saving.errors import UnsafeFileError
from lamina.saving.keras_lambda import find_function

_KINDS = (
    "layer",
    "initializer",
    "regularizer",
    "constraint",
    "optimizer",
    "loss",
    "metric",
    "activation",
    "loss_function",
    "schedule",
)
# Keras's own markers and wrappers: data, not code.
_MARKERS = {"__keras_tensor__", "__tuple__", "__bytes__", "__numpy__", "__typespec__"}
_KERAS_WRAPPERS = {"DTypePolicy", "FloatDTypePolicy", "Functional", "Sequential", "Model"}


def known(name: str, custom_objects: dict[str, Any] | None) -> bool:
    """True when `name` (or Keras's "package>name") resolves without importing anything."""
    if name in (custom_objects or {}):
        return True
    short = name.rsplit(">", 1)[-1]
    return any(
        registry.lookup(kind, name) is not None or registry.lookup(kind, short) is not None
        for kind in _KINDS
    )


def screen(config: Any, custom_objects: dict[str, Any] | None, source: str) -> None:
    """Refuse bytecode, module functions and non-Keras classes nothing registered names."""

    def visit(value: Any, layer: str) -> None:
        if isinstance(value, list):
            for item in value:
                visit(item, layer)
            return
        if not isinstance(value, dict):
            return
        name = value.get("class_name")
        inner = value.get("config")
        if isinstance(inner, dict) and isinstance(inner.get("name"), str) and "trainable" in inner:
            layer = inner["name"]  # a layer's config (a dtype policy's has no "trainable")
        if isinstance(name, str):
            _check(value, name, inner, layer)
        for key, item in value.items():
            if key != "config" or not (name == "Lambda" and isinstance(item, dict)):
                visit(item, layer)
            else:  # a Lambda's function was checked above; its other arguments are data
                visit({k: v for k, v in item.items() if k != "function"}, layer)

    def _check(value: dict[str, Any], name: str, inner: Any, layer: str) -> None:
        module = value.get("module")
        if name == "__lambda__":
            find_function(layer, value, custom_objects, source)
        elif name == "Lambda" and isinstance(inner, dict):
            find_function(layer, inner.get("function"), custom_objects, source)
        elif name == "function":
            if not isinstance(inner, str) or not known(inner, custom_objects):
                raise UnsafeFileError(
                    f"Layer '{layer}' in {source} names the function {module}.{inner}: expected "
                    "a function Lamina registers or one passed in custom_objects, received: "
                    "an unknown one (nothing was imported or run)"
                )
        elif name in _MARKERS or name in _KERAS_WRAPPERS:
            return
        elif isinstance(module, str) and not module.startswith("keras"):
            registered = value.get("registered_name")
            if not known(name, custom_objects) and not (
                isinstance(registered, str) and known(registered, custom_objects)
            ):
                raise UnsafeFileError(
                    f"Layer '{layer}' in {source} names the class {module}.{name}: expected a "
                    "class Lamina registers or one passed in custom_objects, received: an "
                    "unknown one (nothing was imported or run)"
                )

    visit(config, "?")
