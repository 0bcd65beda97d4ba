"""Saved text models: the vocabulary and IDF weights travel, raw strings predict after load.

.lamina and .keras round trips compare predictions on raw strings. Keras 3's own text
layers need TensorFlow (not installed), so the interop tests run Keras's real saving code
(`keras.saving.save_model` / `load_model`: its asset store, HDF5 variable store and layer
paths) with Keras-side stand-ins registered under Keras's names, whose hooks do what
Keras's IndexLookup hooks do (keras/src/layers/preprocessing/index_lookup.py:
`vocabulary.txt` joined with newlines; the variable `idf_weights`; TextVectorization
delegating both to its `_lookup_layer`).
"""

from __future__ import annotations

import os
import zipfile

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from keras.src import api_export  # noqa: E402

import lamina  # noqa: E402
from lamina import layers  # noqa: E402
from lamina.saving.errors import FileFormatError  # noqa: E402

TEXTS = np.array(
    ["Free money NOW!", "meeting at noon", "win a free prize", "lunch tomorrow?",
     "free free free", "project notes, é ü", "claim your prize", "notes from the meeting"] * 3
)  # fmt: skip
LABELS = np.array([1, 0, 1, 0, 1, 0, 1, 0] * 3, dtype="float32")


def _text_model(**kw):
    vec = layers.TextVectorization(max_tokens=30, **kw)
    vec.adapt(TEXTS)
    inp = lamina.Input(shape=(1,), dtype="string")
    h = vec(inp)
    if kw.get("output_mode", "int") == "int":
        h = layers.Dense(3)(h)
    model = lamina.Model(inp, layers.Dense(1, activation="sigmoid")(h))
    model.compile("adam", "binary_crossentropy")
    model.fit(TEXTS, LABELS, epochs=1, batch_size=8, verbose=0)
    return model, vec


@pytest.mark.parametrize("ext", ["lamina", "keras"])
@pytest.mark.parametrize(
    "kw",
    [
        {"output_sequence_length": 6},
        {"output_mode": "tf_idf", "ngrams": 2},
        {"output_mode": "count"},
    ],
)
def test_round_trip_predicts_on_raw_strings(tmp_path, ext, kw):
    model, vec = _text_model(**kw)
    path = tmp_path / f"text.{ext}"
    model.save(path)
    loaded = lamina.models.load_model(path)
    new_vec = loaded.layers[1]
    assert new_vec.get_vocabulary() == vec.get_vocabulary()
    if kw.get("output_mode") == "tf_idf":
        np.testing.assert_array_equal(
            new_vec._lookup_layer._idf.numpy(), vec._lookup_layer._idf.numpy()
        )
    raw = np.array(["free prize at noon", "unseen words only"])
    np.testing.assert_allclose(
        loaded.predict(raw, verbose=0), model.predict(raw, verbose=0), rtol=1e-6
    )
    names = zipfile.ZipFile(path).namelist()
    assert "assets/layers/text_vectorization/vocabulary.txt" in names


def test_sequential_and_string_lookup_round_trip(tmp_path):
    lookup = layers.StringLookup(output_mode="multi_hot", mask_token="")
    lookup.adapt(np.array([["a", "b"], ["b", "c"], ["c", "c"]]))
    model = lamina.Sequential([lamina.Input(shape=(2,), dtype="string"), lookup, layers.Dense(2)])
    model.compile("sgd", "mse")
    x = np.array([["a", "c"], ["z", ""]])
    for ext in ("lamina", "keras"):
        model.save(tmp_path / f"m.{ext}")
        loaded = lamina.models.load_model(tmp_path / f"m.{ext}")
        assert loaded.layers[0].get_vocabulary() == lookup.get_vocabulary()
        np.testing.assert_allclose(
            loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6
        )


def test_tokens_with_unicode_line_breaks_survive(tmp_path):
    """TensorFlow does not split on \\x85 or U+2028, so tokens may hold them: the vocabulary
    file is split on "\\n" only."""
    texts = np.array(["a\x85b c\u2028d e\x1cf", "a\x85b g"])
    vec = layers.TextVectorization(output_sequence_length=4)
    vec.adapt(texts)
    assert "a\x85b" in vec.get_vocabulary() and "e\x1cf" in vec.get_vocabulary()
    model = lamina.Sequential([lamina.Input(shape=(1,), dtype="string"), vec, layers.Dense(1)])
    model.save(tmp_path / "m.lamina")
    loaded = lamina.models.load_model(tmp_path / "m.lamina")
    assert loaded.layers[0].get_vocabulary() == vec.get_vocabulary()


