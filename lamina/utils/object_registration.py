"""Keras's custom-object registry on Lamina's: `register_keras_serializable`,
`get_custom_objects`, `CustomObjectScope`, `get_registered_name`, `get_registered_object`.

Loading resolves class names through `lamina.registry`, by kind (layer, loss, ...).
Every object put in Keras's global dict (`get_custom_objects()[name] = obj`, or the
decorator) or in a scope is therefore also registered under each kind it belongs to,
found from its base classes, so configs naming it load.

    @register_keras_serializable(package="my_project")
    class Scale(lamina.layers.Layer): ...
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from lamina import constraints, initializers, registry, regularizers
from lamina.layers.base import Layer

# The kinds a registered object may belong to, in the order names are looked up.
KINDS = (
    "layer",
    "loss",
    "metric",
    "optimizer",
    "schedule",
    "initializer",
    "regularizer",
    "constraint",
    "activation",
    "loss_function",
    "callback",
    "custom_object",
)
# Packages above keras.utils, recognised by the module of a base class.
_PACKAGE_KINDS = {
    "lamina.losses": "loss",
    "lamina.metrics": "metric",
    "lamina.optimizers.schedules": "schedule",
    "lamina.optimizers": "optimizer",
    "lamina.callbacks": "callback",
}


def kinds_of(obj: Any) -> tuple[str, ...]:
    """The registry kinds `obj` is loaded as: from its base classes, or a function's kinds."""
    if not isinstance(obj, type):
        return ("activation", "loss_function", "custom_object")
    kinds = [
        kind
        for base, kind in (
            (Layer, "layer"),
            (initializers.Initializer, "initializer"),
            (regularizers.Regularizer, "regularizer"),
            (constraints.Constraint, "constraint"),
        )
        if issubclass(obj, base)
    ]
    for cls in obj.__mro__:
        for package, kind in _PACKAGE_KINDS.items():
            if (cls.__module__ + ".").startswith(package + ".") and kind not in kinds:
                kinds.append(kind)
                break
    return (*kinds, "custom_object")


def _register(name: str, obj: Any) -> list[tuple[str, Any]]:
    """Register `obj` as `name` under its kinds; return (kind, replaced object) pairs."""
    done = []
    for kind in kinds_of(obj):
        done.append((kind, registry.lookup(kind, name)))
        registry.register(kind, name)(obj)
    return done


def _unregister(name: str, obj: Any, replaced: list[tuple[str, Any]] | None = None) -> None:
    for kind, previous in replaced or [(kind, None) for kind in kinds_of(obj)]:
        registry.unregister(kind, name, obj)
        if previous is not None:
            registry.register(kind, name)(previous)


class _CustomObjects(dict):
    """Keras's global custom-object dict; writes also register in Lamina's registry."""

    def __setitem__(self, name: str, obj: Any) -> None:
        if not isinstance(name, str):
            raise TypeError(f"Expected a string name, received: name={name!r}")
        if name in self:
            _unregister(name, self[name])
        super().__setitem__(name, obj)
        _register(name, obj)

    def __delitem__(self, name: str) -> None:
        _unregister(name, self[name])
        super().__delitem__(name)

    def pop(self, name: str, *default: Any) -> Any:
        if name in self:
            _unregister(name, self[name])
        return super().pop(name, *default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for name, obj in dict(*args, **kwargs).items():
            self[name] = obj

    def clear(self) -> None:
        for name in list(self):
            del self[name]


GLOBAL_CUSTOM_OBJECTS = _CustomObjects()
GLOBAL_CUSTOM_NAMES: dict[Any, str] = {}
_SCOPES: list[dict[str, Any]] = []


def get_custom_objects() -> dict[str, Any]:
    """The global name -> object dict; entries added to it load by name everywhere."""
    return GLOBAL_CUSTOM_OBJECTS


class CustomObjectScope:
    """Make `custom_objects` (name -> class or function) loadable inside a `with` block.

    As in Keras, an inner scope replaces the outer one's names for its duration.
    """

    def __init__(self, custom_objects: Mapping[str, Any] | None):
        self.custom_objects = dict(custom_objects or {})
        self._done: list[tuple[str, Any, list[tuple[str, Any]]]] = []

    def __enter__(self) -> CustomObjectScope:
        for name, obj in self.custom_objects.items():
            if not isinstance(name, str):
                raise TypeError(f"Expected string keys in custom_objects, received: {name!r}")
            self._done.append((name, obj, _register(name, obj)))
        _SCOPES.append(self.custom_objects)
        return self

    def __exit__(self, *exc: Any) -> None:
        _SCOPES.remove(self.custom_objects)
        for name, obj, replaced in reversed(self._done):
            _unregister(name, obj, replaced)
        self._done = []


custom_object_scope = CustomObjectScope


def register_keras_serializable(
    package: str = "Custom", name: str | None = None
) -> Callable[[Any], Any]:
    """Decorator: register a class (which must have `get_config`) or a function as
    `"package>name"` (name defaults to its `__name__`), and under its plain name."""
    if not isinstance(package, str) or ">" in package:
        raise ValueError(f"Expected a package name without '>', received: package={package!r}")

    def decorator(arg: Any) -> Any:
        short = name if name is not None else arg.__name__
        registered_name = f"{package}>{short}"
        if inspect.isclass(arg) and not hasattr(arg, "get_config"):
            raise ValueError(
                f"Expected a class with a get_config() method, received: {arg.__name__} without one"
            )
        GLOBAL_CUSTOM_OBJECTS[registered_name] = arg
        GLOBAL_CUSTOM_NAMES[arg] = registered_name
        _register(short, arg)  # Lamina's configs may name it plainly
        arg._lamina_registered_name = registered_name
        return arg

    return decorator


def get_registered_name(obj: Any) -> str:
    """The name `obj` was registered as (`"package>name"`), else its `__name__`."""
    if obj in GLOBAL_CUSTOM_NAMES:
        return GLOBAL_CUSTOM_NAMES[obj]
    return getattr(obj, "_lamina_registered_name", None) or obj.__name__


def get_registered_object(
    name: str,
    custom_objects: Mapping[str, Any] | None = None,
    module_objects: Mapping[str, Any] | None = None,
) -> Any:
    """The object registered as `name`: the innermost scope first, then the global dict,
    `custom_objects`, `module_objects`, then Lamina's `"package>name"` registrations;
    None when nothing has that name."""
    if _SCOPES and name in _SCOPES[-1]:
        return _SCOPES[-1][name]
    if name in GLOBAL_CUSTOM_OBJECTS:
        return GLOBAL_CUSTOM_OBJECTS[name]
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if module_objects and name in module_objects:
        return module_objects[name]
    if ">" in name:
        for kind in KINDS:
            found = registry.lookup(kind, name)
            if found is not None:
                return found
    return None
