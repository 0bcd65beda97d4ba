"""Keras 3 itself as the reference: same arguments, Keras's weights copied, same outputs.

Every combination of return_sequences, return_state and go_backwards, without a mask and
with right-padded, left-padded and holed masks (fully masked samples included), for
SimpleRNN, LSTM and GRU (reset_after True and False), on the fused kernels and on the
step loop; Bidirectional in every merge mode; stateful layers across calls and
`initial_state`; stacked cells.
"""

from __future__ import annotations

import itertools
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")

from lamina.layers import recurrent  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.normal(size=(3, 6, 4)).astype(np.float32)
MASKS = {
    "none": None,
    "right": np.array([[1, 1, 1, 1, 0, 0], [1] * 6, [1, 0, 0, 0, 0, 0]], bool),
    "left": np.array([[0, 0, 1, 1, 1, 1], [1] * 6, [0, 0, 0, 0, 0, 1]], bool),
    "middle": np.array([[0, 1, 1, 1, 0, 0], [1] * 6, [0] * 6], bool),
    "holes": np.array([[1, 0, 1, 1, 0, 1], [0, 1, 0, 1, 1, 0], [0] * 6], bool),
}
LAYERS = [
    ("LSTM", {}),
    ("GRU", {}),
    ("GRU", {"reset_after": False}),
    ("SimpleRNN", {}),
    ("SimpleRNN", {"activation": "relu"}),
    ("LSTM", {"activation": "relu", "recurrent_activation": "hard_sigmoid"}),  # the step loop
]


# tools/api_coverage.py reads this: the recurrent names the tests below compare with Keras
# (cells and StackedRNNCells through RNN([...cells]) in test_stacked_cells_match_keras).
RECURRENT_PARITY = {
    f"layers.{name}": name
    for name in (
        "LSTM", "GRU", "SimpleRNN", "Bidirectional", "RNN",
        "LSTMCell", "GRUCell", "SimpleRNNCell", "StackedRNNCells",
    )
}  # fmt: skip


def _flat(outputs) -> list:
    out = []
    for o in outputs if isinstance(outputs, (list, tuple)) else [outputs]:
        out += _flat(o) if isinstance(o, (list, tuple)) else [o]
    return out


def _numpy(t) -> np.ndarray:
    return keras.ops.convert_to_numpy(t) if not isinstance(t, torch.Tensor) else t.detach().numpy()


def _pair(k_layer, l_layer, shape=X.shape):
    """The Keras layer and the Lamina layer, built, with the same (random) weights."""
    k_layer.build(shape)
    l_layer(torch.zeros(shape))
    weights = [RNG.normal(0, 0.6, size=w.shape).astype(np.float32) for w in k_layer.get_weights()]
    k_layer.set_weights(weights)
    l_layer.set_weights(weights)
    assert [w.shape for w in l_layer.get_weights()] == [w.shape for w in weights]
    return k_layer, l_layer


def _compare(k_out, l_out, label: str) -> None:
    k_flat, l_flat = _flat(k_out), _flat(l_out)
    assert len(k_flat) == len(l_flat), label
    for k, lam in zip(k_flat, l_flat):
        np.testing.assert_allclose(_numpy(lam), _numpy(k), rtol=1e-5, atol=2e-6, err_msg=label)


@pytest.mark.parametrize("name,kwargs", LAYERS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(LAYERS)])
def test_recurrent_layer_matches_keras_in_every_mode(name, kwargs):
    for seqs, state, backwards in itertools.product([False, True], repeat=3):
        args = dict(kwargs, return_sequences=seqs, return_state=state, go_backwards=backwards)
        k_layer, l_layer = _pair(
            getattr(keras.layers, name)(5, **args),
            getattr(recurrent, name)(5, **args),
        )
        for mask_name, mask in MASKS.items():
            label = f"{name} {args} mask={mask_name}"
            k_out = k_layer(X, mask=mask)
            l_out = l_layer(
                torch.from_numpy(X), mask=None if mask is None else torch.from_numpy(mask)
            )
            _compare(k_out, l_out, label)


BIDIRECTIONAL = [("LSTM", m) for m in ("concat", "sum", "mul", "ave", None)] + [
    ("GRU", "concat"),
    ("SimpleRNN", None),
]


@pytest.mark.parametrize("name,merge_mode", BIDIRECTIONAL)
def test_bidirectional_matches_keras(name, merge_mode):
    for seqs, state in itertools.product([False, True], repeat=2):
        k_layer, l_layer = _pair(
            keras.layers.Bidirectional(
                getattr(keras.layers, name)(3, return_sequences=seqs, return_state=state),
                merge_mode=merge_mode,
            ),
            recurrent.Bidirectional(
                getattr(recurrent, name)(3, return_sequences=seqs, return_state=state),
                merge_mode=merge_mode,
            ),
        )
        for mask_name in ("none", "right", "holes"):
            mask = MASKS[mask_name]
            label = f"Bidirectional({name}) {merge_mode} seqs={seqs} state={state} {mask_name}"
            k_out = k_layer(X, mask=mask)
            l_out = l_layer(
                torch.from_numpy(X), mask=None if mask is None else torch.from_numpy(mask)
            )
            _compare(k_out, l_out, label)


