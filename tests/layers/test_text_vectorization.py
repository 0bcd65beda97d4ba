"""TextVectorization against Keras 3.

Keras 3's TextVectorization runs on TensorFlow, which is not installed here: expected
values are Keras's own (its docstring and keras/src/layers/preprocessing/
text_vectorization_test.py, computed with TensorFlow), and a reference tokenizer
written from TensorFlow's documented semantics (`tf.strings.lower` lowercases ASCII,
Keras's punctuation regex, `tf.strings.split` on ASCII whitespace) with `re`.
"""

from __future__ import annotations

import json
import re
from collections import Counter

import numpy as np
import pytest
import torch

import lamina
from lamina.layers import TextVectorization


def _np(t):
    return t.detach().cpu().numpy()


# ---------------------------------------------------------- Keras's own values
def test_docstring_examples():
    layer = TextVectorization(max_tokens=5000, output_mode="int", output_sequence_length=4)
    layer.adapt(["foo bar", "bar baz", "baz bada boom"])
    assert _np(layer([["foo qux bar"], ["qux baz"]])).tolist() == [[4, 1, 3, 0], [1, 2, 0, 0]]
    fixed = TextVectorization(
        max_tokens=5000, output_sequence_length=4, vocabulary=["earth", "wind", "and", "fire"]
    )
    assert fixed.get_vocabulary() == ["", "[UNK]", "earth", "wind", "and", "fire"]


def test_keras_test_values():
    vocab = ["foo", "bar", "baz"]
    multi = TextVectorization(output_mode="multi_hot", vocabulary=vocab)
    np.testing.assert_array_equal(
        _np(multi(["foo bar", "baz foo foo"])), [[0, 1, 1, 0], [0, 1, 0, 1]]
    )
    count = TextVectorization(output_mode="count", vocabulary=vocab)
    np.testing.assert_array_equal(
        _np(count(["foo bar", "baz foo foo"])), [[0, 1, 1, 0], [0, 2, 0, 1]]
    )
    tfidf = TextVectorization(output_mode="tf_idf", vocabulary=vocab, idf_weights=[0.3, 0.5, 0.2])
    np.testing.assert_allclose(
        _np(tfidf(["foo bar", "baz foo foo"])),
        [[0.0, 0.3, 0.5, 0.0], [0.0, 0.6, 0.0, 0.2]],
        rtol=1e-6,
    )
    text = ["Hello, World!. This is just a nice test!"]
    words = ["hello", "world", "this", "is", "nice", "test"]
    assert _np(TextVectorization(vocabulary=words)(text)).tolist() == [[2, 3, 4, 5, 1, 1, 6, 7]]
    lower = TextVectorization(standardize="lower", vocabulary=["hello,", *words])
    assert _np(lower(text)).tolist() == [[2, 1, 5, 6, 1, 1, 7, 1]]
    chars = TextVectorization(split="character", vocabulary=list("abcde"))
    assert _np(chars(["abcf"])).tolist() == [[2, 3, 4, 1]]
    strip = TextVectorization(
        standardize="strip_punctuation", vocabulary=["Hello", "World", "Test"]
    )
    assert _np(strip(["Hello, World! Test."])).tolist() == [[2, 3, 4]]
    assert _np(
        TextVectorization(standardize=None, vocabulary=["Hello", "world"])(["Hello hello"])
    ).tolist() == [[2, 1]]
    custom = TextVectorization(
        split=lambda t: [s.split("|") for s in t], vocabulary=["foo", "bar", "foobar"]
    )
    assert _np(custom(["foo|bar"])).tolist() == [[4]]  # "|" was stripped first: "foobar"
    dashes = TextVectorization(
        standardize=lambda t: np.char.replace(t, "-", " "), vocabulary=["foo", "bar"]
    )
    assert _np(dashes(["foo-bar"])).tolist() == [[2, 3]]
    whole = TextVectorization(split=None, vocabulary=vocab)
    assert _np(whole([["foo"], ["bar"], ["unknown"]])).tolist() == [[2], [3], [1]]
    bigrams = TextVectorization(ngrams=2)
    bigrams.adapt(["foo bar baz"])
    assert {"foo bar", "bar baz"} <= set(bigrams.get_vocabulary())
    one_three = TextVectorization(ngrams=(1, 3))
    one_three.adapt(["foo bar baz"])
    vocab13 = one_three.get_vocabulary()
    assert "foo" in vocab13 and "foo bar baz" in vocab13 and "foo bar" not in vocab13
    capped = TextVectorization(max_tokens=5)
    capped.adapt(["a b c d e f g h i j"])
    assert len(capped.get_vocabulary()) == 5
    padded = TextVectorization(
        output_mode="multi_hot", vocabulary=["foo", "bar"], max_tokens=8, pad_to_max_tokens=True
    )
    assert tuple(padded(["foo bar"]).shape) == (1, 8)
    assert TextVectorization(vocabulary=vocab).vocabulary_size() == 5


