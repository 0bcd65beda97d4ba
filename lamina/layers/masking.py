"""`Masking`: mark the time steps whose features all equal `mask_value` as padding.

    x = Masking(mask_value=0.0)(sequences)   # (batch, time, features)
    # x._keras_mask[b, t] is False where sequences[b, t, :] == 0 everywhere

The masked steps come out as zeros, and the layers after it (RNNs,
GlobalAveragePooling1D, the loss) skip them, as in Keras.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import registry
from lamina.layers.base import Layer
from lamina.layers.input_spec import InputSpec
from lamina.layers.mask_utils import set_mask


@registry.register("layer", "Masking")
class Masking(Layer):
    """Masks steps whose every feature (last axis) equals `mask_value`; zeros them."""

    supports_masking = True

    def __init__(self, mask_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(mask_value, bool) or not isinstance(mask_value, (int, float)):
            raise ValueError(
                f"Layer '{self.name}' (Masking) expected a number for mask_value, "
                f"received: mask_value={mask_value!r}"
            )
        self.mask_value = mask_value
        self.input_spec = InputSpec(min_ndim=2)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        keep = (inputs != self.mask_value).any(dim=-1, keepdim=True)
        outputs = torch.where(keep, inputs, 0.0)
        set_mask(outputs, keep.squeeze(-1))  # computed once, here (Keras does the same)
        return outputs

    def compute_mask(self, inputs: torch.Tensor, mask: Any = None) -> torch.Tensor:
        return (inputs != self.mask_value).any(dim=-1)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mask_value": self.mask_value}
