"""StringLookup and IntegerLookup against Keras 3.

Keras 3's lookup layers need TensorFlow, which is not installed here, so the expected
values are those Keras itself documents and asserts: the examples in its docstrings and
the numbers in keras/src/layers/preprocessing/*_lookup_test.py (computed by Keras with
TensorFlow), plus a NumPy re-implementation of Keras's `finalize_state` for random data.
"""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
import torch
from layer_harness import run_layer_test

import lamina
from lamina.layers import IntegerLookup, StringLookup
from lamina.layers.text.vocabulary import most_frequent


def _np(t):
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


# ------------------------------------------------------------- Keras's examples
def test_string_lookup_docstring_examples():
    vocab = ["a", "b", "c", "d"]
    data = [["a", "c", "d"], ["d", "z", "b"]]
    assert _np(StringLookup(vocabulary=vocab)(data)).tolist() == [[1, 3, 4], [4, 0, 2]]
    layer = StringLookup()
    layer.adapt([["a", "c", "d"], ["d", "z", "b"]])  # (a, c, z, b once; d twice)
    assert layer.get_vocabulary() == ["[UNK]", "d", "z", "c", "b", "a"]
    two = StringLookup(vocabulary=vocab, num_oov_indices=2)
    out = _np(two(data))
    assert out[0].tolist() == [2, 4, 5] and out[1, 0] == 5 and out[1, 2] == 3
    assert out[1, 1] in (0, 1)  # an OOV bucket (Keras hashes with FarmHash: 1 there)
    one_hot = StringLookup(vocabulary=vocab, output_mode="one_hot")
    np.testing.assert_array_equal(
        _np(one_hot(["a", "b", "c", "d", "z"])),
        [[0, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [1, 0, 0, 0, 0]],
    )
    multi = StringLookup(vocabulary=vocab, output_mode="multi_hot")
    np.testing.assert_array_equal(_np(multi(data)), [[0, 1, 0, 1, 1], [1, 0, 1, 0, 1]])
    count = StringLookup(vocabulary=vocab, output_mode="count")
    np.testing.assert_array_equal(
        _np(count([["a", "c", "d", "d"], ["d", "z", "b", "z"]])), [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]]
    )
    tfidf = StringLookup(output_mode="tf_idf", vocabulary=vocab, idf_weights=[0.25, 0.75, 0.6, 0.4])
    np.testing.assert_allclose(
        _np(tfidf([["a", "c", "d", "d"], ["d", "z", "b", "z"]])),
        [[0.0, 0.25, 0.0, 0.6, 0.8], [1.0, 0.0, 0.75, 0.0, 0.4]],
        rtol=1e-6,
    )
    inverse = StringLookup(vocabulary=vocab, invert=True)
    assert _np(inverse(torch.tensor([[1, 3, 4], [4, 0, 2]]))).tolist() == [
        ["a", "c", "d"],
        ["d", "[UNK]", "b"],
    ]


def test_index_lookup_keras_test_values():
    # keras/src/layers/preprocessing/index_lookup_test.py: test_basics_string_vocab
    layer = StringLookup(max_tokens=7, mask_token="", oov_token="[OOV]")
    layer.adapt(["one", "one", "one", "two", "two", "three"])
    assert layer.get_vocabulary() == ["", "[OOV]", "one", "two", "three"]
    assert layer.get_vocabulary(include_special_tokens=False) == ["one", "two", "three"]
    assert _np(layer(["one", "two", "four"])).tolist() == [2, 3, 1]
    # test_output_modes (a rank-1 input is one sample outside 'int' mode)
    kw = dict(max_tokens=7, mask_token="", oov_token="[OOV]", vocabulary=["one", "two", "three"])
    single, batch = ["one", "two", "four"], [["one", "two", "four", "two"]]
    assert _np(StringLookup(**kw)(batch)).tolist() == [[2, 3, 1, 3]]
    np.testing.assert_array_equal(
        _np(StringLookup(output_mode="multi_hot", **kw)(single)), [1, 1, 1, 0]
    )
    np.testing.assert_array_equal(
        _np(StringLookup(output_mode="count", **kw)(batch)), [[1, 1, 2, 0]]
    )
    tfidf = StringLookup(output_mode="tf_idf", idf_weights=np.array([0.1, 0.2, 0.3]), **kw)
    np.testing.assert_allclose(_np(tfidf(single)), [0.2, 0.1, 0.2, 0.0], rtol=1e-6)
    np.testing.assert_allclose(_np(tfidf(batch)), [[0.2, 0.1, 0.4, 0.0]], rtol=1e-6)
    # test_max_tokens_adapt / test_pad_to_max_tokens (integers)
    ints = IntegerLookup(max_tokens=4, mask_token=0)
    ints.adapt([1, 1, 1, 2, 2, 3])
    assert ints.get_vocabulary() == [0, -1, 1, 2]
    assert _np(ints([1, 2, 3, 4])).tolist() == [2, 3, 1, 1]
    padded = IntegerLookup(
        max_tokens=5,
        mask_token=0,
        vocabulary=[1, 2],
        pad_to_max_tokens=True,
        output_mode="multi_hot",
    )
    np.testing.assert_array_equal(_np(padded([1, 2])), [0, 1, 1, 0, 0])


