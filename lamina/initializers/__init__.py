"""Weight initializers, as `keras.initializers`: Keras's names, defaults and fan rule.

An initializer is called with a Keras-layout shape (a Dense kernel is (in, out),
a Conv2D kernel (kh, kw, in, out)) and returns a tensor of that shape. Layers
permute it to PyTorch's layout afterwards, so fans match Keras exactly.

    init = get("he_normal")
    w = init((784, 128))

The lowercase names (`glorot_uniform`, `zeros`, ...) are the classes themselves, as in
Keras 3.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from lamina import registry
from lamina.initializers.base import Initializer, _fans  # noqa: F401 (kept for callers)
from lamina.initializers.constant import STFT, Constant, Identity, Ones, Zeros
from lamina.initializers.random_initializers import (
    GlorotNormal,
    GlorotUniform,
    HeNormal,
    HeUniform,
    LecunNormal,
    LecunUniform,
    Orthogonal,
    RandomNormal,
    RandomUniform,
    TruncatedNormal,
    VarianceScaling,
)
from lamina.random.dtypes import to_torch_dtype

# Keras 3's aliases: the same classes under their snake_case and compatibility names.
constant = Constant
glorot_normal = GlorotNormal
glorot_uniform = GlorotUniform
he_normal = HeNormal
he_uniform = HeUniform
identity = Identity
IdentityInitializer = Identity
lecun_normal = LecunNormal
lecun_uniform = LecunUniform
ones = Ones
orthogonal = Orthogonal
OrthogonalInitializer = Orthogonal
random_normal = RandomNormal
random_uniform = RandomUniform
stft = STFT
STFTInitializer = STFT
truncated_normal = TruncatedNormal
variance_scaling = VarianceScaling
zeros = Zeros


def _lookup(name: str, custom_objects: Mapping[str, Any] | None) -> Any:
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    return registry.get("initializer", name)


def deserialize(config: Any, custom_objects: Mapping[str, Any] | None = None) -> Any:
    """An initializer from `serialize`'s dict (Keras's 'module'/'registered_name' keys are
    accepted and ignored) or from a registered name; `custom_objects` names extra classes."""
    if isinstance(config, str):
        return _lookup(config, custom_objects)()
    if not isinstance(config, Mapping) or "class_name" not in config:
        raise ValueError(
            f"Expected an initializer config with a 'class_name', received: config={config!r}"
        )
    name = config.get("registered_name") or config["class_name"]
    try:
        cls = _lookup(name, custom_objects)
    except ValueError:
        cls = _lookup(config["class_name"], custom_objects)
    inner = config.get("config") or {}
    if isinstance(cls, type):
        return cls.from_config(dict(inner))
    return cls  # a registered function


def get(identifier: Any) -> Any:
    """Resolve a name, a {'class_name', 'config'} dict, a class, an instance, a callable or a
    tensor/array (an initializer returning it for its own shape)."""
    if identifier is None:
        raise ValueError("Expected an initializer, received: initializer=None")
    if isinstance(identifier, str):
        return registry.get("initializer", identifier)()
    if isinstance(identifier, Mapping):
        return deserialize(identifier)
    if isinstance(identifier, (torch.Tensor, np.ndarray, np.generic)):
        return _tensor_initializer(identifier)
    if isinstance(identifier, type):
        return identifier()
    if callable(identifier):
        return identifier
    raise TypeError(
        f"Expected an initializer name or callable, received: initializer={identifier!r}"
    )


def _tensor_initializer(value: Any) -> Any:
    """An initializer returning `value` cast to the dtype, for a shape equal to its own."""
    tensor = torch.as_tensor(value)

    def initialize(shape: tuple[int, ...], dtype: Any = None) -> torch.Tensor:
        if tuple(shape) != tuple(tensor.shape):
            raise ValueError(
                f"Expected shape={tuple(tensor.shape)} for a tensor initializer, "
                f"received: shape={tuple(shape)}"
            )
        return tensor.to(to_torch_dtype(dtype)).clone()

    return initialize


def serialize(init: Any) -> Any:
    """A JSON-able description: {'class_name': ..., 'config': ...}."""
    if isinstance(init, Initializer):
        return {"class_name": type(init).__name__, "config": init.get_config()}
    return getattr(init, "__name__", repr(init))


__all__ = [
    "Constant",
    "GlorotNormal",
    "GlorotUniform",
    "HeNormal",
    "HeUniform",
    "Identity",
    "IdentityInitializer",
    "Initializer",
    "LecunNormal",
    "LecunUniform",
    "Ones",
    "Orthogonal",
    "OrthogonalInitializer",
    "RandomNormal",
    "RandomUniform",
    "STFT",
    "STFTInitializer",
    "TruncatedNormal",
    "VarianceScaling",
    "Zeros",
    "constant",
    "deserialize",
    "get",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "identity",
    "lecun_normal",
    "lecun_uniform",
    "ones",
    "orthogonal",
    "random_normal",
    "random_uniform",
    "serialize",
    "stft",
    "truncated_normal",
    "variance_scaling",
    "zeros",
]
