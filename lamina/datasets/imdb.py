"""IMDB movie-review sentiment, built from the raw aclImdb release, as `keras.datasets.imdb`.

Keras's `imdb.npz` stores ragged lists and needs `allow_pickle=True`, so Lamina
reads the original text instead: the `aclImdb` folder (train/pos, train/neg,
test/pos, test/neg of .txt reviews) or `aclImdb_v1.tar.gz` without extracting it,
from `path=`, `$LAMINA_IMDB_PATH` or `$LAMINA_HOME/datasets`. Words are indexed by
frequency over all 50,000 labelled reviews (most frequent -> 1), as Keras does;
the encoding then follows `keras.datasets.imdb.load_data` exactly (shuffle with
`seed`, `start_char`, `index_from`, `maxlen`, `num_words`, `skip_top`, `oov_char`).

    (x_train, y_train), (x_test, y_test) = lamina.datasets.imdb.load_data(num_words=10000)
"""

from __future__ import annotations

import collections
import functools
import os
import re
import tarfile
import warnings
from pathlib import Path

import numpy as np

from lamina import legacy_api
from lamina.datasets._common import DatasetNotFoundError, cache_dir

ENV_VAR = "LAMINA_IMDB_PATH"
FOLDER = "aclImdb"
ARCHIVE = "aclImdb_v1.tar.gz"
# Keras's Tokenizer default filters (apostrophes are kept: "don't" is one word).
_FILTERS = str.maketrans({c: " " for c in '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'})
_MEMBER = re.compile(r"(?:^|/)(train|test)/(neg|pos)/([^/]+\.txt)$")
_LABELS = {"neg": 0, "pos": 1}

Corpus = tuple[list[list[int]], np.ndarray, list[list[int]], np.ndarray, dict[str, int]]


def tokenize(text: str) -> list[str]:
    """Lower-case words of a review, dropping `<br />` tags and Keras's filter characters."""
    return text.replace("<br />", " ").lower().translate(_FILTERS).split()


def _sort_key(name: str) -> tuple:
    stem = name[:-4].split("_")
    if len(stem) == 2 and stem[0].isdigit() and stem[1].isdigit():
        return (0, int(stem[0]), int(stem[1]), name)
    return (1, 0, 0, name)


def _not_found(detail: str) -> DatasetNotFoundError:
    return DatasetNotFoundError(
        f"Expected the raw IMDB reviews ({FOLDER} folder or {ARCHIVE}), received: {detail}. "
        f"Nothing is downloaded at run time: get {ARCHIVE} from "
        f"https://ai.stanford.edu/~amaas/data/sentiment/ and put it (or the extracted {FOLDER} "
        f"folder) in {cache_dir()}, or pass path= / set {ENV_VAR}."
    )


def _resolve(path: str | os.PathLike[str] | None) -> Path:
    if path is None:
        path = os.environ.get(ENV_VAR) or None
    base = Path(path).expanduser() if path is not None else cache_dir()
    if base.suffix == ".npz":
        raise ValueError(
            f"Expected the raw {FOLDER} reviews, received: path={str(base)!r}. Keras's imdb.npz "
            "needs pickle to load, which Lamina refuses; use the original aclImdb release."
        )
    if base.is_file() and base.name.endswith((".tar.gz", ".tgz", ".tar")):
        return base
    if base.is_dir():
        if (base / "train").is_dir():
            return base
        for child in (base / FOLDER, base / ARCHIVE):
            if child.exists():
                return child
        raise _not_found(f"path={str(base)!r} (no train/ folder, {FOLDER} or {ARCHIVE} there)")
    raise _not_found(f"path={str(base)!r} (no such file or folder)")


def _read_texts(source: Path) -> dict[str, list[tuple[tuple, int, str]]]:
    """split -> [(sort key, label, text)] for every labelled review."""
    out: dict[str, list[tuple[tuple, int, str]]] = {"train": [], "test": []}
    if source.is_dir():
        for split in out:
            for label_name, label in _LABELS.items():
                folder = source / split / label_name
                if not folder.is_dir():
                    raise _not_found(f"path={str(source)!r} without {split}/{label_name}/")
                for file in folder.glob("*.txt"):
                    text = file.read_text(encoding="utf-8", errors="replace")
                    out[split].append(((label, *_sort_key(file.name)), label, text))
    else:
        with tarfile.open(source, "r:*") as tar:
            for member in tar:
                match = _MEMBER.search(member.name)
                if match is None or not member.isfile():
                    continue
                split, label_name, name = match.groups()
                fileobj = tar.extractfile(member)
                if fileobj is None:
                    continue
                text = fileobj.read().decode("utf-8", errors="replace")
                label = _LABELS[label_name]
                out[split].append(((label, *_sort_key(name)), label, text))
    for split, items in out.items():
        if not items:
            raise _not_found(f"path={str(source)!r} with no {split} reviews")
        items.sort(key=lambda item: item[0])
    return out