def test_adapt_tf_idf_matches_keras():
    # index_lookup_test.py: test_adapt_tf_idf, unbatched then batched
    layer = StringLookup(max_tokens=7, mask_token="", oov_token="[OOV]", output_mode="tf_idf")
    layer.adapt(["one", "one", "one", "two", "two", "three"])
    idf = np.log(1 + 6 / (1 + np.array([3, 2, 1])))
    np.testing.assert_allclose(_np(layer._idf)[1:], idf, rtol=1e-6)
    np.testing.assert_allclose(
        _np(layer(["one", "two", "four"])), [1.1337324, 0.91629076, 1.0986123, 0.0], rtol=1e-6
    )
    layer.adapt([["one", "one"], ["one", "two"], ["two", "three"]])
    np.testing.assert_allclose(
        _np(layer._idf)[1:], np.log(1 + 3 / (1 + np.array([2, 2, 1]))), rtol=1e-6
    )
    np.testing.assert_allclose(
        _np(layer([["one", "two"], ["two", "four"]])),
        [[0.0, 0.6931472, 0.6931472, 0.0], [0.76752836, 0.0, 0.6931472, 0.0]],
        rtol=1e-6,
    )


def test_integer_lookup_docstring_examples():
    vocab = [12, 36, 1138, 42]
    data = np.array([[12, 1138, 42], [42, 1000, 36]])
    assert _np(IntegerLookup(vocabulary=vocab)(data)).tolist() == [[1, 3, 4], [4, 0, 2]]
    layer = IntegerLookup()
    layer.adapt(data)
    assert layer.get_vocabulary() == [-1, 42, 1138, 1000, 36, 12]
    two = IntegerLookup(vocabulary=vocab, num_oov_indices=2)
    assert _np(two(np.array([[12, 1138, 42], [37, 1000, 36]]))).tolist() == [[2, 4, 5], [1, 0, 3]]
    multi = IntegerLookup(vocabulary=vocab, output_mode="multi_hot")
    np.testing.assert_array_equal(
        _np(multi(np.array([[12, 1138, 42, 42], [42, 7, 36, 7]]))),
        [[0, 1, 0, 1, 1], [1, 0, 1, 0, 1]],
    )
    with pytest.raises(ValueError, match="mask token only at the start"):
        IntegerLookup(vocabulary=[0, 12, 36, 1138, 42], mask_token=0)  # as Keras 3 raises
    masked = IntegerLookup(vocabulary=[0, -1, 12, 36, 1138, 42], mask_token=0)
    assert _np(masked(np.array([[12, 1138, 0, 42], [42, 1000, 36, 0]]))).tolist() == [
        [2, 4, 0, 5],
        [5, 1, 3, 0],
    ]
    inverse = IntegerLookup(vocabulary=vocab, invert=True)
    assert _np(inverse(np.array([[1, 3, 4], [4, 0, 2]]))).tolist() == [[12, 1138, 42], [42, -1, 36]]


