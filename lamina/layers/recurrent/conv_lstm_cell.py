"""ConvLSTMCell: one step of a convolutional LSTM (Keras 3's cell behind ConvLSTM1D/2D/3D).

An LSTM whose matrix products are convolutions: the gates (Keras's order i, f, c, o)
come from a convolution of the input (`strides`, `padding`, `dilation_rate`) plus a
'same', stride-1 convolution of the previous output. Inputs and states are
channels-last, (batch, *spatial, channels); the kernels are stored in PyTorch's
(4 * filters, in, *kernel_size) layout and `get_weights()` returns Keras's
(*kernel_size, in, 4 * filters).

Dropout follows Keras's ConvLSTMCell: with `dropout` (or `recurrent_dropout`) each
gate gets its own mask of the input (or of the previous output), drawn once per
sequence.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import activations
from lamina.layers.convolutional import (
    check_data_format,
    conv_output_length,
    normalize_padding,
    normalize_tuple,
)
from lamina.layers.recurrent.cell_base import RecurrentCell, cell_error
from lamina.layers.recurrent.lstm_cell import _forget_bias_initializer
from lamina.layers.spatial_nd import channels_first, channels_last, conv_nd


class ConvLSTMCell(RecurrentCell):
    """State [h, c] of shape (batch, *output_spatial, filters); output h."""

    _runs_convolutions = True  # the engine's jit_compile='auto' policy reads it

    gates = 4

    def __init__(
        self,
        rank: int,
        filters: int,
        kernel_size: Any,
        strides: Any = 1,
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: Any = 1,
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
        super().__init__(
            filters,
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
        if rank not in (1, 2, 3):
            raise cell_error(self, "rank 1, 2 or 3", rank=rank)
        self.rank = rank
        self.filters = self.units
        self.kernel_size = normalize_tuple(self, kernel_size, rank, "kernel_size")
        self.strides = normalize_tuple(self, strides, rank, "strides")
        self.padding = normalize_padding(self, padding)
        self.data_format = check_data_format(self, data_format)
        self.dilation_rate = normalize_tuple(self, dilation_rate, rank, "dilation_rate")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise cell_error(
                self,
                "strides of 1 when dilation_rate > 1 (Keras supports only one of them)",
                strides=self.strides,
                dilation_rate=self.dilation_rate,
            )
        self.activation = activations.get(activation, layer=self)
        self.recurrent_activation = activations.get(recurrent_activation, layer=self)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.state_size = [self.filters, self.filters]
        self.spatial_dims: tuple[int, ...] | None = None

    def build(self, input_shape: Any) -> None:
        shape = tuple(input_shape)
        if len(shape) != self.rank + 2 or None in shape[1:]:
            raise cell_error(
                self,
                f"steps of a known shape (batch, {self.rank} spatial sizes, channels)",
                input_shape=shape,
            )
        self.spatial_dims = tuple(int(d) for d in shape[1:-1])
        out = self.compute_output_shape(shape)
        if any(d <= 0 for d in out[1:-1]):
            raise cell_error(
                self,
                f"spatial sizes at least as large as the (dilated) kernel {self.kernel_size}",
                input_shape=shape,
            )
        n, width, channels = self.rank, 4 * self.filters, int(shape[-1])
        layout = (n + 1, n, *range(n))  # Keras (*k, in, out) -> torch (out, in, *k)
        self.kernel = self.add_weight(
            "kernel",
            (*self.kernel_size, channels, width),
            self.kernel_initializer,
            self.kernel_regularizer,
            self.kernel_constraint,
            torch_layout=layout,
        )
        self.recurrent_kernel = self.add_weight(
            "recurrent_kernel",
            (*self.kernel_size, self.filters, width),
            self.recurrent_initializer,
            self.recurrent_regularizer,
            self.recurrent_constraint,
            torch_layout=layout,
        )
        bias_init: Any = self.bias_initializer
        if self.unit_forget_bias:
            bias_init = _forget_bias_initializer(self.bias_initializer, self.filters)
        self.bias = (
            self.add_weight(
                "bias", (width,), bias_init, self.bias_regularizer, self.bias_constraint
            )
            if self.use_bias
            else None
        )

    def _input_conv(self, x: torch.Tensor, kernel: torch.Tensor, bias: Any) -> torch.Tensor:
        return conv_nd(x, kernel, bias, self.strides, self.padding, self.dilation_rate)

    def _recurrent_conv(self, h: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
        ones = (1,) * self.rank
        return conv_nd(h, kernel, None, ones, "same", ones)

    def call(
        self, inputs: torch.Tensor, states: Any, training: bool = False
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        h_tm1, c_tm1 = states[0], states[1]
        drop = self.dropout_masks(inputs, 4) if training else None
        rec = self.recurrent_masks(h_tm1, 4) if training else None
        if drop is None and rec is None:  # all four gates in one convolution each
            return self.step_from_gates(self.input_gates(inputs), states)
        else:  # each gate sees its own dropped inputs and previous output
            kernels = self.kernel.chunk(4, 0)
            recurrents = self.recurrent_kernel.chunk(4, 0)
            biases = self.bias.chunk(4) if self.bias is not None else [None] * 4
            parts = []
            for k in range(4):
                x = inputs * drop[k] if drop else inputs
                h = h_tm1 * rec[k] if rec else h_tm1
                parts.append(
                    self._input_conv(channels_first(x), kernels[k], biases[k])
                    + self._recurrent_conv(channels_first(h), recurrents[k])
                )
            z = torch.cat(parts, dim=1)
        return self._lstm(z, c_tm1)

    def input_gates(self, inputs: torch.Tensor) -> torch.Tensor:
        """The input's contribution to the four gates, channels-first (no dropout).

        Independent of the state, so the layer computes it for all time steps at once.
        """
        return self._input_conv(channels_first(inputs), self.kernel, self.bias)

    def step_from_gates(
        self, input_gates: torch.Tensor, states: Any
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """One step given `input_gates(inputs)` (no dropout)."""
        h_tm1, c_tm1 = states[0], states[1]
        z = input_gates + self._recurrent_conv(channels_first(h_tm1), self.recurrent_kernel)
        return self._lstm(z, c_tm1)

    def _lstm(
        self, z: torch.Tensor, c_tm1: torch.Tensor
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        z_i, z_f, z_c, z_o = channels_last(z).chunk(4, dim=-1)
        i = self.recurrent_activation(z_i)
        f = self.recurrent_activation(z_f)
        c = f * c_tm1 + i * self.activation(z_c)
        o = self.recurrent_activation(z_o)
        h = o * self.activation(c)
        return h, [h, c]

    def compute_output_shape(self, input_shape: Any) -> tuple:
        spatial = [
            conv_output_length(size, k, self.padding, s, d)
            for size, k, s, d in zip(
                input_shape[1:-1], self.kernel_size, self.strides, self.dilation_rate
            )
        ]
        return (input_shape[0], *spatial, self.filters)

    def get_initial_state(self, batch_size: int | None = None) -> list[torch.Tensor]:
        if self.spatial_dims is None:
            raise cell_error(self, "a built cell (its spatial sizes are known then)", built=False)
        shape = self.compute_output_shape((batch_size or 1, *self.spatial_dims, None))
        device = self.kernel.device
        return [torch.zeros(shape, dtype=self._dtype, device=device) for _ in range(2)]

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.pop("units")
        return {
            **config,
            "rank": self.rank,
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "unit_forget_bias": self.unit_forget_bias,
        }
