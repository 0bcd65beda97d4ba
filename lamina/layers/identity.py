"""`Identity`: returns its inputs unchanged (a placeholder in a graph, keeps masks)."""

from __future__ import annotations

from typing import Any

from lamina import registry
from lamina.layers.base import Layer


@registry.register("layer", "Identity")
class Identity(Layer):
    """Passes the inputs (any structure of tensors) through, with their masks."""

    supports_masking = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.built = True

    def call(self, inputs: Any) -> Any:
        return inputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape
