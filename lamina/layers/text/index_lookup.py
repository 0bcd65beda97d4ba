"""`IndexLookup`: the vocabulary, `adapt`, output modes and saved state shared by
`StringLookup`, `IntegerLookup` and (through its `StringLookup`) `TextVectorization`.

Keras's semantics: indices start with the mask token (index 0, 'int' mode only), then
`num_oov_indices` OOV slots, then the vocabulary, most frequent first (ties: the larger
token first). `adapt` counts tokens (and, for 'tf_idf', documents per token) on the
host with `collections.Counter`; IDF is `log(1 + documents / (1 + documents with the
token))`, the special tokens weighted by the mean IDF.

The vocabulary and IDF weights are the layer's state, not weights (Keras lists none):
they travel in saved models as Keras stores them, `assets/<layer>/vocabulary.txt`
(`save_assets` / `load_assets`) and the variable `idf_weights` (`save_own_variables`).
Subclasses say how values are read (`_values`) and looked up (`_set_tokens`, `call`).
"""

from __future__ import annotations

import os
from collections import Counter
from itertools import chain
from typing import Any

import numpy as np
import torch

from lamina.layers.base import Layer
from lamina.layers.dtypes import dtype_name
from lamina.layers.text.encoding import MODES, encode_dense
from lamina.layers.text.lookup_state import VocabularyState
from lamina.layers.text.strings import decode_token
from lamina.layers.text.vocabulary import Whole, adapt_batches, encoded, listify, most_frequent