def test_numpy_standardize_callable_sees_unicode_array():
    """Keras 3 off TensorFlow hands the callable a NumPy 'U' array (its regression test)."""
    kinds = []

    def np_standardize(text):
        kinds.append((type(text).__name__, text.dtype.kind))
        return np.char.replace(np.char.lower(text), ",", "")

    layer = TextVectorization(standardize=np_standardize)
    layer.adapt(["Hello, world."])
    assert set(kinds) == {("ndarray", "U")}
    assert "hello" in layer.get_vocabulary() and "world." in layer.get_vocabulary()


# -------------------------------------------------- a reference of TF's semantics
_KERAS_PUNCT = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')  # Keras's regex
_ASCII_SPACE = re.compile(r"[ \t\n\v\f\r]+")


def _reference_tokens(text: str) -> list[str]:
    lowered = re.sub(r"[A-Z]+", lambda m: m.group(0).lower(), text)  # ASCII only
    stripped = _KERAS_PUNCT.sub("", lowered)
    return [t for t in _ASCII_SPACE.split(stripped) if t]


def _reference_vocab(texts: list[str], max_tokens: int) -> list[str]:
    counts = Counter(t for s in texts for t in _reference_tokens(s))
    tokens = np.array([t.encode() for t in counts], dtype=object)  # TF sorts bytes
    values = np.array(list(counts.values()))
    order = np.lexsort((tokens, values))[::-1][: max_tokens - 2]
    return ["", "[UNK]"] + [tokens[i].decode() for i in order]


TRICKY = [
    "ÉCOLE école École ÉCOLE!",  # only ASCII letters are lowercased
    "tab\there\x1cfile-sep\xa0nbsp\u2003em space",  # \x1c, NBSP, em space are not TF spaces
    "Don't stop-believing; it's 100% (true)...",
    "mixed CASE Case case  \n\n  case",
    "emoji 😀 stays, 😀! and a\u0301ccent",
    "",
]


def test_adapt_and_call_follow_tensorflow_string_semantics():
    rng = np.random.default_rng(0)
    words = ["Spam", "ham", "FREE!", "money$", "Ünïcode", "naïve", "x\x1cy", "a\xa0b", "c-d"]
    texts = TRICKY + [" ".join(rng.choice(words, rng.integers(1, 12))) for _ in range(200)]
    layer = TextVectorization(max_tokens=30)
    layer.adapt(np.array(texts))
    assert layer.get_vocabulary() == _reference_vocab(texts, 30)
    vocab = {t: i for i, t in enumerate(layer.get_vocabulary())}
    out = _np(layer(texts))
    for row, text in zip(out, texts):
        want = [vocab.get(t, 1) for t in _reference_tokens(text)]
        assert row.tolist() == want + [0] * (out.shape[1] - len(want))


def test_tf_idf_adapt_matches_formula():
    texts = ["the cat sat", "the dog sat", "a cat and a cat", "dogs"]
    layer = TextVectorization(output_mode="tf_idf")
    layer.adapt(texts)
    vocab = layer.get_vocabulary()
    assert vocab[0] == "[UNK]"  # no mask outside 'int' mode
    docs = Counter(t for s in texts for t in set(s.split()))
    idf = np.array([np.log(1 + len(texts) / (1 + docs[t])) for t in vocab[1:]], dtype=np.float32)
    expected_idf = np.concatenate([[idf.mean()], idf])
    np.testing.assert_allclose(_np(layer._lookup_layer._idf), expected_idf, rtol=1e-6)
    out = _np(layer(["cat cat zebra"]))
    expected = np.zeros(len(vocab), dtype=np.float32)
    expected[vocab.index("cat")] = 2 * expected_idf[vocab.index("cat")]
    expected[0] = expected_idf[0]
    np.testing.assert_allclose(out[0], expected, rtol=1e-6)


