"""`TimeDistributed(layer)`: the same layer (same weights) applied to every time step.

    TimeDistributed(Dense(8))(x)          # (batch, time, 16) -> (batch, time, 8)
    TimeDistributed(Conv2D(4, 3))(video)  # (batch, time, h, w, c) -> (batch, time, ...)

Keras calls the layer once per step; here the time axis folds into the batch, so the
layer runs once on (batch * time, ...) rows: the same values for any layer that treats
samples independently, in one kernel call instead of `time` of them. A layer whose
training-time result couples the samples of a batch (BatchNormalization's batch
statistics) sees all steps' samples together, not one step's at a time as in Keras.
The input's (batch, time) mask passes on to the output, and reaches the wrapped layer
(per row) when its `call` takes `mask`.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import registry
from lamina.layers.base import Layer, _accepts_mask
from lamina.layers.input_spec import InputSpec
from lamina.layers.wrapper import Wrapper


@registry.register("layer", "TimeDistributed")
class TimeDistributed(Wrapper):
    """Apply `layer` to each slice `inputs[:, t]` of a (batch, time, ...) input."""

    supports_masking = True
    autocast = False  # the wrapped layer casts its inputs (an Embedding keeps its ids)

    def __init__(self, layer: Layer, **kwargs: Any) -> None:
        super().__init__(layer, **kwargs)
        self.input_spec = InputSpec(min_ndim=3)

    def _child_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else ()
        if len(shape) < 3 or not all(d is None or isinstance(d, int) for d in shape):
            raise ValueError(
                f"Layer '{self.name}' (TimeDistributed) expected an input of shape (batch, "
                f"time, ...) with at least 3 dimensions, received: input_shape={input_shape}"
            )
        return (None, *shape[2:])

    def build(self, input_shape: Any) -> None:
        child = self._child_shape(input_shape)
        if not self.layer.built:
            self.layer._maybe_build(child)
        else:
            self.layer._check_input(child)

    def call(
        self, inputs: torch.Tensor, training: bool | None = None, mask: Any = None
    ) -> torch.Tensor:
        batch, steps = inputs.shape[0], inputs.shape[1]
        if mask is not None and tuple(mask.shape[:2]) != (batch, steps):
            raise ValueError(
                f"Layer '{self.name}' (TimeDistributed) expected a mask of shape (batch, time)"
                f" = {(batch, steps)} matching the input, received: mask_shape="
                f"{tuple(mask.shape)}"
            )
        rows = inputs.reshape(batch * steps, *inputs.shape[2:])
        kwargs: dict[str, Any] = {"training": training}
        if mask is not None and _accepts_mask(type(self.layer)):
            kwargs["mask"] = mask.reshape(batch * steps, *mask.shape[2:])
        out = self.layer(rows, **kwargs)
        return out.reshape(batch, steps, *out.shape[1:])

    def compute_output_shape(self, input_shape: Any) -> tuple:
        child = self.layer.compute_output_shape(self._child_shape(input_shape))
        return (input_shape[0], input_shape[1], *tuple(child)[1:])
