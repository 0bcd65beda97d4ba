"""SimpleRNNCell: one step of a fully connected recurrent network (Keras 3's cell).

h = activation(x @ kernel + bias + h_prev @ recurrent_kernel)
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina import activations, registry
from lamina.layers.recurrent.cell_base import RecurrentCell


@registry.register("layer", "SimpleRNNCell")
class SimpleRNNCell(RecurrentCell):
    """State h; output h."""

    gates = 1

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        recurrent_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            units,
            use_bias,
            kernel_initializer,
            recurrent_initializer,
            bias_initializer,
            kernel_regularizer,
            recurrent_regularizer,
            bias_regularizer,
            kernel_constraint,
            recurrent_constraint,
            bias_constraint,
            dropout,
            recurrent_dropout,
            seed,
            **kwargs,
        )
        self.activation = activations.get(activation, layer=self)
        self.state_size = self.units

    def build(self, input_shape: Any) -> None:
        self._build_kernels(self._input_dim(input_shape), (self.units,), self.bias_initializer)

    def call(self, inputs: torch.Tensor, states: Any, training: bool = False) -> tuple[Any, Any]:
        nested = isinstance(states, (list, tuple))
        prev = states[0] if nested else states
        drop = self.dropout_masks(inputs, 1) if training else None
        rec = self.recurrent_masks(prev, 1) if training else None
        x = inputs * drop[0] if drop else inputs
        h = prev * rec[0] if rec else prev
        output = self.activation(
            F.linear(x, self.kernel, self.bias) + F.linear(h, self.recurrent_kernel)
        )
        return output, ([output] if nested else output)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}
