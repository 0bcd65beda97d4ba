"""Bidirectional: a recurrent layer run forwards and backwards, outputs merged (Keras 3's).

The wrapper keeps two copies of the layer: `forward_layer`, and `backward_layer` (the
same config with `go_backwards=True`, or the one given). The backward outputs are put
back in time order before merging ('concat', 'sum', 'mul', 'ave', or None for a pair).
With `return_state` the forward states follow the output, then the backward ones. As
in Keras, with a mask and `return_sequences` both directions output zeros at masked
steps (`zero_output_for_mask`).

Two LSTMs or two GRUs with their fused kernels, no mask and no dropout run as one
bidirectional `torch.lstm` / `torch.gru` call (one kernel for both directions).

    Bidirectional(LSTM(64, return_sequences=True), merge_mode="concat")
"""

from __future__ import annotations

import inspect
from typing import Any

import torch

from lamina import registry
from lamina.layers.base import Layer
from lamina.layers.recurrent import fused_op, native_gru, native_lstm, nested_config
from lamina.layers.recurrent.builtin_rnn import BuiltinRNN
from lamina.layers.recurrent.cell_base import cell_error
from lamina.layers.recurrent.gate_layout import fused_params
from lamina.layers.recurrent.thread_tuner import ThreadTuner, run_tuned

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


