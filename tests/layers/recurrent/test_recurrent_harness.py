"""The shared layer harness for every recurrent layer, against NumPy step loops.

Each case checks shapes, weights in Keras's layouts, config round trips, an SGD step,
float64 finite-difference gradients (through the fused kernels) and two fit steps,
eager and compiled (one compiled case per class: the compiled step runs the fused
operator of `fused_op.py`).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from layer_harness import run_layer_test
from rnn_reference import gru_step, lstm_step, run, simple_rnn_step, zeros

from lamina import registry
from lamina.layers import Layer
from lamina.layers.recurrent import (
    GRU,
    LSTM,
    RNN,
    Bidirectional,
    GRUCell,
    LSTMCell,
    SimpleRNN,
    SimpleRNNCell,
    StackedRNNCells,
)

B, T, F, U = 2, 5, 3, 4


def entry(layer) -> dict:
    """A nested entry without a dtype: it takes its owner's (the harness's float64 copy)."""
    config = {k: v for k, v in layer.get_config().items() if k != "dtype"}
    return {"class_name": type(layer).__name__, "config": config}


def _ref(step, count, **loop):
    def reference(x, w):
        out, _ = run(lambda xt, s: step(xt, s, w), x, zeros(len(x), U, count), **loop)
        return out

    return reference


# The harness draws a layer's own weights signed and other weights in [0.5, 1.5] (as for
# statistics); a recurrent layer's weights belong to its cell, so they are all positive
# there: a relu RNN then grows without bound, and its case keeps its initial weights.
CASES = [
    # (class, kwargs, output shape, params, reference, compiled fit)
    (LSTM, {"units": U}, (B, U), 4 * U * (F + U + 1), _ref(lstm_step, 2), True),
    (
        LSTM,
        {"units": U, "return_sequences": True, "go_backwards": True},
        (B, T, U),
        4 * U * (F + U + 1),
        _ref(lstm_step, 2, return_sequences=True, go_backwards=True),
        False,
    ),
    (
        LSTM,
        {"units": U, "use_bias": False, "unit_forget_bias": False},
        (B, U),
        4 * U * (F + U),
        _ref(lstm_step, 2),
        False,
    ),
    (GRU, {"units": U}, (B, U), 3 * U * (F + U + 2), _ref(gru_step, 1), True),
    (
        GRU,
        {"units": U, "reset_after": False, "return_sequences": True},
        (B, T, U),
        3 * U * (F + U + 1),
        _ref(lambda x, s, w: gru_step(x, s, w, reset_after=False), 1, return_sequences=True),
        False,
    ),
    (SimpleRNN, {"units": U}, (B, U), U * (F + U + 1), _ref(simple_rnn_step, 1), True),
    (
        SimpleRNN,
        {"units": U, "activation": "relu", "go_backwards": True},
        (B, U),
        U * (F + U + 1),
        _ref(
            lambda x, s, w: simple_rnn_step(x, s, w, lambda z: np.maximum(z, 0)),
            1,
            go_backwards=True,
        ),
        False,
    ),
    (
        SimpleRNN,
        {"units": U, "activation": "sigmoid"},
        (B, U),
        U * (F + U + 1),
        _ref(lambda x, s, w: simple_rnn_step(x, s, w, lambda z: 1 / (1 + np.exp(-z))), 1),
        False,
    ),
]


@pytest.mark.parametrize(
    "cls,kwargs,out_shape,n_params,reference,compiled",
    CASES,
    ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)],
)
def test_builtin_layers_pass_the_harness(cls, kwargs, out_shape, n_params, reference, compiled):
    run_layer_test(
        cls,
        kwargs,
        (B, T, F),
        out_shape,
        expected_num_params=n_params,
        reference=reference,
        compiled_fit=compiled,
        random_weights=kwargs.get("activation") != "relu",
    )


@pytest.mark.parametrize(
    "cell,step,count",
    [(SimpleRNNCell, simple_rnn_step, 1), (LSTMCell, lstm_step, 2), (GRUCell, gru_step, 1)],
    ids=["SimpleRNNCell", "LSTMCell", "GRUCell"],
)
def test_rnn_over_each_cell_passes_the_harness(cell, step, count):
    """RNN(cell) runs the step loop (the fused kernels belong to LSTM, GRU, SimpleRNN)."""

    def reference(x, w):
        out, _ = run(
            lambda xt, s: step(xt, s, w), x, zeros(len(x), U, count), return_sequences=True
        )
        return out

    run_layer_test(
        RNN,
        {"cell": entry(cell(U)), "return_sequences": True},
        (B, T, F),
        (B, T, U),
        reference=reference,
        compiled_fit=cell is LSTMCell,
    )


def test_stacked_cells_pass_the_harness():
    def reference(x, w):
        lstm_w, gru_w = w[:3], w[3:]

        def step(xt, s):
            h1, s1 = lstm_step(xt, s[:2], lstm_w)
            h2, s2 = gru_step(h1, s[2:], gru_w)
            return h2, s1 + s2

        states = zeros(len(x), U, 2) + zeros(len(x), 2, 1)
        return run(step, x, states)[0]

    run_layer_test(
        RNN,
        {
            "cell": {
                "class_name": "StackedRNNCells",
                "config": {
                    "cells": [
                        entry(LSTMCell(U)),
                        entry(GRUCell(2)),
                    ]
                },
            }
        },
        (B, T, F),
        (B, 2),
        expected_num_params=4 * U * (F + U + 1) + 3 * 2 * (U + 2 + 2),
        reference=reference,
        compiled_fit=False,
    )
    assert isinstance(RNN([LSTMCell(U), GRUCell(2)]).cell, StackedRNNCells)


@registry.register("layer", "RecurrentTestMinimalCell")
class RecurrentTestMinimalCell(Layer):
    """Keras's documented custom cell: state_size and call(inputs, states)."""

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight("kernel", (input_shape[-1], self.units))
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (self.units, self.units))

    def call(self, inputs, states):
        output = torch.tanh(inputs @ self.kernel + states[0] @ self.recurrent_kernel)
        return output, [output]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_rnn_over_a_custom_cell_passes_the_harness():
    def reference(x, w):
        def step(xt, s):
            h = np.tanh(xt @ w[0] + s[0] @ w[1])
            return h, [h]

        return run(step, x, zeros(len(x), U, 1), return_sequences=True)[0]

    run_layer_test(
        RNN,
        {"cell": entry(RecurrentTestMinimalCell(U)), "return_sequences": True},
        (B, T, F),
        (B, T, U),
        expected_num_params=U * (F + U),
        reference=reference,
        compiled_fit=False,
    )
    layer = RNN(
        RecurrentTestMinimalCell(U), return_sequences=True
    )  # a cell object, as Keras users pass it
    x = torch.randn(B, T, F)
    expected = reference(x.numpy(), layer(x) is not None and layer.get_weights())
    np.testing.assert_allclose(layer(x).detach().numpy(), expected, rtol=1e-5, atol=1e-6)


MERGES = ["concat", "sum", "mul", "ave"]


@pytest.mark.parametrize("merge_mode", MERGES)
def test_bidirectional_passes_the_harness(merge_mode):
    def reference(x, w):
        fwd, _ = run(
            lambda xt, s: lstm_step(xt, s, w[:3]), x, zeros(len(x), U, 2), return_sequences=True
        )
        bwd, _ = run(
            lambda xt, s: lstm_step(xt, s, w[3:]),
            x,
            zeros(len(x), U, 2),
            return_sequences=True,
            go_backwards=True,
        )
        bwd = bwd[:, ::-1]
        return {
            "concat": np.concatenate([fwd, bwd], -1),
            "sum": fwd + bwd,
            "mul": fwd * bwd,
            "ave": (fwd + bwd) / 2,
        }[merge_mode]

    run_layer_test(
        Bidirectional,
        {
            "layer": entry(LSTM(U, return_sequences=True)),
            "merge_mode": merge_mode,
        },
        (B, T, F),
        (B, T, 2 * U if merge_mode == "concat" else U),
        expected_num_params=2 * 4 * U * (F + U + 1),
        reference=reference,
        compiled_fit=merge_mode == "concat",
    )
