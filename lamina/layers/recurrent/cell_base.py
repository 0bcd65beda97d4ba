"""What SimpleRNNCell, LSTMCell and GRUCell share: their arguments and dropout masks.

A cell computes one time step, `call(inputs, states, training) -> (output, new_states)`,
as Keras's cells do. Its weights keep Keras's names and layouts as seen by
`get_weights()` (`kernel` (input_dim, gates * units), `recurrent_kernel`
(units, gates * units), `bias`), stored transposed so that the kernels are PyTorch's
`weight_ih` / `weight_hh` matrices (`gate_layout.py` reorders gates where the two
libraries differ).

Dropout follows Keras: one mask per sequence (drawn on the first step of a call,
reused at every step, dropped when the call ends), for the inputs (`dropout`) and the
previous output (`recurrent_dropout`); with `recurrent_dropout` each gate gets its
own mask (Keras's `implementation=1`).
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import constraints, initializers, regularizers
from lamina.layers.base import Layer


def cell_error(owner: Layer, expected: str, **received: Any) -> ValueError:
    """ "Layer 'name' (Class) expected ..., received: arg=value" for `owner`."""
    got = ", ".join(f"{k}={v!r}" for k, v in received.items())
    return ValueError(
        f"Layer '{owner.name}' ({type(owner).__name__}) expected {expected}, received: {got}"
    )


def check_units(layer: Layer, units: Any) -> int:
    if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
        raise cell_error(layer, "a positive integer for units", units=units)
    return units


def check_rate(layer: Layer, name: str, rate: Any) -> float:
    """A dropout rate in [0, 1]; Keras clips to that range, Lamina names a wrong value."""
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate <= 1.0:
        raise cell_error(layer, f"{name} as a fraction in [0, 1]", **{name: rate})
    return float(rate)


def check_seed(layer: Layer, seed: Any) -> int | None:
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise cell_error(layer, "an integer seed or None", seed=seed)
    return seed


class RecurrentCell(Layer):
    """Base of the built-in cells: weight arguments, dropout masks, initial state."""

    gates = 1  # blocks of `units` columns in the kernels (LSTM 4, GRU 3)

    def __init__(
        self,
        units: int,
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
        super().__init__(**kwargs)
        self.units = check_units(self, units)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = kernel_constraint
        self.recurrent_constraint = recurrent_constraint
        self.bias_constraint = bias_constraint
        self.dropout = check_rate(self, "dropout", dropout)
        self.recurrent_dropout = check_rate(self, "recurrent_dropout", recurrent_dropout)
        self.seed = check_seed(self, seed)
        self._generator: torch.Generator | None = None
        self._masks: dict[str, Any] = {}
        self.output_size = self.units

    # ---------------------------------------------------------------- weights
    def _build_kernels(self, input_dim: int, bias_shape: tuple[int, ...], bias_init: Any) -> None:
        """kernel, recurrent_kernel and (with use_bias) bias, in Keras's shapes."""
        width = self.gates * self.units
        self.kernel = self.add_weight(
            "kernel",
            (input_dim, width),
            self.kernel_initializer,
            self.kernel_regularizer,
            self.kernel_constraint,
            torch_layout=(1, 0),
        )
        self.recurrent_kernel = self.add_weight(
            "recurrent_kernel",
            (self.units, width),
            self.recurrent_initializer,
            self.recurrent_regularizer,
            self.recurrent_constraint,
            torch_layout=(1, 0),
        )
        if self.use_bias:
            self.bias = self.add_weight(
                "bias", bias_shape, bias_init, self.bias_regularizer, self.bias_constraint
            )
        else:
            self.bias = None

    def _input_dim(self, input_shape: Any) -> int:
        dim = input_shape[-1]
        if dim is None:
            raise cell_error(self, "a known feature dimension", input_shape=tuple(input_shape))
        return int(dim)

    # ---------------------------------------------------------------- dropout
    def _drop_generator(self, device: torch.device) -> torch.Generator | None:
        if self.seed is None or torch.compiler.is_compiling():
            return None
        if self._generator is None or self._generator.device != device:
            self._generator = torch.Generator(device=device).manual_seed(self.seed)
        return self._generator

    def _draw(self, like: torch.Tensor, rate: float, count: int) -> list[torch.Tensor]:
        gen = self._drop_generator(like.device)
        masks = []
        for _ in range(count):
            noise = torch.rand(like.shape, dtype=like.dtype, device=like.device, generator=gen)
            masks.append((noise >= rate).to(like.dtype) * (1.0 / (1.0 - rate)))
        return masks

    def dropout_masks(self, inputs: torch.Tensor, count: int) -> list[torch.Tensor] | None:
        """This sequence's input masks (`count` of them), drawn on first use."""
        if not 0.0 < self.dropout < 1.0:
            return None
        if "input" not in self._masks:
            self._masks["input"] = self._draw(inputs, self.dropout, count)
        return self._masks["input"]

    def recurrent_masks(self, state: torch.Tensor, count: int) -> list[torch.Tensor] | None:
        """This sequence's masks for the previous output, drawn on first use."""
        if not 0.0 < self.recurrent_dropout < 1.0:
            return None
        if "recurrent" not in self._masks:
            self._masks["recurrent"] = self._draw(state, self.recurrent_dropout, count)
        return self._masks["recurrent"]

    def reset_dropout_mask(self) -> None:
        """Forget this sequence's masks (the RNN layer calls it when a call ends)."""
        self._masks = {}

    reset_recurrent_dropout_mask = reset_dropout_mask

    # ------------------------------------------------------------------ state
    def get_initial_state(self, batch_size: int | None = None) -> list[torch.Tensor]:
        sizes = self.state_size if isinstance(self.state_size, list) else [self.state_size]
        device = self.kernel.device if self.built else None
        return [torch.zeros(batch_size or 1, s, dtype=self._dtype, device=device) for s in sizes]

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return (input_shape[0], self.units)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }
