"""Making user classes and functions loadable: `register_serializable` and `custom_object_scope`.

A config names classes and functions by string; loading resolves each string only
through Lamina's registry, so a user's own layer, loss or activation must be registered
(permanently with the decorator, or for one load with `custom_objects={...}`).

    @lamina.saving.register_serializable(package="my_project")
    class Scale(lamina.layers.Layer): ...

    model = lamina.models.load_model("m.lamina", custom_objects={"my_loss": my_loss})
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from lamina import constraints, initializers, registry, regularizers
from lamina.layers.base import Layer
from lamina.losses import Loss
from lamina.metrics import Metric
from lamina.optimizers import Optimizer

_CLASS_KINDS: list[tuple[type, str]] = [
    (Layer, "layer"),
    (Loss, "loss"),
    (Metric, "metric"),
    (Optimizer, "optimizer"),
    (initializers.Initializer, "initializer"),
    (regularizers.Regularizer, "regularizer"),
    (constraints.Constraint, "constraint"),
]
_FUNCTION_KINDS = ("activation", "loss_function")


def kinds_of(obj: Any) -> tuple[str, ...]:
    """The registry tables `obj` belongs in: one per base class, or those of a function."""
    if isinstance(obj, type):
        found = tuple(kind for base, kind in _CLASS_KINDS if issubclass(obj, base))
        if found:
            return found
        if callable(getattr(obj, "set_model", None)) and hasattr(obj, "on_epoch_end"):
            return ("callback",)  # a Callback (callbacks sit above saving: duck-typed)
        raise TypeError(
            "Expected a Layer, Model, Loss, Metric, Optimizer, Initializer, Regularizer, "
            f"Constraint or Callback subclass, or a function, received: {obj!r}"
        )
    if callable(obj):
        return _FUNCTION_KINDS
    raise TypeError(f"Expected a class or a function to register, received: {obj!r}")


def register_serializable(package: str = "Custom", name: str | None = None) -> Callable[[Any], Any]:
    """Decorator registering a class or function for loading, as Keras's
    `register_keras_serializable`: under its name and under Keras's `"package>name"`."""
    if not isinstance(package, str) or ">" in package:
        raise ValueError(f"Expected a package name without '>', received: package={package!r}")

    def wrap(obj: Any) -> Any:
        short = name or obj.__name__
        for kind in kinds_of(obj):
            registry.register(kind, short, f"{package}>{short}")(obj)
        obj._lamina_registered_name = f"{package}>{short}"
        return obj

    return wrap


@contextlib.contextmanager
def custom_object_scope(custom_objects: dict[str, Any] | None) -> Iterator[None]:
    """Register `custom_objects` (name -> class or function) for the block only."""
    added: list[tuple[str, str, Any, Any]] = []  # kind, name, object, what it replaced
    try:
        for key, obj in (custom_objects or {}).items():
            if not isinstance(key, str):
                raise TypeError(f"Expected string keys in custom_objects, received: {key!r}")
            for kind in kinds_of(obj):
                added.append((kind, key, obj, registry.lookup(kind, key)))
                registry.register(kind, key)(obj)
        yield
    finally:
        for kind, key, obj, previous in reversed(added):
            registry.unregister(kind, key, obj)
            if previous is not None:
                registry.register(kind, key)(previous)


def get_registered_name(obj: Any) -> str:
    """Keras's `"package>name"` for a registered object, else its plain name."""
    return getattr(obj, "_lamina_registered_name", None) or getattr(obj, "__name__", str(obj))
