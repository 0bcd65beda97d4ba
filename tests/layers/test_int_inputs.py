"""Integer and boolean inputs, as Keras 3 accepts them (issue 12).

`Input((5,), dtype="int32")` was refused with "expected a float dtype". Token ids and class
indices are integers: an `Input` of an integer or boolean dtype, a layer that takes ids
(`autocast = False`, as Keras's Embedding), and `fit`/`predict` on integer arrays all work;
float layers (Dense, ...) cast the integers, as Keras's type promotion does. Lamina has no
Embedding layer yet, so the id-taking layer here is a custom one written like it.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest
import torch
import torch.nn.functional as F

keras = pytest.importorskip("keras")

import lamina  # noqa: E402
from lamina import layers  # noqa: E402


class TokenEmbedding(layers.Layer):
    """Keras's Embedding in miniature: looks integer ids up in a table (no float cast)."""

    autocast = False

    def __init__(self, input_dim: int, output_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.input_dim, self.output_dim = input_dim, output_dim
        self.seen: list[torch.dtype] = []

    def build(self, input_shape):
        self.embeddings = self.add_weight(
            "embeddings", (self.input_dim, self.output_dim), initializer="random_uniform"
        )

    def call(self, ids):
        self.seen.append(ids.dtype)
        return F.embedding(ids, self.embeddings)  # needs integer ids: a float would raise


def _ids(n=32, seed=0):
    return np.random.default_rng(seed).integers(0, 10, size=(n, 5)).astype("int32")


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8", "bool", "float32", "float64"])
def test_input_takes_the_dtypes_keras_takes(dtype):
    assert lamina.Input((5,), dtype=dtype).dtype == keras.Input((5,), dtype=dtype).dtype == dtype


def test_unknown_input_dtype_is_named():
    with pytest.raises(ValueError, match=r"int32.*received: dtype='int33'"):
        lamina.Input((5,), dtype="int33")


def _functional_pair():
    k_in = keras.Input((5,), dtype="int32")
    k_h = keras.layers.Embedding(10, 4)(k_in)
    k_out = keras.layers.Dense(1)(keras.layers.GlobalAveragePooling1D()(k_h))
    k = keras.Model(k_in, k_out)
    ids = lamina.Input((5,), dtype="int32")
    embed = TokenEmbedding(10, 4)
    h = embed(ids)
    out = layers.Dense(1)(layers.GlobalAveragePooling1D()(h))
    m = lamina.Model(ids, out)
    m.set_weights(k.get_weights())
    return k, m, embed


def test_functional_int_input_to_embedding_matches_keras():
    k, m, embed = _functional_pair()
    assert embed.output_shape == (None, 5, 4)  # shape found on integer zeros
    x = _ids(8)
    np.testing.assert_allclose(m.predict(x, verbose=0), k.predict(x, verbose=0), atol=1e-6)
    assert embed.seen[-1] == torch.int32


def test_fit_on_int_arrays_keeps_ints_and_matches_keras():
    k, m, embed = _functional_pair()
    x, y = _ids(32), np.random.default_rng(1).normal(size=(32, 1)).astype("float32")
    k.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    m.compile(optimizer=lamina.optimizers.SGD(0.1), loss="mse")
    embed.seen.clear()
    k_hist = k.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history["loss"]
    m_hist = m.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history["loss"]
    assert set(embed.seen) == {torch.int32}
    np.testing.assert_allclose(m_hist, k_hist, rtol=1e-4)
    for got, want in zip(m.get_weights(), k.get_weights()):
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_sequential_with_int_input():
    model = lamina.Sequential(
        [
            lamina.Input((5,), dtype="int64"),
            TokenEmbedding(10, 3),
            layers.Flatten(),
            layers.Dense(2),
        ]
    )
    assert model.output_shape == (None, 2)
    out = model.predict(_ids(4).astype("int64"), verbose=0)
    assert out.shape == (4, 2)
    assert model.layers[0].seen[-1] == torch.int64


@pytest.mark.parametrize("dtype", ["int32", "bool"])
def test_dense_on_int_or_bool_input_matches_keras(dtype):
    k_in = keras.Input((3,), dtype=dtype)
    k = keras.Model(k_in, keras.layers.Dense(2)(k_in))
    m_in = lamina.Input((3,), dtype=dtype)
    m = lamina.Model(m_in, layers.Dense(2)(m_in))
    m.set_weights(k.get_weights())
    x = np.random.default_rng(2).integers(0, 2, size=(6, 3)).astype(dtype)
    np.testing.assert_allclose(m.predict(x, verbose=0), k.predict(x, verbose=0), atol=1e-6)


def test_trainable_weight_of_an_int_layer_is_a_named_error():
    with pytest.raises(ValueError, match=r"Layer 'counts' \(Dense\) expected a float dtype"):
        layers.Dense(3, dtype="int32", name="counts")(torch.ones(2, 4, dtype=torch.int32))


def test_int_layer_may_hold_non_trainable_int_state():
    class Counter(layers.Layer):
        autocast = False

        def build(self, input_shape):
            self.total = self.add_weight("total", (), initializer="zeros", trainable=False)

        def call(self, x):
            self.total += x.sum()
            return x

    layer = Counter(dtype="int64")
    layer(torch.tensor([[1, 2, 3]]))
    assert layer.total.dtype == torch.int64 and int(layer.total) == 6
    assert layer.get_weights()[0].dtype == np.int64


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
def test_functional_converts_ids_to_the_input_dtype_like_keras(dtype):
    """Keras converts each input to its `Input`'s dtype: ids stored as uint8 or float (the
    data adapter turns uint8 arrays into float32 images) reach the id layer as int32."""
    k, m, embed = _functional_pair()
    x = _ids(8).astype(dtype)
    np.testing.assert_allclose(m.predict(x, verbose=0), k.predict(x, verbose=0), atol=1e-6)
    assert embed.seen[-1] == torch.int32
