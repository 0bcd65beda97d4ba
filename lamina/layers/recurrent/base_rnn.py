"""RNN: a cell run over the time axis of `(batch, time, features)` inputs (Keras 3's layer).

The cell may be a built-in one, a user's (any object with `state_size` and
`call(inputs, states)`, usually a Layer), or a list of cells (stacked). The layer adds
what Keras's RNN adds: initial states (`initial_state=` or the cell's
`get_initial_state`), masks (`mask=`: a masked step keeps the state and repeats the
previous output), `go_backwards`, `return_sequences`, `return_state`, and `stateful`
(the last states of one call start the next; `reset_state()` zeroes them).

LSTM, GRU and SimpleRNN subclass it and run on PyTorch's fused kernels when their
arguments allow (`_fused_kind`); everything else runs the step loop (`step_loop.py`).

    class MinimalCell(Layer):
        state_size = 8
        def build(self, input_shape):
            self.w = self.add_weight("w", (input_shape[-1], 8))
        def call(self, inputs, states):
            h = torch.tanh(inputs @ self.w + states[0])
            return h, [h]

    y = RNN(MinimalCell(), return_sequences=True)(x)   # (batch, time, 8)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lamina import registry, regularizers
from lamina.layers.base import Layer
from lamina.layers.recurrent import fused_op, nested_config
from lamina.layers.recurrent.cell_base import RecurrentCell, cell_error
from lamina.layers.recurrent.gate_layout import fused_params
from lamina.layers.recurrent.stacked_cells import (
    StackedRNNCells,
    call_cell,
    check_cell,
    initial_state,
    output_size,
)
from lamina.layers.recurrent.step_loop import run_steps
from lamina.layers.recurrent.thread_tuner import ThreadTuner
from lamina.tree import flatten, map_structure


@registry.register("layer", "RNN")
class RNN(Layer):
    """A recurrent layer around `cell` (see the module doc)."""

    supports_masking = True

    def __init__(
        self,
        cell: Any,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        zero_output_for_mask: bool = False,
        activity_regularizer: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(list(cell))
        if isinstance(cell, dict):
            owner = f"Layer '{self.name}' ({type(self).__name__})"
            cell = nested_config.deserialize(cell, owner=owner, dtype=self.dtype_name)
        check_cell(self, cell)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)  # accepted: the fused kernels and the loop need no unrolling
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self._state_structure: Any = None  # stateful: the structure of the kept states
        # Thread counts for the fused kernels, measured apart for training and inference.
        self._tuners = {True: ThreadTuner(), False: ThreadTuner()}

    # ------------------------------------------------------------------ sizes
    @property
    def state_size(self) -> list[Any]:
        size = self.cell.state_size
        return list(size) if isinstance(size, (list, tuple)) else [size]

    def build(self, input_shape: Any) -> None:
        shape = tuple(input_shape)
        if len(shape) < 3:
            raise cell_error(self, "inputs of shape (batch, time, features)", input_shape=shape)
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell.__dict__["_build_device"] = getattr(self, "_build_device", None)
            self.cell._maybe_build((shape[0], *shape[2:]))

    def compute_output_shape(self, input_shape: Any) -> Any:
        batch, steps = input_shape[0], input_shape[1]
        units = output_size(self.cell)
        out = (batch, steps, units) if self.return_sequences else (batch, units)
        if not self.return_state:
            return out
        states = [
            [(batch, s) for s in size] if isinstance(size, (list, tuple)) else (batch, size)
            for size in self.state_size
        ]
        return (out, *states)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        out = mask if self.return_sequences else None
        if self.return_state:
            return [out] + [None for _ in self.state_size]
        return out

    # ------------------------------------------------------------------- call
    def call(
        self,
        sequences: torch.Tensor,
        initial_state: Any = None,
        mask: Any = None,
        training: bool = False,
    ) -> Any:
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if mask is not None:
            mask = self._check_mask(sequences, mask)
        cell_dtype = getattr(self.cell, "_dtype", sequences.dtype)
        if cell_dtype != sequences.dtype and cell_dtype.is_floating_point:
            sequences = sequences.to(cell_dtype)  # the cell computes in its own dtype
        states = self._start_states(sequences, initial_state)
        try:
            output, states = self._recur(sequences, states, mask, bool(training))
        finally:
            _reset_dropout(self.cell)
        if output.dtype != self._dtype and self._dtype.is_floating_point:
            output = output.to(self._dtype)
            states = map_structure(lambda s: s.to(self._dtype), states)
        if self.stateful:
            self._keep_states(states)
        if self.activity_regularizer is not None:
            self.add_loss(self.activity_regularizer(output) / output.shape[0])
        if self.return_state:
            return (output, *states)
        return output

    def _recur(
        self, sequences: torch.Tensor, states: list[Any], mask: Any, training: bool
    ) -> tuple[torch.Tensor, list[Any]]:
        """(output, final states): the fused kernel when it applies, else the step loop."""
        kind = self._fused_kind(training)
        if kind is not None:
            return self._run_fused(kind, sequences, states, mask, training)

        def step(inputs: torch.Tensor, current: Any) -> tuple[torch.Tensor, Any]:
            return call_cell(self.cell, inputs, current, training)

        return run_steps(
            step,
            sequences,
            states,
            mask,
            self.go_backwards,
            self.return_sequences,
            self.zero_output_for_mask,
        )

    def _fused_kind(self, training: bool) -> str | None:
        """The fused kernel for this call ('lstm', 'gru', 'rnn_tanh', 'rnn_relu') or None."""
        return None

    def _run_fused(
        self, kind: str, sequences: torch.Tensor, states: list[Any], mask: Any, training: bool
    ) -> tuple[torch.Tensor, list[Any]]:
        cell: RecurrentCell = self.cell
        if training and 0.0 < cell.dropout < 1.0:  # one input mask for every step, as Keras
            drop = cell.dropout_masks(sequences[:, 0], 1)[0]
            sequences = sequences * drop[:, None, :]
        params = fused_params(kind, cell)
        return fused_op.run(
            kind,
            sequences,
            mask,
            list(states),
            params,
            self.go_backwards,
            self.return_sequences,
            self.zero_output_for_mask,
            self._tuners[torch.is_grad_enabled()],
        )

    def _check_mask(self, sequences: torch.Tensor, mask: Any) -> torch.Tensor:
        mask = torch.as_tensor(mask, device=sequences.device)
        if tuple(mask.shape) != tuple(sequences.shape[:2]):
            raise cell_error(
                self,
                f"a mask of shape (batch, time) = {tuple(sequences.shape[:2])}",
                mask_shape=tuple(mask.shape),
            )
        return mask if mask.dtype == torch.bool else mask != 0

    # ----------------------------------------------------------------- states
    def get_initial_state(self, batch_size: int) -> list[Any]:
        like = torch.zeros((), dtype=self._dtype, device=_device_of(self))
        return initial_state(self.cell, batch_size, like)

    def _start_states(self, sequences: torch.Tensor, given: Any) -> list[Any]:
        batch = sequences.shape[0]
        if given is not None:
            states = list(given) if isinstance(given, (list, tuple)) else [given]
            if len(states) != len(self.state_size):
                raise cell_error(
                    self,
                    f"initial_state as {len(self.state_size)} tensor(s) (state_size="
                    f"{self.cell.state_size})",
                    initial_state_count=len(states),
                )
            return map_structure(
                lambda s: torch.as_tensor(s).to(device=sequences.device, dtype=sequences.dtype),
                states,
            )
        if self.stateful:
            return self._kept_states(sequences)
        return initial_state(self.cell, batch, sequences)

    def _kept_states(self, sequences: torch.Tensor) -> list[Any]:
        """The states a stateful layer carries over (zeros, made on its first call)."""
        batch = sequences.shape[0]
        if self._state_structure is None:
            zeros = initial_state(self.cell, batch, sequences)
            for i, tensor in enumerate(flatten(zeros)):
                self.register_buffer(f"_rnn_state_{i}", tensor.detach().clone(), persistent=False)
            self._state_structure = map_structure(lambda _: None, zeros)
        kept = self._state_buffers()
        if kept[0].shape[0] != batch:
            raise cell_error(
                self,
                f"the batch size of its kept states, {kept[0].shape[0]} (a stateful RNN keeps "
                "one state per sample: give it batches of that size, e.g. Input(batch_size=...) "
                "and fit(batch_size=..., shuffle=False))",
                batch_size=batch,
            )
        values = iter(kept)
        return map_structure(lambda _: next(values), self._state_structure)

    def _state_buffers(self) -> list[torch.Tensor]:
        count = len(flatten(self._state_structure))
        return [getattr(self, f"_rnn_state_{i}") for i in range(count)]

    def _keep_states(self, states: list[Any]) -> None:
        with torch.no_grad():
            for kept, new in zip(self._state_buffers(), flatten(states)):
                kept.copy_(new.detach())

    @property
    def states(self) -> list[Any] | None:
        """A stateful layer's kept states (None before its first call)."""
        if self._state_structure is None:
            return None
        values = iter(self._state_buffers())
        return map_structure(lambda _: next(values), self._state_structure)

    def reset_state(self, states: Any = None) -> None:
        """Zero a stateful layer's kept states (or set them to `states`, Keras 2's form)."""
        if not self.stateful:
            raise AttributeError(
                f"Layer '{self.name}' ({type(self).__name__}) expected stateful=True to reset "
                "its states, received: stateful=False"
            )
        if self._state_structure is None:
            return
        kept = self._state_buffers()
        with torch.no_grad():
            if states is None:
                for buffer in kept:
                    buffer.zero_()
                return
            values = flatten(list(states) if isinstance(states, (list, tuple)) else [states])
            if len(values) != len(kept):
                raise cell_error(self, f"{len(kept)} state arrays", received=len(values))
            for buffer, value in zip(kept, values):
                buffer.copy_(torch.as_tensor(np.asarray(value), dtype=buffer.dtype))

    def reset_states(self, states: Any = None) -> None:
        self.reset_state(states)

    # ----------------------------------------------------------------- config
    def _rnn_config(self) -> dict[str, Any]:
        config = {
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "zero_output_for_mask": self.zero_output_for_mask,
        }
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            **self._rnn_config(),
            "cell": nested_config.serialize(self.cell),
        }

    @classmethod
    def from_config(
        cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None
    ) -> RNN:
        config = dict(config)
        cell = nested_config.deserialize(config.pop("cell"), custom_objects)
        return cls(cell, **config)


def _reset_dropout(cell: Any) -> None:
    """Forget the call's dropout masks (each sequence of the next call draws new ones)."""
    if isinstance(cell, RecurrentCell):
        cell.reset_dropout_mask()
    elif isinstance(cell, StackedRNNCells):
        for inner in cell.cells:
            _reset_dropout(inner)


def _device_of(layer: Layer) -> torch.device:
    for tensor in layer.parameters():
        return tensor.device
    return torch.device("cpu")
