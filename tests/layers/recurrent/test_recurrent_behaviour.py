"""Recurrent layers' behaviour beyond the reference values: states kept across calls,
dropout, initial states, the fused kernels against torch.nn, errors, and training."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina.layers import GRU, LSTM, RNN, Bidirectional, Dense, Input, LSTMCell, SimpleRNN

B, T, F, U = 3, 6, 4, 5


def _copy_to_torch_lstm(layer: LSTM) -> torch.nn.LSTM:
    """torch.nn.LSTM with the layer's weights: the same gate order, the bias split in two."""
    kernel, recurrent, bias = layer.get_weights()
    module = torch.nn.LSTM(kernel.shape[0], layer.units, batch_first=True)
    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.from_numpy(kernel.T))
        module.weight_hh_l0.copy_(torch.from_numpy(recurrent.T))
        module.bias_ih_l0.copy_(torch.from_numpy(bias))
        module.bias_hh_l0.zero_()
    return module


def _copy_to_torch_gru(layer: GRU) -> torch.nn.GRU:
    """torch.nn.GRU with the layer's weights: Keras's z, r, h blocks as torch's r, z, n."""
    kernel, recurrent, bias = layer.get_weights()
    u = layer.units

    def order(w: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(
            np.concatenate([w[..., u : 2 * u], w[..., :u], w[..., 2 * u :]], -1)
        )

    module = torch.nn.GRU(kernel.shape[0], u, batch_first=True)
    with torch.no_grad():
        module.weight_ih_l0.copy_(order(kernel).T)
        module.weight_hh_l0.copy_(order(recurrent).T)
        module.bias_ih_l0.copy_(order(bias[0]))
        module.bias_hh_l0.copy_(order(bias[1]))
    return module


@pytest.mark.parametrize("cls", [LSTM, GRU])
def test_weights_convert_to_torch_nn_modules_exactly(cls):
    torch.manual_seed(0)
    layer = cls(U, return_sequences=True, return_state=True, bias_initializer="random_normal")
    x = torch.randn(B, T, F)
    out, *states = layer(x)
    module = _copy_to_torch_lstm(layer) if cls is LSTM else _copy_to_torch_gru(layer)
    expected, hidden = module(x)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)
    hidden = hidden if isinstance(hidden, tuple) else (hidden,)
    for got, want in zip(states, hidden):
        torch.testing.assert_close(got, want[0], rtol=1e-5, atol=1e-6)


def test_lstm_bias_starts_with_a_unit_forget_gate():
    layer = LSTM(U)
    layer(torch.zeros(1, 2, F))
    expected = np.r_[np.zeros(U), np.ones(U), np.zeros(2 * U)]
    np.testing.assert_array_equal(layer.get_weights()[2], expected)
    plain = LSTM(U, unit_forget_bias=False)
    plain(torch.zeros(1, 2, F))
    np.testing.assert_array_equal(plain.get_weights()[2], np.zeros(4 * U))


@pytest.mark.parametrize("cls", [LSTM, GRU, SimpleRNN])
def test_a_stateful_layer_continues_where_the_last_call_stopped(cls):
    torch.manual_seed(0)
    stateful = cls(U, stateful=True, return_sequences=True)
    whole = cls(U, return_sequences=True)
    x = torch.randn(B, T, F)
    stateful(x[:, :1])
    whole(x[:, :1])
    whole.set_weights(stateful.get_weights())
    stateful.reset_state()
    parts = torch.cat([stateful(x[:, :2]), stateful(x[:, 2:])], 1)
    torch.testing.assert_close(parts, whole(x))
    assert stateful.get_weights() and len(stateful.get_weights()) == len(whole.get_weights())
    assert "_rnn_state_0" not in stateful.state_dict()  # states are not weights
    stateful.reset_states()
    torch.testing.assert_close(stateful(x[:, :2]), whole(x[:, :2]))
    with pytest.raises(ValueError, match=r"expected the batch size of its kept states, 3"):
        stateful(x[:2])


def test_reset_state_needs_a_stateful_layer_and_sets_given_values():
    with pytest.raises(AttributeError, match="expected stateful=True"):
        LSTM(U).reset_state()
    layer = GRU(U, stateful=True, return_state=True)
    layer(torch.zeros(2, 3, F))
    layer.reset_state(np.ones((2, U), np.float32))
    torch.testing.assert_close(layer.states[0], torch.ones(2, U))


def test_initial_state_count_is_checked_and_named():
    layer = LSTM(U, name="decoder")
    with pytest.raises(ValueError, match=r"Layer 'decoder' \(LSTM\) expected initial_state as 2"):
        layer(torch.zeros(B, T, F), initial_state=[torch.zeros(B, U)])


def test_encoder_decoder_with_symbolic_initial_states():
    """Keras's seq2seq pattern: the encoder's states start the decoder, in a functional model."""
    enc_in, dec_in = Input((T, F)), Input((4, 3))
    _, h, c = LSTM(U, return_state=True)(enc_in)
    dec = LSTM(U, return_sequences=True)(dec_in, initial_state=[h, c])
    model = lamina.Model([enc_in, dec_in], Dense(2)(dec))
    x, y = torch.randn(B, T, F), torch.randn(B, 4, 3)
    out = model([x, y])
    assert tuple(out.shape) == (B, 4, 2)
    changed = model([x * 2, y])
    assert not torch.allclose(out, changed)  # the decoder depends on the encoder's states


