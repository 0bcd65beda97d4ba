"""`Sequential`: a plain stack of layers, each feeding the next.

    model = Sequential()
    model.add(Dense(64, activation="relu", input_shape=(784,)))
    model.add(Dense(10, activation="softmax"))

When the input shape is known (`input_shape=` on the first layer, or an
`Input`), each layer is built as it is added, so a wrong shape fails at once
with the layer's name, and `summary()` works before training.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lamina import registry
from lamina.layers.base import Layer
from lamina.layers.core import InputLayer
from lamina.layers.symbolic import KerasTensor
from lamina.models.model import Model


@registry.register("layer", "Sequential")
class Sequential(Model):
    """A linear stack of layers."""

    def __init__(
        self,
        layers: list[Any] | None = None,
        name: str | None = None,
        trainable: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, trainable=trainable, **kwargs)
        self._stack = nn.ModuleList()
        self._input_shape: tuple | None = None
        self._shape_now: tuple | None = None
        for layer in layers or []:
            self.add(layer)

    @property
    def layers(self) -> list[Layer]:
        return list(self._stack)

    def add(self, layer: Any) -> None:
        """Append a layer (or an `Input`, which fixes the input shape)."""
        if isinstance(layer, KerasTensor):
            layer = layer.node.layer
        if isinstance(layer, InputLayer):
            self._set_input_shape(layer.output.shape)
            return
        if not isinstance(layer, Layer):
            raise TypeError(
                f"Sequential '{self.name}' expected a lamina Layer, received: "
                f"layer={layer!r} (type {type(layer).__name__}). Wrap torch modules in a Layer."
            )
        if not self._stack and self._input_shape is None and layer._input_shape_arg is not None:
            self._set_input_shape((None, *layer._input_shape_arg))
        self._stack.append(layer)
        if self._shape_now is not None:
            self._shape_now = _build_layer(layer, self._shape_now)
            self.built = True

    def pop(self) -> Layer:
        """Remove and return the last layer."""
        if not self._stack:
            raise ValueError(f"Sequential '{self.name}' has no layers to pop, received: len=0")
        layer = self._stack[-1]
        del self._stack[-1]
        if self._input_shape is not None:
            self._shape_now = self._input_shape
            for la in self._stack:
                self._shape_now = la.output_shape
        return layer

    def _set_input_shape(self, shape: tuple) -> None:
        self._input_shape = tuple(shape)
        self._shape_now = self._input_shape
        for layer in self._stack:
            self._shape_now = _build_layer(layer, self._shape_now)

    def build(self, input_shape: Any = None) -> None:
        """Build every layer for `input_shape` (batch dim included)."""
        if input_shape is None:
            input_shape = self._input_shape
        if input_shape is None:
            raise ValueError(
                f"Sequential '{self.name}' expected an input shape to build, received: "
                "input_shape=None. Give the first layer input_shape=... or call build((None, ...))."
            )
        if self._input_shape is None or tuple(input_shape) != self._input_shape:
            self._set_input_shape(tuple(input_shape))
        self._build_input_shape = self._input_shape
        self.built = True

    def _maybe_build(self, input_shape: Any) -> None:
        if self._input_shape is None and isinstance(input_shape, tuple):
            self._set_input_shape(input_shape)
        self.built = True

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        x = inputs
        for layer in self._stack:
            # after the first batch, a tensor of the checked shape skips the per-call checks
            if isinstance(x, torch.Tensor) and layer.built:
                x = layer.call_fast(x, training)
            else:
                x = layer(x, training=training)
        return x

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = input_shape
        for layer in self._stack:
            shape = layer.compute_output_shape(shape)
        return shape

    @property
    def input_shape(self) -> tuple | None:
        return self._input_shape

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "trainable": self.trainable,
            "layers": [
                {"class_name": type(la).__name__, "config": la.get_config()} for la in self._stack
            ],
            "build_input_shape": list(self._input_shape) if self._input_shape else None,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        shape = config.get("build_input_shape")
        if shape:
            model._set_input_shape(tuple(shape))
        for entry in config["layers"]:
            layer_cls = registry.get("layer", entry["class_name"])
            model.add(layer_cls.from_config(entry["config"]))
        return model


def _build_layer(layer: Layer, shape: tuple) -> tuple:
    """Build `layer` for `shape` and return its output shape (recorded for summary)."""
    layer._maybe_build(shape)
    layer._check_input(shape)
    out = layer.compute_output_shape(shape)
    out = (
        tuple(out)
        if isinstance(out, (tuple, list)) and all(d is None or isinstance(d, int) for d in out)
        else out
    )
    layer._output_shape = out
    return out
