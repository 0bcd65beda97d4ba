"""SimpleRNN: a fully connected recurrent layer (Keras 3's), on PyTorch's fused RNN kernel.

With activation tanh (the default) or relu and no recurrent dropout in training, the
sequence runs in `torch.rnn_tanh` / `torch.rnn_relu` (`nn.RNN`'s kernels); other
activations run the step loop over `SimpleRNNCell`.

    model = Sequential([Input((20, 1)), SimpleRNN(16), Dense(1)])
"""

from __future__ import annotations

from typing import Any

from lamina import registry
from lamina.layers.recurrent.builtin_rnn import BuiltinRNN
from lamina.layers.recurrent.simple_rnn_cell import SimpleRNNCell

_KERNELS = {"tanh": "rnn_tanh", "relu": "rnn_relu"}


@registry.register("layer", "SimpleRNN")
class SimpleRNN(BuiltinRNN):
    """A fully connected RNN over the time axis; state h."""

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
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        seed: int | None = None,
        use_cudnn: Any = "auto",
        **kwargs: Any,
    ) -> None:
        cell = SimpleRNNCell(
            units,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            seed=seed,
            **self.cell_kwargs(kwargs, "simple_rnn_cell"),
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
        if not self._own_cell_call(SimpleRNNCell):
            return None
        return _KERNELS.get(self._activation_names()[0] or "")
