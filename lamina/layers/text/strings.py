"""Host-side string work for the text layers: arrays of strings, standardizing, splitting
and n-grams, with TensorFlow's semantics (what Keras's text layers run).

Strings never become tensors: they stay Python `str` in NumPy arrays (object dtype, so a
batch of long emails costs no fixed-width copy) until a lookup turns tokens into indices.

- `tf.strings.lower` (Keras's "lower") lowercases ASCII letters only: "École" stays "École".
- Keras's punctuation pattern is exactly the 32 ASCII punctuation characters.
- `tf.strings.split` splits on ASCII whitespace (space, \\t, \\n, \\v, \\f, \\r) only; Python's
  `str.split()` also splits on \\x1c-\\x1f and Unicode spaces.

So the built-in steps run on UTF-8 bytes, where Python's `bytes.lower`, `bytes.translate`
and `bytes.split` do exactly what TensorFlow does (and fastest: a 6,000-email corpus of
32 MB is tokenized and counted in about 0.6 s of CPU). Tokens stay bytes until a
vocabulary is made; UTF-8 keeps code-point order, so sorting bytes sorts the strings.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import torch

_ASCII_LOWER = {ord(c): ord(c.lower()) for c in string.ascii_uppercase}
_PUNCTUATION = {ord(c): None for c in string.punctuation}
_PUNCTUATION_BYTES = string.punctuation.encode()
# characters Python's str.split() treats as whitespace and TensorFlow does not
_NOT_TF_SPACE = re.compile("[\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
STANDARDIZE_NAMES = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
SPLIT_NAMES = ("whitespace", "character")


def is_string_array(x: Any) -> bool:
    """A NumPy array of str/bytes (fixed-width or object holding strings)."""
    if not isinstance(x, np.ndarray):
        return False
    if x.dtype.kind in "US":
        return True
    if x.dtype.kind == "O":
        first = next(iter(x.flat), "")
        return isinstance(first, (str, bytes))
    return False


def is_string_like(x: Any) -> bool:
    """Strings as a layer may receive them: a str, a string array, or (nested) lists of str."""
    if isinstance(x, (str, bytes)) or is_string_array(x):
        return True
    if isinstance(x, (list, tuple)) and x:
        first = x[0]
        while isinstance(first, (list, tuple)) and first:
            first = first[0]
        return isinstance(first, (str, bytes))
    return False


def as_string_array(x: Any, encoding: str = "utf-8", what: str = "inputs") -> np.ndarray:
    """`x` as an object array of Python str (bytes decoded with `encoding`)."""
    if isinstance(x, torch.Tensor):
        raise TypeError(f"Expected strings for {what}, received: a tensor of dtype {x.dtype}")
    if isinstance(x, (str, bytes)):
        arr = np.empty((), dtype=object)
        arr[()] = x
    elif isinstance(x, np.ndarray):
        arr = x
    else:
        arr = np.empty(_nested_len(x), dtype=object)
        _fill(arr, x)
    kind = arr.dtype.kind
    if kind == "U":
        return arr.astype(object)
    if kind == "S" or (kind == "O" and any(isinstance(v, bytes) for v in arr.flat)):
        out = np.empty(arr.shape, dtype=object)
        out.flat = [v.decode(encoding) if isinstance(v, bytes) else v for v in arr.flat]
        arr = out
    if arr.dtype.kind != "O" or not all(isinstance(v, str) for v in arr.flat):
        bad = next((v for v in arr.flat if not isinstance(v, str)), None)
        raise TypeError(
            f"Expected strings for {what}, received: an array of dtype {arr.dtype}"
            + (f" holding {type(bad).__name__} {bad!r}" if bad is not None else "")
        )
    return arr


def _nested_len(x: Any) -> tuple[int, ...]:
    shape = []
    while isinstance(x, (list, tuple)):
        shape.append(len(x))
        if not x:
            break
        x = x[0]
    return tuple(shape)


def _fill(arr: np.ndarray, x: Any) -> None:
    if arr.ndim == 1:
        if len(x) != arr.shape[0] or any(isinstance(v, (list, tuple)) for v in x):
            raise ValueError(f"Expected a rectangular nesting of strings, received: {x!r}"[:300])
        for i, v in enumerate(x):
            arr[i] = v
        return
    if len(x) != arr.shape[0]:
        raise ValueError(f"Expected a rectangular nesting of strings, received: {x!r}"[:300])
    for i, v in enumerate(x):
        if not isinstance(v, (list, tuple)):
            raise ValueError(f"Expected a rectangular nesting of strings, received: {x!r}"[:300])
        _fill(arr[i], v)


# -------------------------------------------------------------------- standardize
def standardizer(standardize: Any) -> Callable[[list[str]], list[str]] | None:
    """A function over a list of strings for a built-in name (None: no standardizing)."""
    if standardize == "lower":
        return lambda texts: [lower_ascii(t) for t in texts]
    if standardize == "strip_punctuation":
        return lambda texts: [t.translate(_PUNCTUATION) for t in texts]
    if standardize == "lower_and_strip_punctuation":
        return lambda texts: [lower_ascii(t).translate(_PUNCTUATION) for t in texts]
    return None


def lower_ascii(text: str) -> str:
    """ASCII letters lowercased, others kept (`tf.strings.lower` without an encoding)."""
    return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)


def apply_callable(fn: Callable[[Any], Any], arr: np.ndarray, what: str) -> np.ndarray:
    """A user callable over the array (Keras hands NumPy strings to it off TensorFlow)."""
    out = fn(arr.astype(str) if arr.size else arr)
    try:
        result = as_string_array(np.asarray(out) if isinstance(out, list) else out)
    except (TypeError, ValueError) as err:
        raise TypeError(f"Expected the {what} callable to return strings, received: {err}") from err
    return result


def byte_tokenizer(standardize: Any, split: Any) -> Callable[[str], list[bytes]] | None:
    """Text -> UTF-8 byte tokens for built-in standardize and split (None: no fast path)."""
    if standardize not in (None, *STANDARDIZE_NAMES) or split not in ("whitespace", None):
        return None
    lower = standardize in ("lower", "lower_and_strip_punctuation")
    strip = standardize in ("strip_punctuation", "lower_and_strip_punctuation")
    punct = _PUNCTUATION_BYTES
    whole = split is None

    def tokens(text: str) -> list[bytes]:
        b = text.encode("utf-8", "surrogatepass")
        if lower:
            b = b.lower()
        if strip:
            b = b.translate(None, punct)
        return [b] if whole else b.split()

    return tokens


def decode_token(token: Any) -> Any:
    return token.decode("utf-8", "surrogatepass") if isinstance(token, bytes) else token


# -------------------------------------------------------------------------- split
def split_whitespace(text: str) -> list[str]:
    """`tf.strings.split(text)`: runs of ASCII whitespace separate tokens."""
    if _NOT_TF_SPACE.search(text) is None:
        return text.split()
    return [t.decode("utf-8") for t in text.encode("utf-8").split()]


def splitter(split: Any) -> Callable[[str], list[str]] | None:
    if split == "whitespace":
        return split_whitespace
    if split == "character":
        return list
    return None


def split_callable(fn: Callable[[Any], Any], texts: np.ndarray) -> list[list[str]]:
    """A user split callable: it sees the 1-D array of texts, returns one token list each."""
    out = fn(texts.astype(str) if texts.size else texts)
    if isinstance(out, torch.Tensor):
        raise TypeError(
            "Expected the split callable to return lists of strings, received: a tensor"
        )
    rows = [list(np.asarray(r, dtype=object).ravel()) for r in out]
    if len(rows) != len(texts):
        raise ValueError(
            f"Expected the split callable to return one token list per text ({len(texts)}), "
            f"received: {len(rows)}"
        )
    return [[t.decode("utf-8") if isinstance(t, bytes) else str(t) for t in r] for r in rows]


# ------------------------------------------------------------------------- ngrams
def ngram_widths(ngrams: int | Sequence[int] | None) -> tuple[int, ...] | None:
    if ngrams is None:
        return None
    if isinstance(ngrams, int):
        return tuple(range(1, ngrams + 1))
    return tuple(ngrams)


def make_ngrams(tokens: list[Any], widths: Iterable[int]) -> list[Any]:
    """`tf.strings.ngrams(tokens, widths, separator=" ")`: every width in order, no padding
    (tokens are all str or all bytes)."""
    out: list[Any] = []
    n = len(tokens)
    sep = b" " if tokens and isinstance(tokens[0], bytes) else " "
    for w in widths:
        if w == 1:
            out.extend(tokens)
        elif w <= n:
            out.extend(sep.join(tokens[i : i + w]) for i in range(n - w + 1))
    return out
