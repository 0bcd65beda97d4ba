"""ConvLSTM1D, ConvLSTM2D, ConvLSTM3D: convolutional LSTMs over sequences of sequences,
images or volumes (Keras 3's layers).

Inputs are (batch, time, *spatial, channels); the output (the last step, or every
step with `return_sequences`) is (batch, [time,] *output_spatial, filters). The layers
are RNNs over a ConvLSTMCell (conv_lstm_cell.py) run by the step loop, with Keras's
flat config and masks, `go_backwards`, `stateful` and `return_state` from the RNN base.
Without dropout the input convolution does not depend on the state, so it runs once
over all time steps (batch * time images) and the loop convolves only the state.

    x = Input((10, 32, 32, 3))                                   # 10 frames
    y = ConvLSTM2D(16, 3, padding="same", return_sequences=True)(x)   # (None, 10, 32, 32, 16)
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import registry
from lamina.layers.input_spec import InputSpec
from lamina.layers.recurrent.builtin_rnn import BuiltinRNN
from lamina.layers.recurrent.conv_lstm_cell import ConvLSTMCell
from lamina.layers.recurrent.step_loop import run_steps


class ConvLSTM(BuiltinRNN):
    """An RNN over a ConvLSTMCell of rank `rank` (1, 2 or 3)."""

    rank = 2
    cell: ConvLSTMCell

    def __init__(
        self,
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
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        seed: int | None = None,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        **kwargs: Any,
    ) -> None:
        cell = ConvLSTMCell(
            self.rank,
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            activation=activation,
            recurrent_activation=recurrent_activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            unit_forget_bias=unit_forget_bias,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            seed=seed,
            **self.cell_kwargs(kwargs, "conv_lstm_cell"),
        )
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            activity_regularizer=activity_regularizer,
            **kwargs,
        )
        self.input_spec = InputSpec(ndim=self.rank + 3)

    def _kernel_kind(self) -> str | None:
        return None  # no fused kernel: the step loop runs the cell

    def _recur(
        self, sequences: torch.Tensor, states: list[Any], mask: Any, training: bool
    ) -> tuple[torch.Tensor, list[Any]]:
        """The step loop; without dropout, the input convolution of every step runs at once."""
        cell = self.cell
        dropping = training and (0.0 < cell.dropout < 1.0 or 0.0 < cell.recurrent_dropout < 1.0)
        if dropping or not self._own_cell_call(ConvLSTMCell):
            return super()._recur(sequences, states, mask, training)
        batch, steps = sequences.shape[:2]
        gates = cell.input_gates(sequences.reshape(batch * steps, *sequences.shape[2:]))
        gates = gates.reshape(batch, steps, *gates.shape[1:])
        return run_steps(
            cell.step_from_gates,
            gates,
            states,
            mask,
            self.go_backwards,
            self.return_sequences,
            self.zero_output_for_mask,
        )

    def compute_output_shape(self, input_shape: Any) -> Any:
        batch, steps = input_shape[0], input_shape[1]
        state = self.cell.compute_output_shape((batch, *input_shape[2:]))
        out = (batch, steps, *state[1:]) if self.return_sequences else state
        if self.return_state:
            return (out, state, state)
        return out

    # ------------------------------------------------- the cell's arguments
    @property
    def filters(self) -> int:
        return self.cell.filters

    @property
    def kernel_size(self) -> tuple[int, ...]:
        return self.cell.kernel_size

    @property
    def strides(self) -> tuple[int, ...]:
        return self.cell.strides

    @property
    def padding(self) -> str:
        return self.cell.padding

    @property
    def data_format(self) -> str:
        return self.cell.data_format

    @property
    def dilation_rate(self) -> tuple[int, ...]:
        return self.cell.dilation_rate

    @property
    def recurrent_activation(self) -> Any:
        return self.cell.recurrent_activation

    @property
    def unit_forget_bias(self) -> bool:
        return self.cell.unit_forget_bias

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.pop("rank")
        return config


@registry.register("layer", "ConvLSTM1D")
class ConvLSTM1D(ConvLSTM):
    """Convolutional LSTM over (batch, time, steps, channels) inputs."""

    rank = 1


@registry.register("layer", "ConvLSTM2D")
class ConvLSTM2D(ConvLSTM):
    """Convolutional LSTM over (batch, time, height, width, channels) inputs."""

    rank = 2


@registry.register("layer", "ConvLSTM3D")
class ConvLSTM3D(ConvLSTM):
    """Convolutional LSTM over (batch, time, depth, height, width, channels) inputs."""

    rank = 3