def test_given_vocabulary_travels_in_the_config(tmp_path):
    vec = layers.TextVectorization(vocabulary=["alpha", "beta"], output_sequence_length=3)
    model = lamina.Sequential([lamina.Input(shape=(1,), dtype="string"), vec, layers.Dense(1)])
    model.save(tmp_path / "m.lamina")
    names = zipfile.ZipFile(tmp_path / "m.lamina").namelist()
    assert not any(n.startswith("assets/") for n in names)
    loaded = lamina.models.load_model(tmp_path / "m.lamina")
    assert loaded.layers[0].get_vocabulary() == ["", "[UNK]", "alpha", "beta"]


def test_weights_file_carries_idf_weights(tmp_path):
    model, vec = _text_model(output_mode="tf_idf")
    model.save_weights(tmp_path / "w.weights.h5")
    twin, twin_vec = _text_model(output_mode="tf_idf")
    twin_vec._lookup_layer._idf.mul_(0)
    twin.load_weights(tmp_path / "w.weights.h5")  # as Keras: variables, not assets
    np.testing.assert_array_equal(
        twin_vec._lookup_layer._idf.numpy(), vec._lookup_layer._idf.numpy()
    )
    np.testing.assert_allclose(
        twin.predict(TEXTS[:3], verbose=0), model.predict(TEXTS[:3], verbose=0)
    )


def test_legacy_h5_refuses_a_learned_vocabulary(tmp_path):
    model, _ = _text_model(output_sequence_length=4)
    with pytest.raises(ValueError, match=r"\(TextVectorization\).*vocabulary.*\.keras or \.lamina"):
        model.save(tmp_path / "m.h5")
    assert not (tmp_path / "m.h5").exists()
    given = layers.TextVectorization(vocabulary=["a", "b"], output_sequence_length=2)
    fixed = lamina.Sequential([lamina.Input(shape=(1,), dtype="string"), given, layers.Dense(1)])
    fixed.save(tmp_path / "fixed.h5")  # the config carries a given vocabulary
    loaded = lamina.models.load_model(tmp_path / "fixed.h5")
    np.testing.assert_allclose(
        loaded.predict(["a b"], verbose=0), fixed.predict(["a b"], verbose=0)
    )


def test_missing_or_hostile_assets_are_refused(tmp_path):
    model, _ = _text_model(output_sequence_length=4)
    path = tmp_path / "m.lamina"
    model.save(path)
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    stripped = tmp_path / "stripped.lamina"
    with zipfile.ZipFile(stripped, "w") as z:
        for n, data in members.items():
            if not n.startswith("assets/"):
                z.writestr(n, data)
    with pytest.raises(FileFormatError, match="vocabulary"):
        lamina.models.load_model(stripped)
    hostile = tmp_path / "hostile.lamina"
    with zipfile.ZipFile(hostile, "w") as z:
        for n, data in members.items():
            z.writestr(n, data)
        z.writestr("assets/layers/text_vectorization/../../../escape.txt", b"x")
    with pytest.raises(FileFormatError):
        lamina.models.load_model(hostile)
    assert not (tmp_path / "escape.txt").exists()


