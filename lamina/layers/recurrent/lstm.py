"""LSTM: a long short-term memory layer (Keras 3's), on PyTorch's fused LSTM kernel.

With tanh / sigmoid activations (the defaults) and no recurrent dropout in training,
the whole sequence runs in `torch.lstm`, the kernel behind `nn.LSTM`; masks whose
unmasked steps are contiguous per sample (padding) run there too (`fused.py`). Other
arguments run the step loop over `LSTMCell`.

    model = Sequential([Input((100, 32)), LSTM(128), Dense(1)])
    outputs, state_h, state_c = LSTM(64, return_sequences=True, return_state=True)(x)
"""

from __future__ import annotations

from typing import Any

from lamina import registry
from lamina.layers.recurrent.builtin_rnn import BuiltinRNN
from lamina.layers.recurrent.lstm_cell import LSTMCell


@registry.register("layer", "LSTM")
class LSTM(BuiltinRNN):
    """Long short-term memory over the time axis; state [h, c]."""

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
        unroll: bool = False,
        use_cudnn: Any = "auto",
        **kwargs: Any,
    ) -> None:
        kwargs.pop("implementation", None)  # Keras 2's argument: one implementation here
        cell = LSTMCell(
            units,
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
            **self.cell_kwargs(kwargs, "lstm_cell"),
        )
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            use_cudnn=use_cudnn,
            activity_regularizer=activity_regularizer,
            **kwargs,
        )

    def _kernel_kind(self) -> str | None:
        if self._own_cell_call(LSTMCell) and self._activation_names() == ("tanh", "sigmoid"):
            return "lstm"
        return None

    @property
    def recurrent_activation(self) -> Any:
        return self.cell.recurrent_activation

    @property
    def unit_forget_bias(self) -> bool:
        return self.cell.unit_forget_bias
