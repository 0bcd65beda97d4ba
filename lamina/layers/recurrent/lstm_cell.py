"""LSTMCell: one step of a long short-term memory network (Keras 3's cell).

Gates in Keras's order i, f, c, o (PyTorch's i, f, g, o: the same order), so the stored
kernels are PyTorch's `weight_ih` / `weight_hh` as they are. The bias is Keras's one
vector of 4 * units (PyTorch adds two; the fused path passes zeros as the second).

    cell = LSTMCell(32)
    h, [h, c] = cell(x_t, [h, c])
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina import activations, registry
from lamina.layers.recurrent.cell_base import RecurrentCell


@registry.register("layer", "LSTMCell")
class LSTMCell(RecurrentCell):
    """State [h, c]; output h = o * activation(c)."""

    gates = 4

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        unit_forget_bias: bool = True,
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
        kwargs.pop("implementation", None)  # Keras 2's argument: one implementation here
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
        self.recurrent_activation = activations.get(recurrent_activation, layer=self)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.state_size = [self.units, self.units]

    def build(self, input_shape: Any) -> None:
        bias_init: Any = self.bias_initializer
        if self.use_bias and self.unit_forget_bias:
            bias_init = _forget_bias_initializer(self.bias_initializer, self.units)
        self._build_kernels(self._input_dim(input_shape), (4 * self.units,), bias_init)

    @property
    def _gate_masks(self) -> int:
        # Keras uses one mask per gate when recurrent_dropout is on (implementation 1).
        return 4 if self.recurrent_dropout > 0.0 else 1

    def call(
        self, inputs: torch.Tensor, states: Any, training: bool = False
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        h_tm1, c_tm1 = states[0], states[1]
        count = self._gate_masks
        drop = self.dropout_masks(inputs, count) if training else None
        rec = self.recurrent_masks(h_tm1, count) if training else None
        if count == 1:
            x = inputs * drop[0] if drop else inputs
            z = F.linear(x, self.kernel, self.bias) + F.linear(h_tm1, self.recurrent_kernel)
        else:  # each gate sees its own dropped inputs and previous output
            kernels = self.kernel.chunk(4, 0)
            recurrents = self.recurrent_kernel.chunk(4, 0)
            biases = self.bias.chunk(4) if self.bias is not None else [None] * 4
            parts = []
            for k in range(4):
                x = inputs * drop[k] if drop else inputs
                h = h_tm1 * rec[k] if rec else h_tm1
                parts.append(F.linear(x, kernels[k], biases[k]) + F.linear(h, recurrents[k]))
            z = torch.cat(parts, dim=-1)
        z_i, z_f, z_c, z_o = z.chunk(4, dim=-1)
        i = self.recurrent_activation(z_i)
        f = self.recurrent_activation(z_f)
        c = f * c_tm1 + i * self.activation(z_c)
        o = self.recurrent_activation(z_o)
        h = o * self.activation(c)
        return h, [h, c]

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "activation": activations.serialize(self.activation),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "unit_forget_bias": self.unit_forget_bias,
        }


def _forget_bias_initializer(base: Any, units: int) -> Any:
    """Keras's unit_forget_bias: the forget gate's bias starts at one, the rest at `base`."""

    def init(shape: tuple[int, ...], dtype: Any = None) -> torch.Tensor:
        first = torch.as_tensor(base((units,), dtype=dtype))
        rest = torch.as_tensor(base((2 * units,), dtype=dtype))
        return torch.cat([first, torch.ones_like(first), rest])

    return init
