"""Keras's `Lambda` layer, rebuilt only from a function the user hands over.

A Keras file stores a Lambda's function either by name (`{"class_name": "function",
"config": "double"}`) or, for a Python lambda, as marshalled bytecode. Lamina never
unmarshals: the function must come from `custom_objects`, under its name or under the
Lambda layer's name, else loading refuses the file with an `UnsafeFileError`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lamina.layers.base import Layer
from lamina.saving.errors import UnsafeFileError


def function_name(spec: Any) -> str | None:
    """The name a Lambda's function is stored under, None for bytecode (`__lambda__`)."""
    if isinstance(spec, str):
        return spec
    if isinstance(spec, dict) and spec.get("class_name") == "function":
        name = spec.get("config")
        return name if isinstance(name, str) else None
    return None


def find_function(
    layer_name: str, spec: Any, custom_objects: dict[str, Any] | None, source: str = "the file"
) -> Callable[..., Any]:
    """The user's function for a Lambda layer, or an `UnsafeFileError` naming the layer."""
    custom = custom_objects or {}
    name = function_name(spec)
    for key in (name, layer_name):
        found = custom.get(key) if key else None
        if callable(found) and not isinstance(found, type):
            return found
    stored = f"the function {name!r}" if name else "Python bytecode (a lambda)"
    raise UnsafeFileError(
        f"Layer '{layer_name}' (Lambda) in {source} holds {stored}, which Lamina never runs "
        f"from a file. Expected the function in custom_objects, received: none under "
        f"{(name or layer_name)!r}. Pass custom_objects={{{(name or layer_name)!r}: your_function}}."
    )


class Lambda(Layer):
    """`function(inputs, **arguments)` as a layer (Keras's Lambda, function given by the user)."""

    def __init__(
        self,
        function: Callable[..., Any],
        output_shape: Any = None,
        mask: Any = None,
        arguments: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Layer '{self.name}' expected a function, received: {function!r}")
        if mask is not None:
            raise ValueError(f"Layer '{self.name}' (Lambda) expected mask=None, received: {mask!r}")
        self.function = function
        self.arguments = dict(arguments or {})
        self._declared_output_shape = output_shape

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        return self.function(inputs, **self.arguments)

    def get_config(self) -> dict[str, Any]:
        name = getattr(self.function, "__name__", None)
        if not name or name == "<lambda>":
            raise ValueError(
                f"Layer '{self.name}' (Lambda) can't be saved: expected a named function, "
                "received: a lambda"
            )
        return {
            **super().get_config(),
            "function": name,
            "output_shape": self._declared_output_shape,
            "arguments": self.arguments,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> Lambda:
        config = dict(config)
        name = str(config.get("name") or "lambda")
        config["function"] = find_function(name, config.get("function"), custom_objects)
        if isinstance(config.get("output_shape"), dict):
            config["output_shape"] = None  # a function: found again by running on zeros
        return cls(**config)
