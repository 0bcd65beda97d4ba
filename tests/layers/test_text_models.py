"""Models that take raw strings: fit / evaluate / predict on NumPy arrays and lists of str.

The text layer runs on the host, so these models train eagerly (said in a warning when
jit_compile=True was asked for); the same model fed pre-vectorized ids must give the same
numbers, which is the reference here.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.data.adapter import ArrayData, adapt

TEXTS = np.array(
    ["free money now", "meeting at noon", "win a free prize", "lunch tomorrow?",
     "free free free!", "project notes", "claim your prize", "notes from the meeting"] * 4
)  # fmt: skip
LABELS = np.array([1, 0, 1, 0, 1, 0, 1, 0] * 4, dtype="float32")


def _vectorizer(**kw):
    layer = layers.TextVectorization(max_tokens=40, **kw)
    layer.adapt(TEXTS)
    return layer


def _twin_models(kw):
    """A string model and the same weights on pre-vectorized inputs."""
    vec = _vectorizer(**kw)
    lamina.utils.set_random_seed(3)
    inp = lamina.Input(shape=(1,), dtype="string")
    h = vec(inp)
    if kw.get("output_mode", "int") == "int":
        h = layers.Flatten()(h)
    out = layers.Dense(1, activation="sigmoid")(h)
    text_model = lamina.Model(inp, out)
    ids = vec(TEXTS).float()
    dense = layers.Dense(1, activation="sigmoid")
    id_model = lamina.Sequential([lamina.Input(shape=tuple(ids.shape[1:])), dense])
    dense.set_weights(text_model.layers[-1].get_weights())
    return text_model, id_model, ids.numpy()


@pytest.mark.parametrize("kw", [{"output_mode": "tf_idf"}, {"output_sequence_length": 6}])
def test_fit_evaluate_predict_match_prevectorized_inputs(kw):
    text_model, id_model, ids = _twin_models(kw)
    for model in (text_model, id_model):
        model.compile(lamina.optimizers.SGD(0.5), "binary_crossentropy", metrics=["accuracy"])
    h_text = text_model.fit(TEXTS, LABELS, batch_size=8, epochs=2, shuffle=False, verbose=0)
    h_ids = id_model.fit(ids, LABELS, batch_size=8, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(h_text.history["loss"], h_ids.history["loss"], rtol=1e-5)
    np.testing.assert_allclose(
        text_model.evaluate(list(TEXTS), LABELS, verbose=0),
        id_model.evaluate(ids, LABELS, verbose=0),
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        text_model.predict(TEXTS[:5], verbose=0), id_model.predict(ids[:5], verbose=0), rtol=1e-5
    )


def test_sequential_shuffled_fit_with_validation_split_and_lists():
    model = lamina.Sequential(
        [_vectorizer(output_sequence_length=5), layers.Dense(4), layers.Flatten(),
         layers.Dense(1, activation="sigmoid")]
    )  # fmt: skip
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(
        list(TEXTS), LABELS, epochs=2, batch_size=4, validation_split=0.25, verbose=0
    )
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert model.predict(["free prize", "project meeting"], verbose=0).shape == (2, 1)
    direct = model(np.array(["free prize"]))
    assert isinstance(direct, torch.Tensor) and direct.shape == (1, 1)


def test_jit_compile_true_trains_eagerly_and_says_why():
    model = lamina.Sequential([_vectorizer(output_mode="multi_hot"), layers.Dense(1)])
    model.compile("sgd", "mse", jit_compile=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(TEXTS, LABELS, epochs=1, batch_size=8, verbose=0)
    messages = [str(w.message) for w in caught]
    assert any("trains eagerly" in m and "TextVectorization" in m for m in messages), messages
    assert not any("could not compile" in m for m in messages)
    assert model._step_fn.compiled is None
    assert model._test_function("predict") is None


def test_generator_of_string_batches_and_adapt_on_it():
    def batches():
        for i in range(0, len(TEXTS), 8):
            yield list(TEXTS[i : i + 8]), LABELS[i : i + 8]

    vec = layers.TextVectorization(output_mode="count")
    vec.adapt(batches())  # (x, y) batches: the texts are counted
    assert vec.get_vocabulary() == _vectorizer(output_mode="count").get_vocabulary()
    model = lamina.Sequential([vec, layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(batches(), epochs=1, verbose=0)
    assert model.predict(batches(), verbose=0).shape == (len(TEXTS), 1)


def test_adapter_keeps_strings_on_the_host():
    data = adapt(list(TEXTS), LABELS, batch_size=5, shuffle=True)
    assert isinstance(data, ArrayData) and data.x.dtype == object and data.n == len(TEXTS)
    torch.manual_seed(0)
    seen = []
    for xb, yb, _ in data.epoch():
        assert isinstance(xb, np.ndarray) and isinstance(yb, torch.Tensor)
        seen.extend(zip(xb.tolist(), yb.tolist()))
    pairs = sorted(zip(TEXTS.tolist(), LABELS.tolist()))
    assert sorted(seen) == pairs  # every (text, label) pair once, still paired
    train, val = adapt(np.array(TEXTS), LABELS).split(0.25)
    assert val.x.tolist() == TEXTS[24:].tolist()