def test_bidirectional_with_a_given_backward_layer_and_initial_states_matches_keras():
    states = [RNG.normal(size=(3, 4)).astype(np.float32) for _ in range(4)]
    k_layer, l_layer = _pair(
        keras.layers.Bidirectional(
            keras.layers.LSTM(4, return_sequences=True, return_state=True),
            backward_layer=keras.layers.LSTM(
                4, return_sequences=True, return_state=True, go_backwards=True
            ),
        ),
        recurrent.Bidirectional(
            recurrent.LSTM(4, return_sequences=True, return_state=True),
            backward_layer=recurrent.LSTM(
                4, return_sequences=True, return_state=True, go_backwards=True
            ),
        ),
    )
    k_out = k_layer(X, initial_state=states)
    l_out = l_layer(torch.from_numpy(X), initial_state=[torch.from_numpy(s) for s in states])
    _compare(k_out, l_out, "Bidirectional with initial_state")


@pytest.mark.parametrize("name,count", [("LSTM", 2), ("GRU", 1), ("SimpleRNN", 1)])
def test_initial_state_matches_keras(name, count):
    states = [RNG.normal(size=(3, 5)).astype(np.float32) for _ in range(count)]
    for mask_name in ("none", "left", "holes"):
        mask = MASKS[mask_name]
        k_layer, l_layer = _pair(
            getattr(keras.layers, name)(5, return_sequences=True, return_state=True),
            getattr(recurrent, name)(5, return_sequences=True, return_state=True),
        )
        k_out = k_layer(X, initial_state=states, mask=mask)
        l_out = l_layer(
            torch.from_numpy(X),
            initial_state=[torch.from_numpy(s) for s in states],
            mask=None if mask is None else torch.from_numpy(mask),
        )
        _compare(k_out, l_out, f"{name} initial_state mask={mask_name}")


@pytest.mark.parametrize("name", ["LSTM", "GRU", "SimpleRNN"])
def test_stateful_layers_carry_states_like_keras(name):
    k_layer, l_layer = _pair(
        getattr(keras.layers, name)(4, stateful=True, return_state=True),
        getattr(recurrent, name)(4, stateful=True, return_state=True),
    )
    for call in range(3):
        chunk = X[:, 2 * call : 2 * call + 2]
        _compare(k_layer(chunk), l_layer(torch.from_numpy(chunk)), f"{name} stateful call {call}")
    k_layer.reset_state()
    l_layer.reset_state()
    _compare(k_layer(X[:, :2]), l_layer(torch.from_numpy(X[:, :2])), f"{name} after reset_state")
    _compare([v.value for v in k_layer.states], l_layer.states, f"{name} kept states")


def test_stacked_cells_match_keras():
    k_layer, l_layer = _pair(
        keras.layers.RNN(
            [
                keras.layers.LSTMCell(4),
                keras.layers.GRUCell(3, reset_after=False),
                keras.layers.SimpleRNNCell(2),
            ],
            return_sequences=True,
            return_state=True,
        ),
        recurrent.RNN(
            [
                recurrent.LSTMCell(4),
                recurrent.GRUCell(3, reset_after=False),
                recurrent.SimpleRNNCell(2),
            ],
            return_sequences=True,
            return_state=True,
        ),
    )
    for mask_name in ("none", "holes"):
        mask = MASKS[mask_name]
        k_out = k_layer(X, mask=mask)
        l_out = l_layer(torch.from_numpy(X), mask=None if mask is None else torch.from_numpy(mask))
        _compare(k_out, l_out, f"stacked mask={mask_name}")
        assert [type(s) for s in k_out[1:]] == [type(s) for s in l_out[1:]]  # per-cell lists


@pytest.mark.parametrize("name", ["LSTM", "GRU", "SimpleRNN", "Bidirectional"])
def test_configs_and_shapes_match_keras(name):
    def make(lib):
        if name == "Bidirectional":
            return lib.Bidirectional(lib.LSTM(3, return_sequences=True, return_state=True))
        return getattr(lib, name)(3, return_sequences=True, return_state=True, dropout=0.1)

    k_layer, l_layer = make(keras.layers), make(recurrent)
    k_layer.build(X.shape)
    l_layer(torch.from_numpy(X))
    k_config, l_config = k_layer.get_config(), l_layer.get_config()
    assert set(k_config) <= set(l_config)
    # Keras's SimpleRNN takes a seed but leaves it out of its config; Lamina keeps it.
    assert set(l_config) - set(k_config) <= {"seed"}
    shape = (None, 6, 4)
    k_shape = k_layer.compute_output_shape(shape)
    assert _flat_shapes(l_layer.compute_output_shape(shape)) == _flat_shapes(k_shape)
    assert [w.shape for w in l_layer.get_weights()] == [w.shape for w in k_layer.get_weights()]
    mask = np.ones((3, 6), bool)
    k_mask = (
        k_layer.compute_mask(X, keras.ops.convert_to_tensor(mask))
        if name != "Bidirectional"
        else None
    )
    if k_mask is not None:
        l_mask = l_layer.compute_mask(torch.from_numpy(X), torch.from_numpy(mask))
        assert [m is None for m in _flat(l_mask)] == [m is None for m in _flat(k_mask)]


def _flat_shapes(shapes) -> list:
    if isinstance(shapes, (list, tuple)) and shapes and isinstance(shapes[0], (list, tuple)):
        out = []
        for s in shapes:
            out += _flat_shapes(s)
        return out
    return [tuple(shapes)]