@functools.lru_cache(maxsize=2)
def _corpus(source: str, mtime_ns: int) -> Corpus:
    """Tokenised reviews and the frequency-ranked word index (memoised per source)."""
    texts = _read_texts(Path(source))
    tokens = {s: [tokenize(t) for _, _, t in items] for s, items in texts.items()}
    counts: collections.Counter[str] = collections.Counter()
    for split in ("train", "test"):
        for words in tokens[split]:
            counts.update(words)
    # most_common sorts by count, keeping first-seen order among ties (Keras's Tokenizer too).
    word_index = {word: rank for rank, (word, _) in enumerate(counts.most_common(), start=1)}
    seqs = {s: [[word_index[w] for w in words] for words in tokens[s]] for s in tokens}
    labels = {s: np.array([lab for _, lab, _ in texts[s]], dtype=np.int64) for s in texts}
    return seqs["train"], labels["train"], seqs["test"], labels["test"], word_index


def _load(path: str | os.PathLike[str] | None) -> Corpus:
    source = _resolve(path).resolve()
    return _corpus(str(source), source.stat().st_mtime_ns)


def get_word_index(path: str | os.PathLike[str] | None = None) -> dict[str, int]:
    """Word -> rank by frequency (1 = most frequent), before `index_from` is added."""
    return dict(_load(path)[4])


def _object_array(seqs: list[list[int]]) -> np.ndarray:
    out = np.empty(len(seqs), dtype=object)
    for i, seq in enumerate(seqs):  # element-wise: equal lengths must not make a 2-D array
        out[i] = seq
    return out


def load_data(
    path: str | os.PathLike[str] | None = None,
    num_words: int | None = None,
    skip_top: int = 0,
    maxlen: int | None = None,
    seed: int | None = 113,
    start_char: int | None = 1,
    oov_char: int | None = 2,
    index_from: int = 3,
    **kwargs,
):
    """IMDB as `(x_train, y_train), (x_test, y_test)`, encoded exactly as Keras.

    x are 1-D object arrays of Python lists of word indices (word rank + `index_from`,
    each review prefixed by `start_char`); y are int64 arrays (1 = positive).
    Words ranked outside `[skip_top, num_words)` become `oov_char` (dropped if None);
    reviews with `len >= maxlen` are removed.
    """
    if "nb_words" in kwargs:
        legacy_api.record("imdb.load_data(nb_words=...)")
        warnings.warn(
            "imdb.load_data(nb_words=...) is the Keras 1 spelling; use num_words=...",
            FutureWarning,
            stacklevel=2,
        )
        num_words = kwargs.pop("nb_words")
    if kwargs:
        raise TypeError(f"Expected no other keyword arguments, received: {sorted(kwargs)}")
    seqs_train, labels_train, seqs_test, labels_test, _ = _load(path)

    rng = np.random.RandomState(seed)
    order = np.arange(len(seqs_train))
    rng.shuffle(order)
    x_train, labels_train = [seqs_train[i] for i in order], labels_train[order]
    order = np.arange(len(seqs_test))
    rng.shuffle(order)
    x_test, labels_test = [seqs_test[i] for i in order], labels_test[order]

    def shift(x: list[int]) -> list[int]:
        body = [w + index_from for w in x]
        return [start_char, *body] if start_char is not None else body

    x_train, x_test = [shift(x) for x in x_train], [shift(x) for x in x_test]
    if maxlen:
        keep = [len(x) < maxlen for x in x_train]
        x_train, labels_train = [x for x, k in zip(x_train, keep) if k], labels_train[keep]
        keep = [len(x) < maxlen for x in x_test]
        x_test, labels_test = [x for x, k in zip(x_test, keep) if k], labels_test[keep]
        if not x_train or not x_test:
            raise ValueError(
                "Expected some reviews shorter than maxlen, received: "
                f"maxlen={maxlen} (no train or no test review remains)"
            )

    xs = x_train + x_test
    if not num_words:
        # As Keras: the largest index itself then falls outside [skip_top, num_words).
        num_words = max((max(x) for x in xs if x), default=0)
    if oov_char is not None:
        xs = [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    else:
        xs = [[w for w in x if skip_top <= w < num_words] for x in xs]
    n = len(x_train)
    return (_object_array(xs[:n]), labels_train), (_object_array(xs[n:]), labels_test)