def test_output_sequence_length_pads_and_truncates():
    layer = TextVectorization(output_sequence_length=3, vocabulary=["a", "b", "c"])
    assert _np(layer(["a b c a b", "c", ""])).tolist() == [[2, 3, 4], [4, 0, 0], [0, 0, 0]]
    ragged = TextVectorization(vocabulary=["a"])
    assert tuple(ragged(np.array(["a a a", "a"])).shape) == (2, 3)
    assert ragged(np.array(["", ""])).shape == (2, 0)
    assert ragged("a a").tolist() == [[2, 2]]  # a scalar string is one sample
    assert ragged([b"a", b"\xc3\xa9"]).tolist() == [[2], [1]]  # bytes decode as UTF-8


def test_symbolic_shapes_and_dtypes():
    x = lamina.Input(shape=(1,), dtype="string")
    assert x.dtype == "string"
    ints = TextVectorization(output_sequence_length=7)(x)
    assert ints.shape == (None, 7) and ints.dtype == "int64"
    counts = TextVectorization(output_mode="count", vocabulary=["a", "b"])(x)
    assert counts.shape == (None, 3) and counts.dtype == "float32"
    padded = TextVectorization(output_mode="multi_hot", max_tokens=9, pad_to_max_tokens=True)(x)
    assert padded.shape == (None, 9)


def test_config_round_trip_and_keras_keys():
    layer = TextVectorization(
        max_tokens=50,
        ngrams=(1, 2),
        output_mode="tf_idf",
        vocabulary=["a", "b"],
        idf_weights=[0.5, 1.5],
    )
    config = json.loads(json.dumps(layer.get_config()))
    keras_keys = {
        "max_tokens", "standardize", "split", "ngrams", "output_mode", "output_sequence_length",
        "pad_to_max_tokens", "sparse", "ragged", "vocabulary", "idf_weights", "encoding",
        "vocabulary_size", "name", "trainable", "dtype",
    }  # fmt: skip
    assert set(config) == keras_keys
    clone = TextVectorization.from_config(config)
    assert clone.get_config() == config
    np.testing.assert_array_equal(_np(clone(["a b c b"])), _np(layer(["a b c b"])))


def test_registered_callables_travel_by_name():
    @lamina.saving.register_serializable(package="tests_text")
    def dashes_to_spaces(texts):
        return np.char.replace(texts, "-", " ")

    layer = TextVectorization(standardize=dashes_to_spaces, vocabulary=["a", "b"])
    config = layer.get_config()
    assert config["standardize"] == "tests_text>dashes_to_spaces"
    assert _np(TextVectorization.from_config(config)(["a-b"])).tolist() == [[2, 3]]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"standardize": "upper"}, "standardize"),
        ({"split": "comma"}, "split"),
        ({"ngrams": 0}, "ngrams"),
        ({"ngrams": "2"}, "ngrams"),
        ({"output_mode": "one_hot"}, "output_mode"),
        ({"output_mode": "count", "output_sequence_length": 4}, "output_sequence_length"),
        ({"output_sequence_length": 2.5}, "output_sequence_length"),
        ({"ragged": True}, "ragged"),
        ({"sparse": True}, "sparse"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message) as err:
        TextVectorization(name="vec", **kwargs)
    assert "'vec'" in str(err.value) and "received:" in str(err.value)


def test_bad_inputs():
    layer = TextVectorization(vocabulary=["a"], name="vec")
    with pytest.raises(TypeError, match="strings"):
        layer(torch.zeros(2, 1))
    with pytest.raises(TypeError, match="strings"):
        layer(np.array([1, 2]))
    with pytest.raises(ValueError, match=r"\(batch,\) or \(batch, 1\)"):
        layer(np.array([["a", "b"]]))
    with pytest.raises(RuntimeError, match="vocabulary before"):
        TextVectorization(output_mode="multi_hot")(["a"])


# tools/api_coverage.py reads this. Keras 3's string layers need TensorFlow, which the oracle
# environment lacks, so the reference is Keras's own published values: its docstring
# examples and its test suite's expected outputs (docs/keras_differences.md).
TEXT_PARITY = {"layers.TextVectorization": (test_docstring_examples, test_keras_test_values)}


@pytest.mark.parametrize("name", sorted(TEXT_PARITY))
def test_text_layer_matches_keras_published_values(name: str) -> None:
    for check in TEXT_PARITY[name]:
        check()