@registry.register("layer", "Bidirectional")
class Bidirectional(Layer):
    """Forward and backward copies of an RNN layer, outputs merged."""

    supports_masking = True

    def __init__(
        self,
        layer: Any,
        merge_mode: str | None = "concat",
        weights: Any = None,
        backward_layer: Any = None,
        **kwargs: Any,
    ) -> None:
        owner, dtype = "Bidirectional", kwargs.get("dtype")
        if isinstance(layer, dict):
            layer = nested_config.deserialize(layer, owner=owner, dtype=dtype)
        if isinstance(backward_layer, dict):
            backward_layer = nested_config.deserialize(backward_layer, owner=owner, dtype=dtype)
        if isinstance(layer, Layer) and layer._input_shape_arg is not None:
            kwargs.setdefault("input_shape", layer._input_shape_arg)
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise cell_error(self, "a Lamina layer to wrap (e.g. LSTM(64))", layer=layer)
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise cell_error(
                self, "backward_layer as a Lamina layer", backward_layer=backward_layer
            )
        if merge_mode not in MERGE_MODES:
            raise cell_error(self, f"merge_mode in {MERGE_MODES}", merge_mode=merge_mode)
        config = {k: v for k, v in layer.get_config().items() if k != "input_shape"}
        base = layer.name.removeprefix("forward_")
        self.forward_layer = type(layer).from_config({**config, "name": f"forward_{base}"})
        if backward_layer is None:
            backward = {**config, "go_backwards": True, "name": f"backward_{base}"}
            backward_layer = type(layer).from_config(backward)
        self.backward_layer = backward_layer
        self._verify()
        for sub in (self.forward_layer, self.backward_layer):
            if hasattr(sub, "zero_output_for_mask"):
                sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self.stateful = bool(getattr(layer, "stateful", False))
        self.return_sequences = bool(getattr(layer, "return_sequences", False))
        self.return_state = bool(getattr(layer, "return_state", False))
        self._initial_weights = weights
        # Thread counts for the two-direction kernel, measured apart for training and inference.
        self._tuners = {True: ThreadTuner(), False: ThreadTuner()}
        self.input_spec = layer.input_spec

    def _verify(self) -> None:
        fwd, bwd = self.forward_layer, self.backward_layer
        if getattr(fwd, "go_backwards", None) == getattr(bwd, "go_backwards", None):
            raise cell_error(
                self,
                "forward and backward layers with different go_backwards",
                go_backwards=getattr(bwd, "go_backwards", None),
            )
        for attr in ("stateful", "return_sequences", "return_state"):
            if getattr(fwd, attr, None) != getattr(bwd, attr, None):
                raise cell_error(
                    self,
                    f"the same {attr} in the forward layer ({getattr(fwd, attr, None)})"
                    " and the backward layer",
                    **{attr: getattr(bwd, attr, None)},
                )

    # ------------------------------------------------------------------ build
    def build(self, input_shape: Any) -> None:
        for sub in (self.forward_layer, self.backward_layer):
            if not sub.built:
                sub.__dict__["_build_device"] = getattr(self, "_build_device", None)
                sub._maybe_build(input_shape)
        if self._initial_weights is not None:
            self.built = True
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = self.forward_layer.compute_output_shape(input_shape)
        states: tuple = ()
        if self.return_state:
            shape, states = shape[0], tuple(shape[1:])
        if self.merge_mode == "concat":
            shape = (*shape[:-1], shape[-1] * 2)
        if self.merge_mode is None:
            outputs: tuple = (tuple(shape), tuple(shape))
            return (*outputs, *states, *states) if self.return_state else list(outputs)
        return (tuple(shape), *states, *states) if self.return_state else tuple(shape)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if self.return_sequences:
            out: Any = [mask, mask] if self.merge_mode is None else mask
        else:
            out = [None, None] if self.merge_mode is None else None
        if not self.return_state:
            return out
        n_states = len(getattr(self.forward_layer, "state_size", [])) * 2
        head = out if isinstance(out, list) else [out]
        return head + [None] * n_states

    # ------------------------------------------------------------------- call
    def call(
        self,
        sequences: torch.Tensor,
        initial_state: Any = None,
        mask: Any = None,
        training: bool = False,
    ) -> Any:
        forward_state = backward_state = None
        if initial_state is not None:
            given = list(initial_state)
            half = len(given) // 2
            forward_state, backward_state = given[:half], given[half:]
        both = None
        if mask is None and not self.stateful:
            both = self._fused_pair(sequences, forward_state, backward_state, bool(training))
        if both is not None:
            y, y_rev, states = both
        else:
            y = self._run(self.forward_layer, sequences, forward_state, mask, training)
            y_rev = self._run(self.backward_layer, sequences, backward_state, mask, training)
            states = ()
            if self.return_state:
                states = (*y[1:], *y_rev[1:])
                y, y_rev = y[0], y_rev[0]
            if self.return_sequences:
                y_rev = y_rev.flip(1)
        if y.dtype != self._dtype and self._dtype.is_floating_point:
            y, y_rev = y.to(self._dtype), y_rev.to(self._dtype)
        output = _merge(self.merge_mode, y, y_rev)
        if self.return_state:
            return (*output, *states) if self.merge_mode is None else (output, *states)
        return list(output) if self.merge_mode is None else output

    @staticmethod
    def _run(layer: Layer, sequences: torch.Tensor, state: Any, mask: Any, training: Any) -> Any:
        kwargs: dict[str, Any] = {"training": training}
        params = inspect.signature(type(layer).call).parameters
        if "initial_state" in params:
            kwargs["initial_state"] = state
        if "mask" in params:
            kwargs["mask"] = mask
        return layer(sequences, **kwargs)

    def _fused_pair(
        self, sequences: torch.Tensor, forward_state: Any, backward_state: Any, training: bool
    ) -> tuple[torch.Tensor, torch.Tensor, tuple] | None:
        """Both directions in one bidirectional kernel call, when both layers allow it."""
        fwd, bwd = self.forward_layer, self.backward_layer
        if not (isinstance(fwd, BuiltinRNN) and isinstance(bwd, BuiltinRNN)):
            return None
        kind = fwd._fused_kind(training)
        if kind not in ("lstm", "gru") or bwd._fused_kind(training) != kind:
            return None
        if torch.compiler.is_compiling() or not fused_op.has_storage(sequences):
            return None  # each layer then takes fused_op's way
        if fwd.go_backwards or not bwd.go_backwards:
            return None
        if fwd.units != bwd.units or fwd.use_bias != bwd.use_bias or not fwd.built or not bwd.built:
            return None
        if training and (fwd.dropout > 0.0 or bwd.dropout > 0.0):
            return None  # each direction draws its own input mask
        if sequences.dtype != fwd._dtype:
            sequences = sequences.to(fwd._dtype)  # the layers compute in their dtype
        f_states = fwd._start_states(sequences, forward_state)
        b_states = bwd._start_states(sequences, backward_state)
        hx = [torch.stack([f, b]) for f, b in zip(f_states, b_states)]
        params = fused_params(kind, fwd.cell) + fused_params(kind, bwd.cell)
        if kind == "gru" and native_gru.usable(sequences, f_states[0], params):
            return None  # each direction on Lamina's GRU kernel beats torch.gru's pair
        if kind == "lstm" and native_lstm.usable(sequences, f_states, params):
            return None  # and on its LSTM kernel, torch.lstm's pair
        has_biases = fwd.use_bias
        n = len(hx)

        def compute(inputs: list[torch.Tensor]) -> list[torch.Tensor]:
            x, states, weights = inputs[0], inputs[1 : 1 + n], inputs[1 + n :]
            train = torch.is_grad_enabled() and any(t.requires_grad for t in inputs)
            if kind == "lstm":
                out, h, c = torch.lstm(
                    x, (states[0], states[1]), weights, has_biases, 1, 0.0, train, True, True
                )
                return [out, h, c]
            out, h = torch.gru(x, states[0], weights, has_biases, 1, 0.0, train, True, True)
            return [out, h]

        inputs = [sequences, *hx, *params]
        if sequences.device.type == "cpu":
            in_dims = [0] + [1] * n + [None] * len(params)
            out_dims = [0] + [1] * n  # outputs batch first; states (direction, batch, units)
            tuner = self._tuners[torch.is_grad_enabled()]
            found = run_tuned(tuner, compute, inputs, in_dims, out_dims)
        else:
            found = compute(inputs)
        out, finals = found[0], found[1:]
        f_final, b_final = [f[0] for f in finals], [f[1] for f in finals]
        units = fwd.units
        if self.return_sequences:
            y, y_rev = out[..., :units], out[..., units:]
        else:
            y, y_rev = f_final[0], b_final[0]
        return y, y_rev, (*f_final, *b_final) if self.return_state else ()

    # ----------------------------------------------------------------- states
    @property
    def states(self) -> tuple | None:
        fwd = getattr(self.forward_layer, "states", None)
        bwd = getattr(self.backward_layer, "states", None)
        return tuple(fwd + bwd) if fwd and bwd else None

    def reset_state(self) -> None:
        if not self.stateful:
            raise AttributeError(
                f"Layer '{self.name}' (Bidirectional) expected a stateful layer to reset "
                "its states, received: stateful=False"
            )
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

    def reset_states(self) -> None:
        self.reset_state()

    # ----------------------------------------------------------------- config
    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "merge_mode": self.merge_mode,
            "layer": nested_config.serialize(self.forward_layer),
            "backward_layer": nested_config.serialize(self.backward_layer),
        }

    @classmethod
    def from_config(
        cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None
    ) -> Bidirectional:
        config = dict(config)
        dtype = config.get("dtype")
        layer = nested_config.deserialize(
            config.pop("layer"), custom_objects, "Bidirectional", dtype
        )
        backward = config.pop("backward_layer", None)
        if backward is not None:
            backward = nested_config.deserialize(backward, custom_objects, "Bidirectional", dtype)
        return cls(layer, backward_layer=backward, **config)


def _merge(mode: str | None, y: torch.Tensor, y_rev: torch.Tensor) -> Any:
    if mode == "concat":
        return torch.cat([y, y_rev], dim=-1)
    if mode == "sum":
        return y + y_rev
    if mode == "ave":
        return (y + y_rev) / 2
    if mode == "mul":
        return y * y_rev
    return (y, y_rev)
