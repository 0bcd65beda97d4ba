"""GRUCell: one step of a gated recurrent unit (Keras 3's cell).

Gates in Keras's order z (update), r (reset), h (candidate); PyTorch orders them r, z,
n (`gate_layout.py` reorders for the fused kernel). `reset_after=True` (Keras 3's
default, and what PyTorch computes) applies the reset gate after the recurrent matrix
product and keeps two biases, shape (2, 3 * units): input and recurrent. With
`reset_after=False` (Keras 2's default) the gate scales the previous state before the
product and there is one bias (3 * units,).

    h = z * h_prev + (1 - z) * activation(x W_h + r * (h_prev U_h + b_h))   # reset_after
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina import activations, registry
from lamina.layers.recurrent.cell_base import RecurrentCell


@registry.register("layer", "GRUCell")
class GRUCell(RecurrentCell):
    """State h; output h."""

    gates = 3

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
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
        reset_after: bool = True,
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
        self.reset_after = bool(reset_after)
        self.state_size = self.units

    def build(self, input_shape: Any) -> None:
        width = 3 * self.units
        shape = (2, width) if self.reset_after else (width,)
        self._build_kernels(self._input_dim(input_shape), shape, self.bias_initializer)

    def _biases(self) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """(input bias, recurrent bias), each (3 * units,) or None."""
        if self.bias is None:
            return None, None
        if self.reset_after:
            return self.bias[0], self.bias[1]
        return self.bias, None

    def call(self, inputs: torch.Tensor, states: Any, training: bool = False) -> tuple[Any, Any]:
        nested = isinstance(states, (list, tuple))
        h_tm1 = states[0] if nested else states
        count = 3 if self.recurrent_dropout > 0.0 else 1  # Keras's implementation 1 or 2
        drop = self.dropout_masks(inputs, count) if training else None
        rec = self.recurrent_masks(h_tm1, count) if training else None
        input_bias, recurrent_bias = self._biases()
        kernels = self.kernel.chunk(3, 0)
        recurrents = self.recurrent_kernel.chunk(3, 0)
        in_biases = input_bias.chunk(3) if input_bias is not None else [None] * 3
        rec_biases = recurrent_bias.chunk(3) if recurrent_bias is not None else [None] * 3
        xs = [inputs * drop[min(k, len(drop) - 1)] if drop else inputs for k in range(3)]
        hs = [h_tm1 * rec[min(k, len(rec) - 1)] if rec else h_tm1 for k in range(3)]
        if count == 1:  # one product per matrix, as Keras's implementation 2
            x_z, x_r, x_h = F.linear(xs[0], self.kernel, input_bias).chunk(3, dim=-1)
        else:
            x_z, x_r, x_h = (F.linear(xs[k], kernels[k], in_biases[k]) for k in range(3))
        if self.reset_after and count == 1:
            r_z, r_r, r_h = F.linear(hs[0], self.recurrent_kernel, recurrent_bias).chunk(3, -1)
        else:
            r_z = F.linear(hs[0], recurrents[0], rec_biases[0])
            r_r = F.linear(hs[1], recurrents[1], rec_biases[1])
            r_h = None
        z = self.recurrent_activation(x_z + r_z)
        r = self.recurrent_activation(x_r + r_r)
        if self.reset_after:
            if r_h is None:
                r_h = F.linear(hs[2], recurrents[2], rec_biases[2])
            candidate = self.activation(x_h + r * r_h)
        else:
            candidate = self.activation(x_h + F.linear(r * hs[2], recurrents[2]))
        h = z * h_tm1 + (1.0 - z) * candidate
        return h, ([h] if nested else h)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "activation": activations.serialize(self.activation),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "reset_after": self.reset_after,
        }
