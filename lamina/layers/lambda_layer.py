"""`Lambda`: a function of the inputs as a layer, saved by the function's name only.

Keras 3 saves a Python lambda as marshalled bytecode; Lamina never writes or reads code.
The config holds the function's name (`"function": "double"`); `from_config` finds the
function again in `custom_objects` (under that name or the layer's name) or among the
functions registered with `lamina.saving.register_serializable`, else refuses. A lambda
(no name) works in memory but can't be saved: `get_config` says so.

    layer = Lambda(double)                       # def double(x): return 2 * x
    Lambda.from_config(layer.get_config(), custom_objects={"double": double})
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from lamina import registry
from lamina.layers.base import Layer
from lamina.tree import map_structure

# Registry tables where `register_serializable` puts a user's functions.
_FUNCTION_KINDS = ("activation", "loss_function")


def function_name(spec: Any) -> str | None:
    """The name a function entry names: a string, or Keras's {"class_name": "function",
    "config": name}; None for Keras's bytecode entry (`__lambda__`)."""
    if isinstance(spec, str):
        return spec
    if isinstance(spec, dict) and spec.get("class_name") == "function":
        name = spec.get("config")
        return name if isinstance(name, str) else None
    return None


def _named(layer_name: str, what: str, fn: Callable[..., Any]) -> str:
    name = getattr(fn, "__name__", None)
    if not name or name == "<lambda>":
        raise ValueError(
            f"Layer '{layer_name}' (Lambda) can't be saved: expected a named function for "
            f"{what} (Lamina stores functions by name, never as bytecode), received: a lambda"
        )
    return name


def _find(
    layer_name: str, what: str, spec: Any, custom_objects: dict[str, Any] | None
) -> Callable[..., Any]:
    """The function a config names, from `custom_objects` or the registry; never bytecode."""
    name = function_name(spec)
    custom = custom_objects or {}
    for key in (name, layer_name):
        found = custom.get(key) if key else None
        if callable(found) and not isinstance(found, type):
            return found
    for kind in _FUNCTION_KINDS:
        found = registry.lookup(kind, name) if name else None
        if callable(found) and not isinstance(found, type):
            return found
    stored = f"the function {name!r}" if name else "Python bytecode (a lambda), never run"
    raise ValueError(
        f"Layer '{layer_name}' (Lambda) names {stored} for {what}. Expected the function in "
        f"custom_objects or registered with lamina.saving.register_serializable, received: "
        f"none under {(name or layer_name)!r}. Pass custom_objects={{{(name or layer_name)!r}: "
        "your_function}."
    )


def _takes(fn: Callable[..., Any], arg: str) -> bool:
    try:
        return arg in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


@registry.register("layer", "Lambda")
class Lambda(Layer):
    """`function(inputs, **arguments)` as a layer; `function` may also take `mask` and
    `training`. `output_shape` (without the batch axis, or a function of the input shape)
    is needed only where running the function on zeros can't tell it."""

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
            raise TypeError(
                f"Layer '{self.name}' (Lambda) expected a callable function, "
                f"received: function={function!r}"
            )
        self.function = function
        self.arguments = dict(arguments or {})
        self.mask = mask
        self.supports_masking = mask is not None
        self._declared_output_shape = output_shape
        self._takes_mask = _takes(function, "mask")
        self._takes_training = _takes(function, "training")
        self.built = True

    def call(self, inputs: Any, mask: Any = None, training: bool | None = None) -> Any:
        kwargs = dict(self.arguments)
        if self._takes_mask:
            kwargs["mask"] = mask
        if self._takes_training:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    def compute_output_shape(self, input_shape: Any) -> Any:
        declared = self._declared_output_shape
        if declared is None:
            return super().compute_output_shape(input_shape)
        if callable(declared):
            return declared(input_shape)
        first = input_shape
        while isinstance(first, (list, tuple)) and first and isinstance(first[0], (list, tuple)):
            first = first[0]
        batch = first[0] if isinstance(first, (list, tuple)) and first else None
        return map_structure(
            lambda s: (batch, *s),
            declared,
            is_leaf=lambda s: (
                isinstance(s, (list, tuple)) and all(d is None or isinstance(d, int) for d in s)
            ),
        )

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            **super().get_config(),
            "function": _named(self.name, "function", self.function),
        }
        shape = self._declared_output_shape
        if shape is not None:
            config["output_shape"] = (
                _named(self.name, "output_shape", shape)
                if callable(shape)
                else map_structure(lambda d: d, shape)
            )
        if self.mask is not None:
            config["mask"] = _named(self.name, "mask", self.mask) if callable(self.mask) else None
        config["arguments"] = self.arguments
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> Lambda:
        config = dict(config)
        name = str(config.get("name") or "lambda")
        if isinstance(config.get("dtype"), dict):  # Keras 3's DTypePolicy entry
            config["dtype"] = (config["dtype"].get("config") or {}).get("name")
        config["function"] = _find(name, "function", config.get("function"), custom_objects)
        shape = config.get("output_shape")
        if isinstance(shape, (str, dict)):
            config["output_shape"] = _find(name, "output_shape", shape, custom_objects)
        elif isinstance(shape, list) and all(d is None or isinstance(d, int) for d in shape):
            config["output_shape"] = tuple(shape)
        if isinstance(config.get("mask"), (str, dict)):
            config["mask"] = _find(name, "mask", config["mask"], custom_objects)
        return cls(**config)
