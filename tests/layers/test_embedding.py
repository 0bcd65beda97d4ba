"""Embedding: the shared layer harness, Keras 3 parity (same table, same ids), masks,
tf.keras 2's input_length, initial weights, and the errors for bad ids and arguments."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest
import torch
from layer_harness import run_layer_test

keras = pytest.importorskip("keras")

import lamina  # noqa: E402
from lamina import layers  # noqa: E402
from lamina.layers.embedding import Embedding  # noqa: E402

IDS = np.array([[1, 4, 0, 9, 2], [0, 0, 3, 3, 8]], dtype=np.int64)


@pytest.mark.parametrize("mask_zero", [False, True])
def test_embedding_layer_harness(mask_zero):
    run_layer_test(
        Embedding,
        {"input_dim": 10, "output_dim": 3, "mask_zero": mask_zero},
        input_shape=IDS.shape,
        input_data=IDS,
        expected_output_shape=(2, 5, 3),
        expected_num_params=30,
        expected_num_trainable_weights=1,
        reference=lambda x, w: w[0][x],
        gradcheck_inputs=False,
        compiled_fit=not mask_zero,
    )


def test_embedding_matches_keras_with_its_mask():
    k = keras.layers.Embedding(10, 4, mask_zero=True)
    k.build((None, 5))
    lam = Embedding(10, 4, mask_zero=True)
    lam.build((None, 5))
    assert [w.shape for w in lam.get_weights()] == [tuple(w.shape) for w in k.get_weights()]
    lam.set_weights(k.get_weights())
    want = k(IDS)
    got = lam(torch.tensor(IDS))
    np.testing.assert_array_equal(got.detach().numpy(), keras.ops.convert_to_numpy(want))
    np.testing.assert_array_equal(got._keras_mask.numpy(), want._keras_mask.cpu().numpy())
    assert lam.weights[0] is lam.embeddings and lam.get_weights()[0].shape == (10, 4)
    # int32 and float ids (truncated, as Keras casts them) give the same rows
    np.testing.assert_array_equal(lam(torch.tensor(IDS, dtype=torch.int32)).detach(), got.detach())
    floats = torch.tensor(IDS, dtype=torch.float32) + 0.25
    np.testing.assert_array_equal(lam(floats).detach(), got.detach())


def test_embedding_defaults_and_config_match_keras():
    k, lam = keras.layers.Embedding(7, 2), Embedding(7, 2)
    kc, lc = k.get_config(), lam.get_config()
    for key in ("input_dim", "output_dim", "mask_zero", "embeddings_regularizer"):
        assert lc[key] == kc[key], key
    assert lc["embeddings_initializer"]["class_name"] == kc["embeddings_initializer"]["class_name"]
    assert lc["embeddings_initializer"]["config"]["minval"] == -0.05
    lam.build((None, 3))
    w = lam.get_weights()[0]
    assert w.min() >= -0.05 and w.max() <= 0.05 and w.std() > 0.01
    assert not lam.supports_masking and Embedding(7, 2, mask_zero=True).supports_masking
    assert getattr(lam(torch.tensor([[0, 1]])), "_keras_mask", None) is None
    assert lam.dtype_name is None and lam(torch.tensor([[1]])).dtype == torch.float32


def test_keras_config_builds_the_same_layer():
    k = keras.layers.Embedding(12, 5, mask_zero=True, embeddings_regularizer="l2", name="emb")
    config = k.get_config()
    lam = lamina.saving.serialization.deserialize_layer(
        {"module": "keras.layers", "class_name": "Embedding", "config": config}
    )
    assert (lam.input_dim, lam.output_dim, lam.mask_zero, lam.name) == (12, 5, True, "emb")
    assert lam.embeddings_regularizer is not None


def test_input_length_builds_a_sequential_at_once():
    model = lamina.Sequential(
        [Embedding(50, 8, input_length=10), layers.Flatten(), layers.Dense(1)]
    )
    assert model.built and model.output_shape == (None, 1)
    assert model.layers[0].output_shape == (None, 10, 8)
    assert model.count_params() == 50 * 8 + 81
    config = model.layers[0].get_config()
    assert Embedding.from_config(config).get_config() == config


def test_initial_weights_as_in_keras_2():
    table = np.arange(12, dtype=np.float32).reshape(6, 2)
    lam = Embedding(6, 2, weights=[table], trainable=False)
    np.testing.assert_array_equal(lam(torch.tensor([[5, 0]])).numpy(), table[[[5, 0]]])
    assert lam.trainable_weights == [] and len(lam.non_trainable_weights) == 1
    np.testing.assert_array_equal(Embedding(6, 2, weights=table).get_weights()[0], table)
    with pytest.raises(ValueError, match="embeddings"):
        Embedding(5, 2, weights=[table])


def test_an_id_out_of_range_names_the_layer_the_id_and_the_range():
    lam = Embedding(10, 3, name="words")
    with pytest.raises(IndexError, match=r"'words' \(Embedding\).*\[0, 10\).*id=10") as err:
        lam(torch.tensor([[1, 10, 2]]))
    assert "vocabulary size + 1" in str(err.value)
    with pytest.raises(IndexError, match=r"'words'.*\[0, 10\).*id=-1"):
        lam(torch.tensor([[-1, 2]]))
    model = lamina.Sequential([lamina.Input((3,), dtype="int64"), lam, layers.Flatten()])
    with pytest.raises(IndexError, match="id=57"):
        model.predict(np.array([[1, 57, 2]]), verbose=0)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"input_dim": 0, "output_dim": 2}, "input_dim"),
        ({"input_dim": 3.5, "output_dim": 2}, "input_dim"),
        ({"input_dim": 3, "output_dim": -1}, "output_dim"),
        ({"input_dim": 3, "output_dim": 2, "sparse": True}, "sparse=False"),
        ({"input_dim": 3, "output_dim": 2, "input_length": 0}, "input_length"),
        ({"input_dim": 3, "output_dim": 2, "embeddings_initializer": "unifrom"}, "uniform"),
    ],
)
def test_bad_arguments_are_refused_clearly(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Embedding(**kwargs)


def test_embedding_trains_in_a_masked_model_eager_and_compiled():
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 20, size=(16, 6))
    ids[::2, 3:] = 0
    y = rng.normal(size=(16, 1)).astype(np.float32)
    results = []
    for jit_compile in (False, True):
        torch.manual_seed(0)
        model = lamina.Sequential(
            [
                lamina.Input((6,), dtype="int32"),
                Embedding(20, 4, mask_zero=True),
                layers.GlobalAveragePooling1D(),
                layers.Dense(1),
            ]
        )
        if results:
            model.set_weights(results[0][0])
        start = model.get_weights()
        model.compile(lamina.optimizers.SGD(0.5), "mse", jit_compile=jit_compile)
        model.fit(ids, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        if jit_compile:
            assert model._step_fn.compiled is not None
        table = model.get_weights()[0]
        assert not np.array_equal(table[1:], start[0][1:])
        # row 0 is padding: masked out of the mean, it never gets a gradient
        np.testing.assert_array_equal(table[0], start[0][0])
        results.append((start, model.get_weights()))
    for eager, compiled in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(compiled, eager, rtol=1e-5, atol=1e-7)