# ------------------------------------------------- Keras's saving code, both ways
class StringLookup(keras.layers.Layer):
    """What Keras's StringLookup saves and loads (index_lookup.py's hooks). Keras names a
    layer's place in the file after its class, so the stand-ins carry Keras's names."""

    def __init__(self, vocabulary=None, idf=None, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary = list(vocabulary or [])
        self.idf = idf

    def save_own_variables(self, store):
        if self.idf is not None:
            store["idf_weights"] = np.asarray(self.idf, dtype="float32")

    def load_own_variables(self, store):
        if "idf_weights" in store:
            self.idf = np.asarray(store["idf_weights"])

    def save_assets(self, dir_path):
        with open(os.path.join(dir_path, "vocabulary.txt"), "w") as f:
            f.write("\n".join(str(w) for w in self.vocabulary))

    def load_assets(self, dir_path):
        with open(os.path.join(dir_path, "vocabulary.txt")) as f:
            lines = f.read().splitlines()
        while lines and lines[-1] == "":
            lines.pop()
        self.vocabulary = lines


class TextVectorization(keras.layers.Layer):
    """Keras's TextVectorization as its saving code sees it: the config's arguments, and
    save/load hooks delegated to the `_lookup_layer` (walked again as a child)."""

    def __init__(self, max_tokens=None, output_mode="int", output_sequence_length=None,
                 vocabulary_size=None, **config):  # fmt: skip
        super().__init__(**{k: v for k, v in config.items() if k in ("name", "trainable", "dtype")})
        self.config = {
            "max_tokens": max_tokens, "output_mode": output_mode,
            "output_sequence_length": output_sequence_length, "vocabulary_size": vocabulary_size,
            **config,
        }  # fmt: skip
        self._lookup_layer = StringLookup()

    def build(self, input_shape=None):  # as Keras's TextVectorization.build: nothing
        pass

    def get_config(self):
        return {**super().get_config(), **self.config}

    def compute_output_spec(self, inputs):
        if self.config["output_mode"] == "int":
            return keras.KerasTensor((None, self.config["output_sequence_length"]), "int64")
        return keras.KerasTensor((None, self.config["vocabulary_size"]), "float32")

    def save_own_variables(self, store):
        self._lookup_layer.save_own_variables(store)

    def load_own_variables(self, store):
        self._lookup_layer.load_own_variables(store)

    def save_assets(self, dir_path):
        self._lookup_layer.save_assets(dir_path)

    def load_assets(self, dir_path):
        self._lookup_layer.load_assets(dir_path)


@pytest.fixture
def keras_text_layers(monkeypatch):
    """Keras's names resolve to the stand-ins for the test (and back afterwards)."""
    name = "keras.layers.TextVectorization"
    monkeypatch.setitem(api_export.REGISTERED_NAMES_TO_OBJS, name, TextVectorization)
    monkeypatch.setitem(api_export.REGISTERED_OBJS_TO_NAMES, TextVectorization, name)
    return TextVectorization


def test_keras_reads_our_vocabulary_and_idf(tmp_path, keras_text_layers):
    model, vec = _text_model(output_mode="tf_idf")
    model.save(tmp_path / "ours.keras")
    theirs = keras.saving.load_model(tmp_path / "ours.keras", compile=False)
    kv = theirs.layers[1]
    assert isinstance(kv, keras_text_layers)
    assert kv.config["max_tokens"] == 30 and kv.config["vocabulary_size"] == vec.vocabulary_size()
    assert kv._lookup_layer.vocabulary == vec.get_vocabulary()
    np.testing.assert_array_equal(kv._lookup_layer.idf, vec._lookup_layer._idf.numpy())
    for ours, keras_weight in zip(model.layers[-1].get_weights(), theirs.layers[-1].get_weights()):
        np.testing.assert_array_equal(ours, keras_weight)


def test_we_read_what_keras_writes(tmp_path, keras_text_layers):
    reference = layers.TextVectorization(max_tokens=30, output_mode="tf_idf")
    reference.adapt(TEXTS)
    vocab, idf = reference.get_vocabulary(), reference._lookup_layer._idf.numpy()
    config = {k: v for k, v in reference.get_config().items() if k not in ("name", "dtype")}
    inp = keras.Input(shape=(1,), dtype="string")
    kv = keras_text_layers(**config)
    kv._lookup_layer.vocabulary, kv._lookup_layer.idf = vocab, idf
    dense = keras.layers.Dense(1)
    keras_model = keras.Model(inp, dense(kv(inp)))
    keras_model.save(tmp_path / "theirs.keras")
    names = zipfile.ZipFile(tmp_path / "theirs.keras").namelist()
    assert "assets/layers/text_vectorization/_lookup_layer/vocabulary.txt" in names
    ours = lamina.models.load_model(tmp_path / "theirs.keras")
    vec = ours.layers[1]
    assert vec.get_vocabulary() == vocab
    np.testing.assert_array_equal(vec._lookup_layer._idf.numpy(), idf)
    kernel, bias = dense.get_weights()
    raw = np.array(["free prize", "meeting notes"])
    expected = reference(raw).numpy() @ kernel + bias
    np.testing.assert_allclose(ours.predict(raw, verbose=0), expected, rtol=1e-5)