class IndexLookup(VocabularyState, Layer):
    """Maps tokens to integer indices (or back, with `invert=True`). Not used directly."""

    autocast = False  # tokens keep their own dtype
    vocabulary_dtype = "string"

    def __init__(
        self,
        max_tokens: int | None,
        num_oov_indices: int,
        mask_token: Any,
        oov_token: Any,
        vocabulary: Any = None,
        idf_weights: Any = None,
        invert: bool = False,
        output_mode: str = "int",
        sparse: bool = False,
        pad_to_max_tokens: bool = False,
        vocabulary_size: int | None = None,
        has_input_vocabulary: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode == "tf-idf":
            output_mode = "tf_idf"
        self._check_args(max_tokens, num_oov_indices, invert, output_mode, sparse, idf_weights)
        if pad_to_max_tokens and max_tokens is None:
            raise self._error("max_tokens set when pad_to_max_tokens=True", max_tokens=None)
        self.max_tokens = max_tokens
        self.num_oov_indices = int(num_oov_indices)
        self.mask_token = mask_token
        self.oov_token = oov_token
        self.invert = bool(invert)
        self.output_mode = output_mode
        self.sparse = bool(sparse)
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self.input_vocabulary = None if isinstance(vocabulary, (str, os.PathLike)) else vocabulary
        self.input_idf_weights = idf_weights
        self._has_input_vocabulary = (
            vocabulary is not None if has_input_vocabulary is None else bool(has_input_vocabulary)
        )
        self._frozen_vocab_size = vocabulary_size
        self._depth_used = False  # a non-int output of this depth was produced or declared
        self._tokens: list[Any] = []
        self.register_buffer("_idf", None, persistent=False)
        self.register_buffer("_device_probe", torch.empty(0), persistent=False)
        self.reset_state()
        if output_mode == "tf_idf" and self._has_input_vocabulary and idf_weights is None:
            raise self._error("idf_weights with a vocabulary in 'tf_idf' mode", idf_weights=None)
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        self.built = True

    # ---------------------------------------------------------------- checks
    def _error(self, expected: str, **received: Any) -> ValueError:
        got = ", ".join(f"{k}={v!r}" for k, v in received.items())
        return ValueError(
            f"Layer '{self.name}' ({type(self).__name__}) expected {expected}, received: {got}"
        )

    def _check_args(self, max_tokens, num_oov_indices, invert, output_mode, sparse, idf) -> None:
        if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens <= 1):
            raise self._error("max_tokens None or an integer > 1", max_tokens=max_tokens)
        if not isinstance(num_oov_indices, int) or num_oov_indices < 0:
            raise self._error("num_oov_indices >= 0", num_oov_indices=num_oov_indices)
        if output_mode not in MODES:
            raise self._error(f"output_mode in {MODES}", output_mode=output_mode)
        if invert and output_mode != "int":
            raise self._error("output_mode='int' with invert=True", output_mode=output_mode)
        if sparse:
            raise self._error(
                "sparse=False (sparse outputs need TensorFlow; Keras allows them only there)",
                sparse=sparse,
            )
        if idf is not None and output_mode != "tf_idf":
            raise self._error("idf_weights only in 'tf_idf' mode", output_mode=output_mode)

    # ------------------------------------------------------------- indexing
    def _oov_start_index(self) -> int:
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self) -> int:
        return self._oov_start_index() + self.num_oov_indices

    def vocabulary_size(self) -> int:
        """The vocabulary's size, mask and OOV indices included."""
        return self._token_start_index() + len(self._tokens)

    def get_vocabulary(self, include_special_tokens: bool = True) -> list[Any]:
        """The vocabulary in index order (a term's index is its position), as Keras."""
        special = [self.oov_token] * self._token_start_index()
        if self._oov_start_index():
            special[0] = self.mask_token
        vocab = special + list(self._tokens)
        return vocab if include_special_tokens else vocab[self._token_start_index() :]

    def _depth(self) -> int | None:
        return self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size

    def _record_vocabulary_size(self) -> None:
        new = self.vocabulary_size()
        frozen = self._frozen_vocab_size
        fixed = self.output_mode == "int" or self.pad_to_max_tokens
        if not fixed and self._depth_used and frozen is not None and new != frozen:
            raise RuntimeError(
                f"Layer '{self.name}' ({type(self).__name__}) expected an unchanged vocabulary "
                f"size once called with output_mode='{self.output_mode}' and "
                f"pad_to_max_tokens=False (its output width is fixed), received: a vocabulary "
                f"of {new} (was {frozen})"
            )
        self._frozen_vocab_size = new

    # ------------------------------------------------------------ vocabulary
    def _values(self, data: Any) -> np.ndarray:
        """`data` as an array of this layer's token type (subclasses)."""
        raise NotImplementedError

    def _set_tokens(self, tokens: list[Any]) -> None:
        """Install `tokens` (special tokens excluded) as the lookup table."""
        self._tokens = list(tokens)

    def _read_vocabulary_file(self, path: str | os.PathLike) -> list[Any]:
        if not os.path.isfile(path):
            raise self._error("an existing vocabulary file", vocabulary=os.fspath(path))
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        while lines and lines[-1] == "":
            lines.pop()
        return self._parse_lines(lines)

    def _parse_lines(self, lines: list[str]) -> list[Any]:
        return lines

    def set_vocabulary(self, vocabulary: Any, idf_weights: Any = None) -> None:
        """Set the vocabulary (a list, array, tensor or a file with one term per line)
        and, in 'tf_idf' mode, the IDF weights; replaces any vocabulary present."""
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise self._error("idf_weights in 'tf_idf' mode", idf_weights=None)
        if self.output_mode != "tf_idf" and idf_weights is not None:
            raise self._error("idf_weights only in 'tf_idf' mode", output_mode=self.output_mode)
        if isinstance(vocabulary, (str, os.PathLike)):
            if self.output_mode == "tf_idf":
                raise self._error(
                    "a vocabulary list in 'tf_idf' mode (a file has no IDF weights)",
                    vocabulary=os.fspath(vocabulary),
                )
            vocabulary = self._read_vocabulary_file(vocabulary)
        else:
            vocabulary = self._values(vocabulary).reshape(-1).tolist()
        if not vocabulary:
            raise self._error("a non-empty vocabulary", vocabulary=vocabulary)
        start = self._token_start_index()
        special = [self.mask_token] * self._oov_start_index() + [self.oov_token] * (
            self.num_oov_indices
        )
        found_special = vocabulary[:start] == special
        tokens = vocabulary[start:] if found_special else vocabulary
        repeated = [t for t, n in Counter(tokens).items() if n > 1]
        if repeated:
            raise self._error("a vocabulary without repeated terms", repeated=repeated[:10])
        if self.mask_token is not None and self.mask_token in tokens:
            raise self._error(
                f"the mask token only at the start of the vocabulary, in this order: {special}",
                mask_token=self.mask_token,
                index=vocabulary.index(self.mask_token, start if found_special else 0),
            )
        if self.invert and self.oov_token is not None and self.oov_token in tokens:
            raise self._error(
                f"the OOV token only at the start of the vocabulary, in this order: {special}",
                oov_token=self.oov_token,
            )
        size = start + len(tokens)
        if self.max_tokens is not None and size > self.max_tokens:
            raise self._error(
                f"a vocabulary of at most max_tokens={self.max_tokens} terms (special tokens "
                "included)",
                vocabulary_size=size,
            )
        self._set_tokens(tokens)
        self._record_vocabulary_size()
        if self.output_mode == "tf_idf":
            self._set_idf(np.asarray(idf_weights, dtype=np.float64), len(vocabulary), found_special)

    def _set_idf(self, idf: np.ndarray, vocab_len: int, found_special: bool) -> None:
        if idf.ndim != 1:
            raise self._error("a 1-D array of idf_weights", shape=idf.shape)
        if len(idf) != vocab_len:
            raise self._error(
                "as many idf_weights as vocabulary terms", idf_weights=len(idf), terms=vocab_len
            )
        front = 0 if found_special else self._token_start_index()
        front_value = 0.0 if found_special else float(np.average(idf)) if len(idf) else 0.0
        back = 0
        if self.pad_to_max_tokens and self.max_tokens is not None:
            back = self.max_tokens - front - len(idf)
        padded = np.pad(idf, (front, max(back, 0)), constant_values=(front_value, 0.0))
        self._idf = torch.as_tensor(padded.astype(np.float32), device=self._device_probe.device)

    # ----------------------------------------------------------------- adapt
    def reset_state(self) -> None:
        """Forget the counts of an adapt in progress (not the vocabulary)."""
        self._counts: Counter = Counter()
        self._doc_counts: Counter = Counter()
        self._num_documents = 0

    def adapt(self, data: Any, steps: int | None = None, batch_size: int | None = None) -> None:
        """Learn the vocabulary (and IDF weights) from data: an array or list (each element
        a document), or an iterable of batches (a Lamina dataset yielding `(x, y)` uses x)."""
        if steps is not None and (not isinstance(steps, int) or steps < 1):
            raise self._error("steps None or a positive integer", steps=steps)
        self.reset_state()
        for batch in adapt_batches(data, steps):
            if isinstance(batch, Whole):
                self.update_state(batch.data, whole=True)
            else:
                self.update_state(batch)
        self.finalize_state()

    def _batch_documents(self, batch: Any, whole: bool) -> list[list[Any]]:
        values = self._values(batch)
        if values.ndim == 0 or (values.ndim == 1 and not whole):
            return [values.reshape(-1).tolist()]  # Keras: a rank-1 batch is one document
        if values.ndim == 1:
            return [[v] for v in values.tolist()]
        return [row.reshape(-1).tolist() for row in values]

    def update_state(self, data: Any, whole: bool = False) -> None:
        """Count one batch of tokens (`adapt` calls this; `whole`: the array adapt got)."""
        self._count_documents(self._batch_documents(data, whole))

    def _count_documents(self, documents: list[list[Any]]) -> None:
        if self._has_input_vocabulary:
            raise self._error(
                "a layer without a fixed vocabulary to adapt (it was given one through "
                "`vocabulary` or `set_vocabulary()`)",
                vocabulary_size=self.vocabulary_size(),
            )
        self._counts.update(chain.from_iterable(documents))
        if self.output_mode == "tf_idf":
            self._doc_counts.update(chain.from_iterable(map(set, documents)))
            self._num_documents += len(documents)

    def finalize_state(self) -> None:
        """Turn the counts into the vocabulary: most frequent first, capped by max_tokens."""
        if self._has_input_vocabulary or not self._counts:
            self._record_vocabulary_size()
            return
        counts, doc_counts = self._counts, self._doc_counts
        # TextVectorization counts UTF-8 byte tokens: only the kept terms are decoded
        as_bytes = isinstance(next(iter(counts)), bytes)
        for special in (self.mask_token, self.oov_token):
            if special is not None:
                counts.pop(encoded(special) if as_bytes else special, None)
        keep = None
        if self.max_tokens:
            keep = max(self.max_tokens - self._token_start_index(), 0)
        terms = most_frequent(counts, keep)
        tokens = [decode_token(t) for t in terms] if as_bytes else terms
        self._set_tokens(tokens)
        if self.output_mode == "tf_idf":
            docs = np.array([doc_counts[t] for t in terms], dtype=np.float64)
            idf = np.log(1.0 + self._num_documents / (1.0 + docs)).astype(np.float32)
            mean = idf.mean(dtype=np.float32) if len(idf) else np.float32(0)
            padded = np.pad(idf, (self._token_start_index(), 0), constant_values=mean)
            if self.pad_to_max_tokens and self.max_tokens is not None:
                padded = np.pad(padded, (0, max(self.max_tokens - len(padded), 0)))
            self._idf = torch.as_tensor(padded, device=self._device_probe.device)
        self.reset_state()
        self._record_vocabulary_size()

    # ---------------------------------------------------------------- output
    def _float_dtype(self) -> torch.dtype:
        return self._dtype if self._dtype.is_floating_point else torch.float32

    def _encode(self, index: torch.Tensor) -> torch.Tensor:
        """Indices (masked = -1 outside 'int' mode) in the layer's output mode."""
        if self.output_mode == "int":
            return index
        depth = self._known_depth()
        return encode_dense(
            index, self.output_mode, depth, self._idf_or_none(), self._float_dtype()
        )

    def _known_depth(self) -> int:
        depth = self._depth()
        if depth is None:
            raise RuntimeError(
                f"Layer '{self.name}' ({type(self).__name__}) expected a vocabulary before "
                f"being called with output_mode='{self.output_mode}' and pad_to_max_tokens="
                "False, received: none. Pass `vocabulary=` or call `adapt()` first."
            )
        self._depth_used = True
        return depth

    def _idf_or_none(self) -> torch.Tensor | None:
        if self.output_mode != "tf_idf":
            return None
        if self._idf is None:
            raise RuntimeError(
                f"Layer '{self.name}' ({type(self).__name__}) expected IDF weights in 'tf_idf' "
                "mode, received: none. Pass `idf_weights=` or call `adapt()` first."
            )
        return self._idf

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape)
        if self.output_mode == "int":
            return shape
        depth = self._depth()
        if depth is not None:
            self._depth_used = True
        if self.output_mode == "one_hot":
            if len(shape) > 1 and shape[-1] == 1:
                return (*shape[:-1], depth)
            return (*shape, depth)
        return (*shape[:-1], depth)

    def _output_dtype_name(self) -> str:
        if self.output_mode != "int":
            return dtype_name(self._float_dtype())
        if self.invert:
            return self.vocabulary_dtype
        return "int64"

    def _call_symbolic_typed(self, inputs: Any, args: tuple, kwargs: dict) -> Any:
        outputs = self._call_symbolic(inputs, *args, **kwargs)
        outputs.dtype = self._output_dtype_name()
        return outputs

    # ---------------------------------------------------------------- config
    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "invert": self.invert,
            "max_tokens": self.max_tokens,
            "num_oov_indices": self.num_oov_indices,
            "oov_token": self.oov_token,
            "mask_token": self.mask_token,
            "output_mode": self.output_mode,
            "sparse": self.sparse,
            "pad_to_max_tokens": self.pad_to_max_tokens,
            "idf_weights": listify(self.input_idf_weights),
            "vocabulary": listify(self.input_vocabulary),
            "vocabulary_size": self._frozen_vocab_size,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> IndexLookup:
        if isinstance(config.get("vocabulary"), (str, os.PathLike)):
            raise ValueError(
                f"Layer '{config.get('name')}' ({cls.__name__}) from a config: expected the "
                "vocabulary as a list (a saved model carries it as an asset), received: a file "
                f"path vocabulary={config['vocabulary']!r}; a config never reads other files"
            )
        return cls(**config)
