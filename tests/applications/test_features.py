"""`lamina.applications.extract_features`: a frozen backbone's outputs, computed once and
cached on disk (a safe .npz keyed by the model, its weights and the data)."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.applications import extract_features


class Counting(layers.Layer):
    """Identity that counts its calls (to see whether the model ran)."""

    calls = 0

    def call(self, x):
        Counting.calls += 1
        return x


def _backbone(seed=0):
    lamina.backend.clear_session()  # the same layer names each time (names are in the key)
    lamina.utils.set_random_seed(seed)
    inputs = layers.Input((8, 8, 3))
    h = Counting()(inputs)
    h = layers.Conv2D(4, 3, activation="relu")(h)
    h = layers.BatchNormalization()(h)
    outputs = layers.GlobalAveragePooling2D()(h)
    model = lamina.Model(inputs, outputs)
    model.trainable = False
    return model


def _images(n=20, seed=0):
    return np.random.default_rng(seed).uniform(size=(n, 8, 8, 3)).astype("float32")


@pytest.fixture(autouse=True)
def _reset_count():
    Counting.calls = 0


def test_features_equal_predict():
    model, x = _backbone(), _images()
    got = extract_features(model, x, batch_size=8)
    np.testing.assert_array_equal(got, model.predict(x, batch_size=8, verbose=0))
    assert got.shape == (20, 4) and isinstance(got, np.ndarray)


def test_cache_hit_returns_the_same_without_running_the_model(tmp_path):
    model, x = _backbone(), _images()
    cache = tmp_path / "sub" / "train.npz"
    Counting.calls = 0  # (building the graph may have called it)
    first = extract_features(model, x, batch_size=8, cache=cache)
    assert cache.exists() and Counting.calls == 3  # 20 images in batches of 8
    Counting.calls = 0
    again = extract_features(model, x, batch_size=8, cache=str(cache))
    assert Counting.calls == 0
    np.testing.assert_array_equal(again, first)
    # another model object with the same class, config (names too) and weights hits too
    twin = _backbone()
    Counting.calls = 0
    np.testing.assert_array_equal(extract_features(twin, x, cache=cache), first)
    assert Counting.calls == 0
    with np.load(cache, allow_pickle=False) as stored:  # a plain .npz, no pickled objects
        assert "output_0" in stored.files


@pytest.mark.parametrize("change", ["weights", "data", "shape", "architecture"])
def test_cache_misses_on_another_model_or_data(tmp_path, change):
    model, x = _backbone(), _images()
    cache = tmp_path / "f.npz"
    extract_features(model, x, cache=cache)
    Counting.calls = 0
    if change == "weights":
        w = model.get_weights()
        w[0] = w[0] + 1e-3
        model.set_weights(w)
    elif change == "data":
        x = x.copy()
        x[5, 0, 0, 0] += 1e-6
    elif change == "shape":
        x = x.reshape(20, 8, 8, 3)[:19]
    else:  # same weights, another pooling: the config keys the cache
        inputs = layers.Input((8, 8, 3))
        h = layers.BatchNormalization()(layers.Conv2D(4, 3, activation="relu")(Counting()(inputs)))
        other = lamina.Model(inputs, layers.GlobalMaxPooling2D()(h))
        other.set_weights(model.get_weights())
        model = other
        Counting.calls = 0
    got = extract_features(model, x, cache=cache)
    assert Counting.calls > 0
    np.testing.assert_array_equal(got, model.predict(x, verbose=0))
    Counting.calls = 0
    extract_features(model, x, cache=cache)  # the new entry replaced the old one
    assert Counting.calls == 0


def test_dataset_and_generator_inputs(tmp_path):
    model, x = _backbone(), _images()
    want = model.predict(x, verbose=0)

    class Batches(lamina.utils.PyDataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return x[i * 8 : (i + 1) * 8], np.zeros(len(x[i * 8 : (i + 1) * 8]))

    np.testing.assert_allclose(extract_features(model, Batches()), want, rtol=1e-6, atol=1e-6)
    cache = tmp_path / "gen.npz"
    gen = (x[i : i + 5] for i in range(0, 20, 5))
    np.testing.assert_allclose(
        extract_features(model, gen, cache=cache), want, rtol=1e-6, atol=1e-6
    )
    Counting.calls = 0
    cached = extract_features(model, Batches(), cache=cache)  # same images: a hit
    assert Counting.calls == 0
    np.testing.assert_allclose(cached, want, rtol=1e-6, atol=1e-6)


def test_several_outputs_and_dict_inputs(tmp_path):
    inputs = {"a": layers.Input((3,), name="a"), "b": layers.Input((2,), name="b")}
    joined = layers.Concatenate()([inputs["a"], inputs["b"]])
    model = lamina.Model(inputs, [layers.Dense(2)(joined), layers.Dense(1)(joined)])
    rng = np.random.default_rng(0)
    data = {"a": rng.normal(size=(6, 3)), "b": rng.normal(size=(6, 2))}
    cache = tmp_path / "two.npz"
    first = extract_features(model, data, cache=cache)
    again = extract_features(model, data, cache=cache)
    assert isinstance(again, list) and len(again) == 2
    for a, b, c in zip(first, again, model.predict(data, verbose=0)):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    data["b"] = data["b"][:, ::-1].copy()
    assert not np.allclose(extract_features(model, data, cache=cache)[0], first[0])


def test_damaged_or_foreign_files_raise_and_are_kept(tmp_path):
    model, x = _backbone(), _images()
    cache = tmp_path / "f.npz"
    extract_features(model, x, cache=cache)
    raw = bytearray(cache.read_bytes())
    # flip a byte inside the stored features: the zip CRC (or the recorded hash) catches it
    with zipfile.ZipFile(cache) as z:
        info = z.getinfo("output_0.npy")
    raw[info.header_offset + 30 + len(info.filename) + 200] ^= 0xFF
    cache.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"Expected a feature cache .*Delete the file"):
        extract_features(model, x, cache=cache)
    cache.write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="unreadable file"):
        extract_features(model, x, cache=cache)
    foreign = tmp_path / "mine.npz"
    np.savez(foreign, x=np.arange(3))
    with pytest.raises(ValueError, match="without its marker"):
        extract_features(model, x, cache=foreign)
    with np.load(foreign) as kept:  # the user's file was not overwritten
        np.testing.assert_array_equal(kept["x"], np.arange(3))


def test_tampered_features_with_a_valid_zip_raise(tmp_path):
    """A rewritten, well-formed file whose features differ from their hash."""
    model, x = _backbone(), _images()
    cache = tmp_path / "f.npz"
    extract_features(model, x, cache=cache)
    with np.load(cache, allow_pickle=False) as stored:
        payload = {k: stored[k] for k in stored.files}
    payload["output_0"] = payload["output_0"] + 1.0
    with open(cache, "wb") as f:
        np.savez(f, **payload)
    with pytest.raises(ValueError, match="do not match their recorded hash"):
        extract_features(model, x, cache=cache)
