"""GRU: a gated recurrent unit layer (Keras 3's), on PyTorch's fused GRU kernel.

Keras 3's default `reset_after=True` is what `torch.gru` computes, so with tanh /
sigmoid activations and no recurrent dropout in training the sequence runs there (gates
reordered from Keras's z, r, h to PyTorch's r, z, n: `gate_layout.py`); masks as for
the LSTM (`fused.py`). `reset_after=False` (Keras 2's GRU) runs the step loop.

    model = Sequential([Input((100, 32)), GRU(128), Dense(1)])
"""

from __future__ import annotations

from typing import Any

from lamina import registry
from lamina.layers.recurrent.builtin_rnn import BuiltinRNN
from lamina.layers.recurrent.gru_cell import GRUCell


@registry.register("layer", "GRU")
class GRU(BuiltinRNN):
    """Gated recurrent unit over the time axis; state h."""

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
        reset_after: bool = True,
        use_cudnn: Any = "auto",
        **kwargs: Any,
    ) -> None:
        kwargs.pop("implementation", None)  # Keras 2's argument: one implementation here
        cell = GRUCell(
            units,
            activation=activation,
            recurrent_activation=recurrent_activation,
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
            reset_after=reset_after,
            seed=seed,
            **self.cell_kwargs(kwargs, "gru_cell"),
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
        if (
            self._own_cell_call(GRUCell)
            and self.cell.reset_after
            and self._activation_names() == ("tanh", "sigmoid")
        ):
            return "gru"
        return None

    @property
    def recurrent_activation(self) -> Any:
        return self.cell.recurrent_activation

    @property
    def reset_after(self) -> bool:
        return self.cell.reset_after