@pytest.mark.parametrize("cls", [LSTM, GRU, SimpleRNN])
def test_dropout_acts_in_training_only_with_one_mask_per_sequence(cls):
    torch.manual_seed(0)
    layer = cls(U, dropout=0.5, return_sequences=True, seed=3)
    plain = cls(U, return_sequences=True)
    x = torch.randn(8, T, F)
    layer(x)
    plain(x)
    plain.set_weights(layer.get_weights())
    torch.testing.assert_close(layer(x, training=False), plain(x))
    assert not torch.allclose(layer(x, training=True), plain(x))
    # One input mask per sequence: the training output is the inference output on the
    # inputs times the same (seeded) mask at every step.
    fresh = cls(U, dropout=0.5, return_sequences=True, seed=3)
    fresh(x)
    fresh.set_weights(layer.get_weights())
    trained = fresh(x, training=True)
    keep = torch.rand(x[:, 0].shape, generator=torch.Generator().manual_seed(3)) >= 0.5
    torch.testing.assert_close(trained, plain(x * (keep / 0.5)[:, None, :]))


@pytest.mark.parametrize("cls", [LSTM, GRU, SimpleRNN])
def test_recurrent_dropout_runs_the_step_loop_in_training_only(cls):
    torch.manual_seed(0)
    layer = cls(U, recurrent_dropout=0.4, return_sequences=True)
    x = torch.randn(B, T, F)
    layer(x)
    assert layer._fused_kind(training=False) is not None
    assert layer._fused_kind(training=True) is None
    plain = cls(U, return_sequences=True)
    plain(x)
    plain.set_weights(layer.get_weights())
    torch.testing.assert_close(layer(x, training=False), plain(x))
    out = layer(x, training=True)
    assert not torch.allclose(out, plain(x)) and torch.isfinite(out).all()


def test_the_fused_kernel_is_chosen_only_where_it_computes_the_same():
    assert LSTM(U)._fused_kind(False) == "lstm"
    assert LSTM(U, activation="relu")._fused_kind(False) is None
    assert LSTM(U, recurrent_activation="hard_sigmoid")._fused_kind(False) is None
    assert GRU(U)._fused_kind(False) == "gru"
    assert GRU(U, reset_after=False)._fused_kind(False) is None
    assert SimpleRNN(U)._fused_kind(False) == "rnn_tanh"
    assert SimpleRNN(U, activation="relu")._fused_kind(False) == "rnn_relu"
    assert SimpleRNN(U, activation="elu")._fused_kind(False) is None
    assert RNN(LSTMCell(U))._fused_kind(False) is None


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: LSTM(0), "positive integer for units"),
        (lambda: GRU(U, dropout=1.5), r"dropout as a fraction in \[0, 1\]"),
        (lambda: LSTM(U, use_cudnn="yes"), "use_cudnn in"),
        (lambda: Bidirectional(LSTM(U), merge_mode="max"), "merge_mode in"),
        (lambda: Bidirectional("lstm"), "a Lamina layer to wrap"),
        (lambda: RNN(object()), "a cell with a call"),
        (lambda: Bidirectional(LSTM(U), backward_layer=LSTM(U)), "different go_backwards"),
    ],
)
def test_bad_arguments_name_what_was_expected(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_inputs_of_the_wrong_rank_name_the_layer():
    with pytest.raises(ValueError, match="rnn_input_check"):
        LSTM(U, name="rnn_input_check")(torch.zeros(B, F))


def test_an_lstm_model_learns_a_sequence_task_eagerly_and_compiled():
    """The sign of the sum of a sequence's first feature: a fit that must use the
    whole sequence. Both jit_compile settings learn it."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 10, 2)).astype(np.float32)
    y = (x[:, :, 0].sum(1) > 0).astype(np.float32)[:, None]
    for jit in (False, True):
        torch.manual_seed(0)
        model = lamina.Sequential([Input((10, 2)), LSTM(8), Dense(1, activation="sigmoid")])
        model.compile(
            lamina.optimizers.Adam(0.02),
            "binary_crossentropy",
            metrics=["accuracy"],
            jit_compile=jit,
        )
        history = model.fit(x, y, batch_size=32, epochs=8, verbose=0)
        assert history.history["accuracy"][-1] > 0.9, (jit, history.history)
        assert history.history["loss"][-1] < history.history["loss"][0] / 2


def test_cells_compute_one_step_like_numpy():
    """Each cell called directly, as Keras's cells are: (output, new states) for one step."""
    from rnn_reference import gru_step, lstm_step, simple_rnn_step

    from lamina.layers import GRUCell, SimpleRNNCell

    rng = np.random.default_rng(4)
    x = rng.normal(size=(B, F)).astype(np.float32)
    cases = [
        (SimpleRNNCell(U), simple_rnn_step, 1),
        (LSTMCell(U), lstm_step, 2),
        (GRUCell(U), gru_step, 1),
        (GRUCell(U, reset_after=False), lambda x, s, w: gru_step(x, s, w, reset_after=False), 1),
    ]
    for cell, step, count in cases:
        states = [rng.normal(size=(B, U)).astype(np.float32) for _ in range(count)]
        out, new = cell(torch.from_numpy(x), [torch.from_numpy(s) for s in states])
        want_out, want_states = step(x, states, cell.get_weights())
        np.testing.assert_allclose(out.detach().numpy(), want_out, rtol=1e-5, atol=1e-6)
        for got, want in zip(new, want_states):
            np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-5, atol=1e-6)
        assert (
            cell.get_config()["units"] == U and type(cell).from_config(cell.get_config()).units == U
        )
