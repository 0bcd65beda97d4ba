"""What SimpleRNN, LSTM and GRU share: a built-in cell, Keras's flat config, the fused test.

Each layer makes its cell from its own arguments (Keras names it `lstm_cell`,
`gru_cell`, `simple_rnn_cell`), exposes the cell's arguments as attributes
(`layer.units`, `layer.dropout`, ...) and writes them into its config directly (no
nested `cell` entry), as Keras 3 does. The weights belong to the cell, so files keep
Keras's `layers/lstm/cell/vars` layout.
"""

from __future__ import annotations

from typing import Any

from lamina import activations, regularizers
from lamina.layers.input_spec import InputSpec
from lamina.layers.recurrent.base_rnn import RNN
from lamina.layers.recurrent.cell_base import RecurrentCell, cell_error

_CELL_ONLY = ("name", "trainable", "dtype", "input_shape")
_USE_CUDNN = ("auto", True, False)


class BuiltinRNN(RNN):
    """An RNN over one of Lamina's cells (SimpleRNNCell, LSTMCell, GRUCell)."""

    cell: RecurrentCell

    def __init__(
        self,
        cell: RecurrentCell,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        use_cudnn: Any = "auto",
        **kwargs: Any,
    ) -> None:
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            **kwargs,
        )
        if use_cudnn not in _USE_CUDNN:
            raise cell_error(self, "use_cudnn in ('auto', True, False)", use_cudnn=use_cudnn)
        # Accepted for Keras's signature: PyTorch's kernels pick cuDNN or oneDNN themselves.
        self.use_cudnn = use_cudnn
        self.input_spec = InputSpec(ndim=3)

    @staticmethod
    def cell_kwargs(kwargs: dict[str, Any], name: str) -> dict[str, Any]:
        """The arguments a layer passes on to its cell besides its own (dtype, trainable)."""
        return {
            "dtype": kwargs.get("dtype"),
            "trainable": kwargs.get("trainable", True),
            "name": name,
        }

    def _kernel_kind(self) -> str | None:
        """The fused kernel these arguments map to, ignoring per-call conditions."""
        raise NotImplementedError

    def _fused_kind(self, training: bool) -> str | None:
        kind = self._kernel_kind()
        if kind is None or (training and 0.0 < self.cell.recurrent_dropout < 1.0):
            return None  # recurrent dropout masks the state at every step: the loop
        return kind

    def _activation_names(self) -> tuple[str | None, ...]:
        cell = self.cell
        names = [activations.serialize(cell.activation)]
        if hasattr(cell, "recurrent_activation"):
            names.append(activations.serialize(cell.recurrent_activation))
        return tuple(names)

    def _own_cell_call(self, cell_class: type) -> bool:
        """The cell is the built-in class's own (a subclass may compute something else)."""
        return type(self.cell).call is cell_class.call

    # ------------------------------------------------- the cell's arguments
    @property
    def units(self) -> int:
        return self.cell.units

    @property
    def activation(self) -> Any:
        return self.cell.activation

    @property
    def use_bias(self) -> bool:
        return self.cell.use_bias

    @property
    def kernel_initializer(self) -> Any:
        return self.cell.kernel_initializer

    @property
    def recurrent_initializer(self) -> Any:
        return self.cell.recurrent_initializer

    @property
    def bias_initializer(self) -> Any:
        return self.cell.bias_initializer

    @property
    def kernel_regularizer(self) -> Any:
        return self.cell.kernel_regularizer

    @property
    def recurrent_regularizer(self) -> Any:
        return self.cell.recurrent_regularizer

    @property
    def bias_regularizer(self) -> Any:
        return self.cell.bias_regularizer

    @property
    def kernel_constraint(self) -> Any:
        return self.cell.kernel_constraint

    @property
    def recurrent_constraint(self) -> Any:
        return self.cell.recurrent_constraint

    @property
    def bias_constraint(self) -> Any:
        return self.cell.bias_constraint

    @property
    def dropout(self) -> float:
        return self.cell.dropout

    @property
    def recurrent_dropout(self) -> float:
        return self.cell.recurrent_dropout

    @property
    def seed(self) -> int | None:
        return self.cell.seed

    def get_config(self) -> dict[str, Any]:
        cell_args = {k: v for k, v in self.cell.get_config().items() if k not in _CELL_ONLY}
        config = {
            **super(RNN, self).get_config(),
            **self._rnn_config(),
            **cell_args,
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
        }
        if self.use_cudnn != "auto":
            config["use_cudnn"] = self.use_cudnn
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> BuiltinRNN:
        return cls(**config)
