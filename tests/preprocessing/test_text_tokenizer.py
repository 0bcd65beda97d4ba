"""Keras 2's Tokenizer and text helpers.

tf.keras 2 (and keras_preprocessing) is not installed here, so expectations are worked
out by hand from its documented rules (index 0 reserved, most frequent word first, ties
in first-seen order, the OOV token at 1, indices below num_words kept) and, for the
matrices, from NumPy formulas (tfidf: (1 + ln count) * ln(1 + docs / (1 + docs with it))).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from lamina.preprocessing.text import (
    Tokenizer,
    hashing_trick,
    one_hot,
    text_to_word_sequence,
    tokenizer_from_json,
)

TEXTS = ["The cat sat on the mat.", "The dog ate my homework!", "My cat, my rules"]


def test_text_to_word_sequence():
    assert text_to_word_sequence("Hello, World!\tNew\nline  here") == [
        "hello", "world", "new", "line", "here",
    ]  # fmt: skip
    assert text_to_word_sequence("a-b c", filters="", lower=False) == ["a-b", "c"]
    assert text_to_word_sequence("x;y;;z", split=";") == ["x", "y", "z"]


def test_fit_word_index_counts_and_docs():
    tok = Tokenizer()
    tok.fit_on_texts(TEXTS)
    # counts: the 3, cat 2, my 3, others 1; ties keep first-seen order
    assert list(tok.word_index)[:3] == ["the", "my", "cat"]
    assert tok.word_index == {
        "the": 1, "my": 2, "cat": 3, "sat": 4, "on": 5, "mat": 6, "dog": 7, "ate": 8,
        "homework": 9, "rules": 10,
    }  # fmt: skip
    assert tok.word_counts["the"] == 3 and tok.word_docs["my"] == 2 and tok.word_docs["the"] == 2
    assert tok.index_docs[tok.word_index["cat"]] == 2
    assert tok.index_word[1] == "the" and tok.document_count == 3


def test_sequences_num_words_and_oov():
    tok = Tokenizer(num_words=4, oov_token="<OOV>")
    tok.fit_on_texts(TEXTS)
    assert tok.word_index["<OOV>"] == 1 and tok.word_index["the"] == 2
    # kept: indices 1..3 (<OOV>, the, my); cat is 4 >= num_words -> OOV
    assert tok.texts_to_sequences(["the cat and my dog"]) == [[2, 1, 1, 3, 1]]
    assert tok.sequences_to_texts([[2, 3, 4, 99]]) == ["the my <OOV> <OOV>"]
    plain = Tokenizer(num_words=3)
    plain.fit_on_texts(TEXTS)
    assert plain.texts_to_sequences(["the cat and my dog"]) == [[1, 2]]  # dropped, no OOV
    assert plain.sequences_to_texts([[1, 2, 3]]) == ["the my"]


def test_char_level_and_word_lists():
    tok = Tokenizer(char_level=True)
    tok.fit_on_texts(["abca", "Bd"])
    assert tok.word_index == {"a": 1, "b": 2, "c": 3, "d": 4}
    assert tok.texts_to_sequences(["dab"]) == [[4, 1, 2]]
    words = Tokenizer()
    words.fit_on_texts([["Hello", "world"], ["hello"]])
    assert words.word_index == {"hello": 1, "world": 2}


def _reference_matrix(tok, texts, mode):
    seqs = tok.texts_to_sequences(texts)
    width = tok.num_words or len(tok.word_index) + 1
    out = np.zeros((len(seqs), width))
    for r, seq in enumerate(seqs):
        for j in set(seq):
            if j >= width:
                continue
            c = seq.count(j)
            if mode == "binary":
                out[r, j] = 1
            elif mode == "count":
                out[r, j] = c
            elif mode == "freq":
                out[r, j] = c / len(seq)
            else:
                out[r, j] = (1 + np.log(c)) * np.log(
                    1 + tok.document_count / (1 + tok.index_docs[j])
                )
    return out


@pytest.mark.parametrize("mode", ["binary", "count", "freq", "tfidf"])
@pytest.mark.parametrize("num_words", [None, 5])
def test_texts_to_matrix(mode, num_words):
    tok = Tokenizer(num_words=num_words)
    tok.fit_on_texts(TEXTS)
    queries = ["the the cat my", "", "unknown words", "homework homework rules the"]
    got = tok.texts_to_matrix(queries, mode=mode)
    np.testing.assert_allclose(got, _reference_matrix(tok, queries, mode))
    assert got.shape == (4, num_words or 11)
    if mode == "tfidf":
        assert got[0, 1] == pytest.approx((1 + np.log(2)) * np.log(1 + 3 / 3))


def test_json_round_trip_in_tf_keras_layout():
    tok = Tokenizer(num_words=6, oov_token="?", filters="!")
    tok.fit_on_texts(TEXTS)
    text = tok.to_json()
    data = json.loads(text)
    assert data["class_name"] == "Tokenizer"
    assert set(data["config"]) == {
        "num_words", "filters", "lower", "split", "char_level", "oov_token", "document_count",
        "word_counts", "word_docs", "index_docs", "index_word", "word_index",
    }  # fmt: skip
    assert isinstance(data["config"]["word_index"], str)  # tf.keras stores each table as JSON
    back = tokenizer_from_json(text)
    assert back.word_index == tok.word_index and back.index_word == tok.index_word
    assert back.index_docs == tok.index_docs and back.document_count == 3
    assert back.texts_to_sequences(TEXTS) == tok.texts_to_sequences(TEXTS)
    np.testing.assert_array_equal(
        back.texts_to_matrix(TEXTS, "tfidf"), tok.texts_to_matrix(TEXTS, "tfidf")
    )


def test_hashing():
    assert hashing_trick("a b a", 10, "md5") == [
        int.from_bytes(__import__("hashlib").md5(w.encode()).digest(), "big") % 9 + 1
        for w in ("a", "b", "a")
    ]
    out = one_hot("Spam spam eggs", 5)
    assert len(out) == 3 and out[0] == out[1] and all(1 <= i < 5 for i in out)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: Tokenizer(num_words=0), "num_words"),
        (lambda: Tokenizer(bogus=1), "bogus"),
        (lambda: Tokenizer().fit_on_texts("a string"), "list of texts"),
        (lambda: Tokenizer().texts_to_matrix(["a"]), "fitted vocabulary"),
        (lambda: Tokenizer(num_words=3).texts_to_matrix(["a"], mode="tfidf"), "fitted"),
        (lambda: Tokenizer(num_words=3).texts_to_matrix(["a"], mode="onehot"), "mode"),
        (lambda: Tokenizer().fit_on_texts([3]), "str"),
        (lambda: tokenizer_from_json("{}"), "to_json"),
        (lambda: hashing_trick("a", 1), "n >= 2"),
    ],
)
def test_errors(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_nb_words_is_keras_1s_spelling():
    with pytest.warns(UserWarning, match="num_words"):
        tok = Tokenizer(nb_words=7)
    assert tok.num_words == 7
