"""`serialize_keras_object` / `deserialize_keras_object`: objects as Keras 3's JSON dicts.

An object with `get_config` becomes `{"module", "class_name", "config",
"registered_name"}`; functions `{"class_name": "function", "config": name}`; arrays,
tensors, bytes and slices Keras's `__numpy__`/`__tensor__`/`__bytes__`/`__slice__`
dicts. Names resolve through custom objects and Lamina's registry, never by importing
a module named in the dict.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from lamina import registry
from lamina.random.dtypes import to_torch_dtype
from lamina.random.seed_generator import SeedGenerator
from lamina.utils import object_registration as reg

_PLAIN = (str, int, float, bool)


def _public_module(obj: Any) -> str:
    """Keras's module for a Lamina object ('keras.layers'), else the object's own."""
    module = getattr(obj, "__module__", None) or "builtins"
    parts = module.split(".")
    if parts[0] == "lamina" and len(parts) > 1:
        return f"keras.{parts[1]}"
    return module


def _registered_name(obj: Any) -> str | None:
    name = reg.get_registered_name(obj)
    return name if ">" in name else None


def serialize_keras_object(obj: Any) -> Any:
    """A JSON-able description of `obj` in Keras 3's format (see the module docstring)."""
    if obj is None or isinstance(obj, _PLAIN):
        return obj
    if isinstance(obj, bytes):
        return {"class_name": "__bytes__", "config": {"value": obj.decode("utf-8")}}
    if isinstance(obj, slice):
        return {
            "class_name": "__slice__",
            "config": {
                "start": serialize_keras_object(obj.start),
                "stop": serialize_keras_object(obj.stop),
                "step": serialize_keras_object(obj.step),
            },
        }
    if isinstance(obj, torch.Tensor):
        return {
            "class_name": "__tensor__",
            "config": {
                "value": obj.detach().cpu().tolist(),
                "dtype": str(obj.dtype).split(".")[-1],
            },
        }
    if isinstance(obj, np.ndarray):
        return {
            "class_name": "__numpy__",
            "config": {"value": obj.tolist(), "dtype": obj.dtype.name},
        }
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, tuple):
        return tuple(serialize_keras_object(x) for x in obj)
    if isinstance(obj, list):
        return [serialize_keras_object(x) for x in obj]
    if isinstance(obj, Mapping):
        return {key: serialize_keras_object(value) for key, value in obj.items()}
    if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType)):
        name = reg.get_registered_name(obj)
        return {
            "module": _public_module(obj),
            "class_name": "function",
            "config": obj.__name__,
            "registered_name": name if ">" in name else "function",
        }
    if isinstance(obj, type):
        raise TypeError(f"Expected an instance to serialize, received: the class {obj.__name__}")
    if not callable(getattr(obj, "get_config", None)):
        raise TypeError(
            "Expected an object with a get_config() method, received: "
            f"{obj!r} of type {type(obj).__name__}"
        )
    return {
        "module": _public_module(type(obj)),
        "class_name": type(obj).__name__,
        "config": serialize_keras_object(obj.get_config()),
        "registered_name": _registered_name(type(obj)),
    }


def _find(name: str, custom_objects: Mapping[str, Any] | None, module_objects: Any) -> Any:
    found = reg.get_registered_object(name, custom_objects, module_objects)
    if found is not None:
        return found
    if name == "SeedGenerator":
        return SeedGenerator
    for kind in reg.KINDS:
        found = registry.lookup(kind, name)
        if found is not None:
            return found
    raise ValueError(
        f"Expected a registered class or function name, received: class_name={name!r}. "
        "Register it with register_keras_serializable or pass custom_objects={...}."
    )


def deserialize_keras_object(
    config: Any,
    custom_objects: Mapping[str, Any] | None = None,
    safe_mode: bool = True,
    **kwargs: Any,
) -> Any:
    """The object `serialize_keras_object` described. `safe_mode` is accepted for Keras's
    signature: Lamina never deserializes code (no lambdas, no pickle). A bare string stays a
    string unless `custom_objects`, a scope or `module_objects` name it, as in Keras."""
    module_objects = kwargs.pop("module_objects", None)
    if config is None or isinstance(config, (int, float, bool)):
        return config
    if isinstance(config, str):  # a plain string, unless a custom or module object's name
        found = reg.get_registered_object(config, custom_objects, module_objects)
        return config if found is None else found
    if isinstance(config, (list, tuple)):
        return type(config)(
            deserialize_keras_object(x, custom_objects, safe_mode, module_objects=module_objects)
            for x in config
        )
    if not isinstance(config, Mapping):
        raise TypeError(f"Expected a config dict, received: config={config!r}")
    if "class_name" not in config or "config" not in config:
        return {
            key: deserialize_keras_object(
                v, custom_objects, safe_mode, module_objects=module_objects
            )
            for key, v in config.items()
        }
    class_name, inner = config["class_name"], config["config"]
    if class_name == "__tensor__":
        return torch.tensor(inner["value"], dtype=to_torch_dtype(inner["dtype"]))
    if class_name == "__numpy__":
        return np.array(inner["value"], dtype=inner["dtype"])
    if class_name == "__bytes__":
        return inner["value"].encode("utf-8")
    if class_name == "__slice__":
        return slice(inner["start"], inner["stop"], inner["step"])
    if class_name == "__lambda__":
        raise ValueError("Expected no lambda in the config, received: a __lambda__ entry")
    name = config.get("registered_name")
    if class_name == "function":
        name = name if name and name != "function" else inner
        return _find(name, custom_objects, module_objects)
    try:
        cls = _find(name or class_name, custom_objects, module_objects)
    except ValueError:
        cls = _find(class_name, custom_objects, module_objects)
    if not isinstance(cls, type):
        return cls
    return cls.from_config(inner)