# ------------------------------------------------------------ adapt's ordering
def _keras_order(counts: Counter, keep: int | None) -> list:
    """Keras's finalize_state: np.lexsort((tokens, counts))[::-1], then the first `keep`."""
    tokens = np.array(list(counts))
    values = np.array([counts[t] for t in counts])
    order = np.lexsort((tokens, values))[::-1]
    return tokens[order[:keep] if keep is not None else order].tolist()


@pytest.mark.parametrize("keep", [None, 1, 7, 50, 1000])
def test_vocabulary_order_matches_keras_lexsort(keep):
    rng = np.random.default_rng(keep or 0)
    words = [f"w{rng.integers(0, 400)}" for _ in range(3000)] + ["é", "z", "Ω", "aa"]
    counts = Counter(words)
    assert most_frequent(counts, keep) == _keras_order(counts, keep)
    ints = Counter(rng.integers(-50, 50, 2000).tolist())
    assert most_frequent(ints, keep) == _keras_order(ints, keep)


def test_adapt_from_batches_and_steps():
    batches = [np.array(["a", "b", "b"]), np.array(["c", "c", "c"]), np.array(["d"] * 9)]
    layer = StringLookup()
    layer.adapt(iter(batches), steps=2)
    assert layer.get_vocabulary() == ["[UNK]", "c", "b", "a"]
    layer.adapt([(b, np.zeros(len(b))) for b in batches].__iter__())  # (x, y) batches: x
    assert layer.get_vocabulary() == ["[UNK]", "d", "c", "b", "a"]


# ------------------------------------------------------------------- harness
def test_integer_lookup_harness_int_and_multi_hot():
    ids = np.array([[3, 7, 9, 3], [5, 3, 100, 9]], dtype=np.int64)
    vocab = [9, 3, 5, 7]
    run_layer_test(
        IntegerLookup,
        {"vocabulary": vocab},
        input_shape=ids.shape,
        expected_output_shape=ids.shape,
        expected_num_params=0,
        input_data=ids,
        reference=lambda x, w: np.vectorize(lambda v: vocab.index(v) + 1 if v in vocab else 0)(x),
        run_gradcheck=False,
        run_training_step=False,
    )
    run_layer_test(
        IntegerLookup,
        {"vocabulary": vocab, "output_mode": "count"},
        input_shape=ids.shape,
        expected_output_shape=(2, 5),
        expected_num_params=0,
        input_data=ids,
        reference=lambda x, w: np.stack(
            [
                np.bincount([vocab.index(v) + 1 if v in vocab else 0 for v in row], minlength=5)
                for row in x
            ]
        ),
        run_gradcheck=False,
        run_training_step=False,
    )


# -------------------------------------------------------------- config, errors
@pytest.mark.parametrize(
    "cls, kwargs",
    [
        (StringLookup, {"vocabulary": ["x", "y"], "mask_token": "", "output_mode": "count"}),
        (StringLookup, {"max_tokens": 10, "num_oov_indices": 2, "oov_token": "?"}),
        (IntegerLookup, {"vocabulary": np.array([4, 8]), "invert": True}),
        (StringLookup, {"vocabulary": ["x"], "output_mode": "tf_idf", "idf_weights": [0.5]}),
    ],
)
def test_config_round_trip(cls, kwargs):
    layer = cls(**kwargs)
    config = json.loads(json.dumps(layer.get_config()))
    clone = cls.from_config(config)
    assert clone.get_config() == config
    assert clone.get_vocabulary() == layer.get_vocabulary()


