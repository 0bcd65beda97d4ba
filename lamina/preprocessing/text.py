"""Keras 2's `keras.preprocessing.text`: the classic `Tokenizer`, `text_to_word_sequence`,
`one_hot` and `hashing_trick`, with tf.keras 2's behaviour (the courses' text examples).

    tok = Tokenizer(num_words=10000, oov_token="<OOV>")
    tok.fit_on_texts(train_texts)
    x = pad_sequences(tok.texts_to_sequences(train_texts), maxlen=200)
    m = tok.texts_to_matrix(texts, mode="tfidf")     # 'binary', 'count', 'freq', 'tfidf'
    tok2 = tokenizer_from_json(tok.to_json())        # JSON, never pickle

Index 0 is never a word; the most frequent word is 1 (the OOV token, when given, is 1
and words follow), ties in the order first seen. With `num_words`, only indices below it
are emitted. For a model-internal vocabulary use `lamina.layers.TextVectorization`.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from lamina import legacy_api

DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
MATRIX_MODES = ("binary", "count", "tfidf", "freq")


def text_to_word_sequence(
    input_text: str, filters: str = DEFAULT_FILTERS, lower: bool = True, split: str = " "
) -> list[str]:
    """Words of `input_text`: lowercased, each filter character turned into `split`."""
    if lower:
        input_text = input_text.lower()
    table = str.maketrans({c: split for c in filters}) if filters else None
    if table is not None:
        input_text = input_text.translate(table)
    return [w for w in input_text.split(split) if w]


def hashing_trick(
    text: str,
    n: int,
    hash_function: Callable[[str], int] | str | None = None,
    filters: str = DEFAULT_FILTERS,
    lower: bool = True,
    split: str = " ",
    analyzer: Callable[[str], list[str]] | None = None,
) -> list[int]:
    """Each word hashed to an index in [1, n): `hash` (salted per process unless
    PYTHONHASHSEED is set, as in Keras), 'md5' (stable) or a function."""
    if not isinstance(n, int) or n < 2:
        raise ValueError(f"hashing_trick expected an integer n >= 2, received: n={n!r}")
    if hash_function is None:
        hash_function = hash
    elif hash_function == "md5":

        def hash_function(word: str) -> int:
            return int(hashlib.md5(word.encode()).hexdigest(), 16)

    elif not callable(hash_function):
        raise ValueError(
            "hashing_trick expected hash_function None, 'md5' or a callable, received: "
            f"hash_function={hash_function!r}"
        )
    words = (
        analyzer(text)
        if analyzer is not None
        else text_to_word_sequence(text, filters, lower, split)
    )
    return [hash_function(w) % (n - 1) + 1 for w in words]


def one_hot(
    input_text: str,
    n: int,
    filters: str = DEFAULT_FILTERS,
    lower: bool = True,
    split: str = " ",
    analyzer: Callable[[str], list[str]] | None = None,
) -> list[int]:
    """`hashing_trick` with Python's `hash` (Keras 2's one_hot: a hashed index per word)."""
    return hashing_trick(input_text, n, hash, filters, lower, split, analyzer)


class Tokenizer:
    """Keras 2's Tokenizer: a word (or character) index fitted on texts."""

    def __init__(
        self,
        num_words: int | None = None,
        filters: str = DEFAULT_FILTERS,
        lower: bool = True,
        split: str = " ",
        char_level: bool = False,
        oov_token: str | None = None,
        analyzer: Callable[[str], list[str]] | None = None,
        **kwargs: Any,
    ) -> None:
        if "nb_words" in kwargs:
            legacy_api.record("Tokenizer(nb_words=...)")
            warnings.warn(
                "Tokenizer(nb_words=...) is Keras 1's spelling; use num_words=...",
                stacklevel=2,
            )
            num_words = kwargs.pop("nb_words")
        document_count = kwargs.pop("document_count", 0)
        if kwargs:
            raise TypeError(
                f"Tokenizer expected Keras's arguments, received: unknown {sorted(kwargs)}"
            )
        if num_words is not None and (
            isinstance(num_words, bool) or not isinstance(num_words, int) or num_words < 1
        ):
            raise ValueError(
                f"Tokenizer expected num_words None or a positive integer, received: "
                f"num_words={num_words!r}"
            )
        self.num_words = num_words
        self.filters = filters
        self.lower = lower
        self.split = split
        self.char_level = char_level
        self.oov_token = oov_token
        self.analyzer = analyzer
        self.document_count = document_count
        self.word_counts: OrderedDict[str, int] = OrderedDict()
        self.word_docs: defaultdict[str, int] = defaultdict(int)
        self.index_docs: defaultdict[int, int] = defaultdict(int)
        self.word_index: dict[str, int] = {}
        self.index_word: dict[int, str] = {}

    # ------------------------------------------------------------------ words
    def _words(self, text: Any) -> list[str]:
        if self.char_level or isinstance(text, list):
            if self.lower:
                return [t.lower() for t in text] if isinstance(text, list) else list(text.lower())
            return list(text)
        if not isinstance(text, str):
            raise TypeError(
                f"Tokenizer expected texts as str (or lists of words), received: "
                f"{type(text).__name__} {text!r}"[:200]
            )
        if self.analyzer is not None:
            return self.analyzer(text)
        return text_to_word_sequence(text, self.filters, self.lower, self.split)

    def fit_on_texts(self, texts: Iterable[Any]) -> None:
        """Count words and the documents each appears in; rebuild the index by frequency."""
        if isinstance(texts, str):
            raise TypeError("Tokenizer.fit_on_texts expected a list of texts, received: one str")
        counts = self.word_counts
        for text in texts:
            self.document_count += 1
            words = self._words(text)
            for w in words:
                counts[w] = counts.get(w, 0) + 1
            for w in set(words):
                self.word_docs[w] += 1
        ranked = sorted(counts.items(), key=lambda kv: kv[1], reverse=True)  # stable: first seen
        vocab = ([self.oov_token] if self.oov_token is not None else []) + [w for w, _ in ranked]
        self.word_index = {w: i for i, w in enumerate(vocab, 1)}
        self.index_word = {i: w for w, i in self.word_index.items()}
        for w, c in self.word_docs.items():
            self.index_docs[self.word_index[w]] = c

    def fit_on_sequences(self, sequences: Iterable[Iterable[int]]) -> None:
        """Count the documents each index appears in (for 'tfidf' on given sequences)."""
        sequences = list(sequences)
        self.document_count += len(sequences)
        for seq in sequences:
            for i in set(seq):
                self.index_docs[i] += 1

    # -------------------------------------------------------------- sequences
    def texts_to_sequences(self, texts: Iterable[Any]) -> list[list[int]]:
        return list(self.texts_to_sequences_generator(texts))

    def texts_to_sequences_generator(self, texts: Iterable[Any]) -> Iterator[list[int]]:
        """Each text as word indices; words beyond num_words (or unknown) become the OOV
        index when there is an OOV token, else are dropped."""
        if isinstance(texts, str):
            raise TypeError("Tokenizer expected a list of texts, received: one str")
        limit, index = self.num_words, self.word_index
        oov = index.get(self.oov_token) if self.oov_token is not None else None
        for text in texts:
            seq = []
            for w in self._words(text):
                i = index.get(w)
                if i is None or (limit and i >= limit):
                    if oov is not None:
                        seq.append(oov)
                else:
                    seq.append(i)
            yield seq

    def sequences_to_texts(self, sequences: Iterable[Iterable[int]]) -> list[str]:
        return list(self.sequences_to_texts_generator(sequences))

    def sequences_to_texts_generator(self, sequences: Iterable[Iterable[int]]) -> Iterator[str]:
        limit = self.num_words
        oov = self.word_index.get(self.oov_token) if self.oov_token is not None else None
        for seq in sequences:
            words = []
            for num in seq:
                word = self.index_word.get(int(num))
                if word is None or (limit and num >= limit):
                    if oov is not None:
                        words.append(self.index_word[oov])
                else:
                    words.append(word)
            yield " ".join(words)

    # ---------------------------------------------------------------- matrices
    def texts_to_matrix(self, texts: Iterable[Any], mode: str = "binary") -> np.ndarray:
        return self.sequences_to_matrix(self.texts_to_sequences(texts), mode=mode)

    def sequences_to_matrix(
        self, sequences: Iterable[Iterable[int]], mode: str = "binary"
    ) -> np.ndarray:
        """(samples, num_words): 'binary' presence, 'count', 'freq' (count / length) or
        'tfidf' ((1 + log count) * log(1 + documents / (1 + documents with the index)))."""
        if mode not in MATRIX_MODES:
            raise ValueError(f"Tokenizer expected mode in {MATRIX_MODES}, received: mode={mode!r}")
        if self.num_words:
            width = self.num_words
        elif self.word_index:
            width = len(self.word_index) + 1
        else:
            raise ValueError(
                "Tokenizer expected num_words or a fitted vocabulary to size the matrix, "
                "received: neither (call fit_on_texts first)"
            )
        if mode == "tfidf" and not self.document_count:
            raise ValueError(
                "Tokenizer expected to be fitted before mode='tfidf', received: document_count=0"
            )
        sequences = list(sequences)
        out = np.zeros((len(sequences), width))
        for row, seq in enumerate(sequences):
            seq = list(seq)
            if not seq:
                continue
            kept = np.asarray([j for j in seq if j < width], dtype=np.int64)
            if not len(kept):
                continue
            cols, counts = np.unique(kept, return_counts=True)
            if mode == "binary":
                out[row, cols] = 1.0
            elif mode == "count":
                out[row, cols] = counts
            elif mode == "freq":
                out[row, cols] = counts / len(seq)
            else:
                docs = np.array([self.index_docs.get(int(j), 0) for j in cols])
                idf = np.log(1 + self.document_count / (1 + docs))
                out[row, cols] = (1 + np.log(counts)) * idf
        return out

    # ------------------------------------------------------------------- JSON
    def get_config(self) -> dict[str, Any]:
        """tf.keras's layout: the settings, and each table as a JSON string."""
        return {
            "num_words": self.num_words,
            "filters": self.filters,
            "lower": self.lower,
            "split": self.split,
            "char_level": self.char_level,
            "oov_token": self.oov_token,
            "document_count": self.document_count,
            "word_counts": json.dumps(self.word_counts),
            "word_docs": json.dumps(self.word_docs),
            "index_docs": json.dumps(self.index_docs),
            "index_word": json.dumps(self.index_word),
            "word_index": json.dumps(self.word_index),
        }

    def to_json(self, **kwargs: Any) -> str:
        """`{"class_name": "Tokenizer", "config": ...}`; `tokenizer_from_json` reads it."""
        return json.dumps(
            {"class_name": type(self).__name__, "config": self.get_config()}, **kwargs
        )


def tokenizer_from_json(json_string: str) -> Tokenizer:
    """A Tokenizer from `Tokenizer.to_json()` (Lamina's or tf.keras's)."""
    try:
        data = json.loads(json_string)
        config = dict(data["config"])
        tables = {k: json.loads(config.pop(k)) for k in (
            "word_counts", "word_docs", "index_docs", "index_word", "word_index"
        )}  # fmt: skip
    except (ValueError, TypeError, KeyError) as err:
        raise ValueError(
            "tokenizer_from_json expected the JSON of Tokenizer.to_json(), received: "
            f"{type(err).__name__}: {err}"[:300]
        ) from None
    tokenizer = Tokenizer(**config)
    tokenizer.word_counts = OrderedDict(tables["word_counts"])
    tokenizer.word_docs = defaultdict(int, tables["word_docs"])
    tokenizer.index_docs = defaultdict(int, {int(k): v for k, v in tables["index_docs"].items()})
    tokenizer.index_word = {int(k): v for k, v in tables["index_word"].items()}
    tokenizer.word_index = dict(tables["word_index"])
    return tokenizer


__all__ = [
    "Tokenizer",
    "hashing_trick",
    "one_hot",
    "text_to_word_sequence",
    "tokenizer_from_json",
]
