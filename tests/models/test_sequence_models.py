"""Models of the sequence layers with masks, against Keras 3 itself (torch backend): token
ids through Embedding(mask_zero=True), padded float sequences through Masking and
TimeDistributed; predictions, a padded step that changes nothing, masked sequence losses
and accuracy in fit/evaluate (eager and compiled), and saving."""

from __future__ import annotations

import os
import warnings

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")

import lamina  # noqa: E402

VOCAB, STEPS = 20, 7


def _ids(n: int = 10, seed: int = 0) -> np.ndarray:
    """Token ids padded with 0 at the end, a different length per row."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, VOCAB, size=(n, STEPS))
    for i in range(n):
        ids[i, 1 + i % (STEPS - 1) :] = 0
    return ids


def _classifier(lib, functional: bool, steps: int | None = STEPS):
    layers = lib.layers
    if not functional:
        return lib.Sequential(
            [
                layers.Input((steps,), dtype="int32"),
                layers.Embedding(VOCAB, 6, mask_zero=True),
                layers.Dense(5, activation="relu"),
                layers.GlobalAveragePooling1D(),
                layers.Dense(3, activation="softmax"),
            ]
        )
    inp = layers.Input((steps,), dtype="int32")
    h = layers.Dense(5, activation="relu")(layers.Embedding(VOCAB, 6, mask_zero=True)(inp))
    return lib.Model(inp, layers.Dense(3, activation="softmax")(layers.GlobalAveragePooling1D()(h)))


def _tagger(lib, steps: int | None = STEPS):
    """Float sequences -> Masking -> TimeDistributed(Dense) per step (a sequence output)."""
    layers = lib.layers
    return lib.Sequential(
        [
            layers.Input((steps, 4)),
            layers.Masking(),
            layers.TimeDistributed(layers.Dense(6, activation="tanh")),
            layers.Dense(3, activation="softmax"),
        ]
    )


def _pooled_tagger(lib):
    layers = lib.layers
    inp = layers.Input((STEPS, 4))
    h = layers.TimeDistributed(layers.Dense(6, activation="tanh"))(layers.Masking()(inp))
    return lib.Model(inp, layers.Dense(2)(layers.GlobalAveragePooling1D()(h)))


def _floats(ids: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(*ids.shape, 4)).astype(np.float32)
    x[ids == 0] = 0.0
    return x


@pytest.mark.parametrize("functional", [False, True], ids=["sequential", "functional"])
def test_embedding_classifier_predicts_as_keras(functional):
    k, m = _classifier(keras, functional), _classifier(lamina, functional)
    m.set_weights(k.get_weights())
    ids = _ids()
    np.testing.assert_allclose(
        m.predict(ids, verbose=0), k.predict(ids, verbose=0), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("functional", [False, True], ids=["sequential", "functional"])
def test_padding_ids_change_nothing(functional):
    fixed, any_length = _classifier(lamina, functional), _classifier(lamina, functional, None)
    any_length.set_weights(fixed.get_weights())
    ids = _ids()
    padded = np.concatenate([ids, np.zeros((len(ids), 4), ids.dtype)], axis=1)
    np.testing.assert_allclose(
        any_length.predict(padded, verbose=0), fixed.predict(ids, verbose=0), rtol=1e-5, atol=1e-7
    )


def test_masking_time_distributed_pooling_predicts_as_keras():
    k, m = _pooled_tagger(keras), _pooled_tagger(lamina)
    m.set_weights(k.get_weights())
    x = _floats(_ids())
    np.testing.assert_allclose(
        m.predict(x, verbose=0), k.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )


def _fit_tagger(jit_compile):
    ids = _ids(12)
    x = _floats(ids)
    y = np.random.default_rng(2).integers(0, 3, size=ids.shape)
    k, m = _tagger(keras), _tagger(lamina)
    m.set_weights(k.get_weights())
    opts = {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}
    k.compile(optimizer=keras.optimizers.SGD(0.5), **opts)
    m.compile(optimizer=lamina.optimizers.SGD(0.5), jit_compile=jit_compile, **opts)
    fit = {"batch_size": 4, "epochs": 2, "shuffle": False, "verbose": 0}
    hk = k.fit(x, y, **fit).history
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hm = m.fit(x, y, **fit).history
    assert not [w for w in caught if "could not compile" in str(w.message)]
    return k, m, hk, hm, x, y


@pytest.mark.parametrize("jit_compile", [False, True], ids=["eager", "compiled"])
def test_masked_sequence_loss_and_accuracy_train_as_keras(jit_compile):
    k, m, hk, hm, x, y = _fit_tagger(jit_compile)
    if jit_compile:
        assert m._step_fn.compiled is not None
    for key in ("loss", "accuracy"):
        np.testing.assert_allclose(hm[key], hk[key], rtol=1e-5, err_msg=key)
    for a, b in zip(m.get_weights(), k.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    got = m.evaluate(x, y, verbose=0, return_dict=True)
    want = k.evaluate(x, y, verbose=0, return_dict=True)
    for key in ("loss", "accuracy"):
        np.testing.assert_allclose(got[key], want[key], rtol=1e-5, err_msg=key)
    keep = (x != 0).any(-1)
    pred = m.predict(x, verbose=0)
    np.testing.assert_allclose(got["accuracy"], (pred.argmax(-1) == y)[keep].mean(), rtol=1e-6)


def _saved_model():
    m = _classifier(lamina, functional=True)
    m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def test_masked_model_round_trips_through_lamina_files(tmp_path):
    m = _saved_model()
    ids = _ids()
    path = tmp_path / "text.lamina"
    m.save(path)
    loaded = lamina.saving.load_model(path)
    np.testing.assert_allclose(loaded.predict(ids, verbose=0), m.predict(ids, verbose=0))
    assert loaded.layers[1].mask_zero
    td = _tagger(lamina)
    td.save(tmp_path / "tagger.lamina")
    x = _floats(_ids())
    again = lamina.saving.load_model(tmp_path / "tagger.lamina")
    np.testing.assert_allclose(again.predict(x, verbose=0), td.predict(x, verbose=0))


@pytest.mark.parametrize("build", [_saved_model, lambda: _tagger(lamina)], ids=["embed", "td"])
def test_masked_model_round_trips_through_keras_files(tmp_path, build):
    m = build()
    data = _ids() if m.inputs[0].dtype.startswith("int") else _floats(_ids())
    path = tmp_path / "model.keras"
    m.save(path)
    np.testing.assert_allclose(
        lamina.saving.load_model(path).predict(data, verbose=0), m.predict(data, verbose=0)
    )
    k = keras.saving.load_model(path)
    np.testing.assert_allclose(k.predict(data, verbose=0), m.predict(data, verbose=0), rtol=1e-6)
    k.save(tmp_path / "back.keras")
    back = lamina.saving.load_model(tmp_path / "back.keras")
    np.testing.assert_allclose(back.predict(data, verbose=0), m.predict(data, verbose=0), rtol=1e-6)
    assert torch.is_tensor(back.weights[0])