def test_keras_config_keys():
    """The config's keys are Keras 3's (read from its get_config source)."""
    keras_keys = {
        "invert", "max_tokens", "num_oov_indices", "oov_token", "mask_token", "output_mode",
        "sparse", "pad_to_max_tokens", "idf_weights", "vocabulary", "vocabulary_size",
        "oov_method", "salt", "name", "trainable", "dtype",
    }  # fmt: skip
    assert set(StringLookup().get_config()) == keras_keys | {"encoding"}
    assert set(IntegerLookup().get_config()) == keras_keys | {"vocabulary_dtype"}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"max_tokens": 1}, "max_tokens"),
        ({"num_oov_indices": -1}, "num_oov_indices"),
        ({"output_mode": "bag"}, "output_mode"),
        ({"invert": True, "output_mode": "count"}, "invert"),
        ({"sparse": True}, "sparse"),
        ({"pad_to_max_tokens": True}, "max_tokens"),
        ({"vocabulary": ["a", "a"]}, "repeated"),
        ({"vocabulary": ["a", ""], "mask_token": ""}, "mask token"),
        ({"vocabulary": ["a", "b", "c"], "max_tokens": 3}, "max_tokens=3"),
        ({"output_mode": "tf_idf", "vocabulary": ["a"]}, "idf_weights"),
        ({"idf_weights": [1.0]}, "idf_weights"),
    ],
)
def test_bad_arguments_name_the_layer(kwargs, message):
    with pytest.raises(ValueError, match=message) as err:
        StringLookup(name="words", **kwargs)
    assert "'words'" in str(err.value) and "received:" in str(err.value)


def test_runtime_errors():
    strict = StringLookup(vocabulary=["a"], num_oov_indices=0, name="strict")
    with pytest.raises(ValueError, match=r"out-of-vocabulary values \['q'\]"):
        strict(["a", "q"])
    with pytest.raises(TypeError, match="strings"):
        StringLookup(vocabulary=["a"])(torch.tensor([1.0]))
    with pytest.raises(RuntimeError, match="vocabulary before"):
        StringLookup(output_mode="multi_hot")(["a"])
    fixed = StringLookup(vocabulary=["a"])
    with pytest.raises(ValueError, match="fixed vocabulary"):
        fixed.adapt(["b"])
    with pytest.raises(ValueError, match="file path"):
        StringLookup.from_config({**fixed.get_config(), "vocabulary": "/etc/passwd"})
    ints = IntegerLookup(vocabulary=[1, 2], num_oov_indices=0)
    with pytest.raises(ValueError, match=r"out-of-vocabulary values \[5\]"):
        ints(torch.tensor([1, 5]))


def test_vocabulary_file(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("foo\nbar\nbaz\n", encoding="utf-8")
    layer = StringLookup(vocabulary=str(path))
    assert layer.get_vocabulary() == ["[UNK]", "foo", "bar", "baz"]
    assert layer.get_config()["vocabulary"] is None  # the vocabulary travels as an asset
    with pytest.raises(ValueError, match="existing vocabulary file"):
        StringLookup(vocabulary=str(tmp_path / "missing.txt"))


def test_integer_lookup_in_a_compiled_model():
    """IntegerLookup is torch ops: a model holding it trains with the compiled step."""
    inputs = lamina.Input(shape=(3,), dtype="int64")
    h = IntegerLookup(vocabulary=[10, 20, 30], output_mode="multi_hot")(inputs)
    model = lamina.Model(inputs, lamina.layers.Dense(1)(h))
    model.compile("sgd", "mse", jit_compile=True)
    x = np.array([[10, 20, 99], [30, 30, 10], [20, 99, 99], [10, 10, 10]])
    model.fit(x, np.ones((4, 1)), batch_size=2, epochs=1, verbose=0, shuffle=False)
    assert model._step_fn.compiled is not None and not model._step_fn.failed
    np.testing.assert_allclose(model.predict(x, verbose=0).shape, (4, 1))


# tools/api_coverage.py reads this. Keras 3's lookup layers need TensorFlow, which the oracle
# environment lacks, so the reference is Keras's own published values: its docstring
# examples and its test suite's expected outputs (docs/keras_differences.md).
LOOKUP_PARITY = {
    "layers.StringLookup": (
        test_string_lookup_docstring_examples,
        test_index_lookup_keras_test_values,
        test_adapt_tf_idf_matches_keras,
    ),
    "layers.IntegerLookup": (
        test_integer_lookup_docstring_examples,
        test_index_lookup_keras_test_values,
    ),
}


@pytest.mark.parametrize("name", sorted(LOOKUP_PARITY))
def test_lookup_layer_matches_keras_published_values(name: str) -> None:
    for check in LOOKUP_PARITY[name]:
        check()
