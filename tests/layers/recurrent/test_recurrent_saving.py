"""Recurrent models in files: `.keras` both ways with Keras 3 itself, `.lamina`, and
Keras's weights files (weights stored under `layers/<layer>/cell/vars`, in Keras's layout)."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest
import torch

import lamina

keras = pytest.importorskip("keras")

RNG = np.random.default_rng(0)
X = RNG.normal(size=(4, 7, 3)).astype(np.float32)


def _model(lib, kind: str):
    L = lib.layers
    if kind == "lstm":
        body = [L.LSTM(6, return_sequences=True), L.Bidirectional(L.LSTM(4), merge_mode="sum")]
    elif kind == "gru":
        body = [L.GRU(6, return_sequences=True, reset_after=False), L.Bidirectional(L.GRU(4))]
    else:  # SimpleRNN and stacked cells
        cells = [L.LSTMCell(5), L.GRUCell(4), L.SimpleRNNCell(3)]
        body = [L.SimpleRNN(6, return_sequences=True, go_backwards=True), L.RNN(cells)]
    return lib.Sequential([lib.Input((7, 3)), *body, L.Dense(2)])


def _randomize(model) -> None:
    model.set_weights(
        [RNG.normal(0, 0.5, size=w.shape).astype(np.float32) for w in model.get_weights()]
    )


@pytest.mark.parametrize("kind", ["lstm", "gru", "stacked"])
def test_a_lamina_model_saved_as_keras_loads_in_keras_3(kind, tmp_path):
    model = _model(lamina, kind)
    _randomize(model)
    model.compile("adam", "mse")
    path = tmp_path / f"{kind}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, compile=False)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(X)), model.predict(X, verbose=0), rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize("kind", ["lstm", "gru", "stacked"])
def test_a_keras_3_model_loads_in_lamina(kind, tmp_path):
    model = _model(keras, kind)
    _randomize(model)
    model.compile("adam", "mse")
    path = tmp_path / f"{kind}.keras"
    model.save(path)
    loaded = lamina.models.load_model(path)
    np.testing.assert_allclose(
        loaded.predict(X, verbose=0), model.predict(X, verbose=0), rtol=1e-5, atol=1e-5
    )
    weights_path = tmp_path / f"{kind}.weights.h5"
    model.save_weights(weights_path)
    fresh = _model(lamina, kind)
    fresh.load_weights(weights_path)
    np.testing.assert_allclose(
        fresh.predict(X, verbose=0), model.predict(X, verbose=0), rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize("suffix", [".lamina", ".keras", ".h5"])
def test_recurrent_models_round_trip_through_every_format(suffix, tmp_path):
    model = _model(lamina, "lstm")
    _randomize(model)
    model.compile("adam", "mse")
    path = tmp_path / f"model{suffix}"
    model.save(path)
    loaded = lamina.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0), rtol=1e-6)
    assert [type(layer).__name__ for layer in loaded.layers] == ["LSTM", "Bidirectional", "Dense"]
    assert loaded.layers[1].merge_mode == "sum"


def test_a_stateful_model_saves_weights_only(tmp_path):
    model = lamina.Sequential(
        [lamina.Input((7, 3), batch_size=4), lamina.layers.GRU(3, stateful=True)]
    )
    model(torch.from_numpy(X))
    names = [w.shape for w in model.get_weights()]
    assert len(names) == 3  # kernel, recurrent kernel, bias: the kept states are not weights
    model.save(tmp_path / "stateful.lamina")
    loaded = lamina.models.load_model(tmp_path / "stateful.lamina")
    assert loaded.layers[0].stateful
