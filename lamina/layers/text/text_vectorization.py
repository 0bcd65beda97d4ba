"""`TextVectorization`: raw strings to token indices or bag-of-words vectors, in a model.

    vectorize = TextVectorization(max_tokens=20000, output_sequence_length=200)
    vectorize.adapt(train_texts)                 # a list / array of str, or a dataset
    model = Sequential([Input(shape=(1,), dtype="string"), vectorize,
                        Embedding(20000, 64), Bidirectional(LSTM(32)), Dense(1, "sigmoid")])
    model.predict(np.array(["win a free cruise now"]))

Each string is standardized ('lower_and_strip_punctuation' by default), split
('whitespace'), optionally made into n-grams, then looked up in the vocabulary held by
a `StringLookup` (`_lookup_layer`, as in Keras, so a `.keras` file's assets sit where
Keras puts them). 'int' output pads with 0 (or truncates) to `output_sequence_length`,
else to the batch's longest text. The work is host work in Python's C string methods
(see `strings.py` for where TensorFlow's semantics differ from Python's defaults).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from lamina import registry
from lamina.layers.text import strings
from lamina.layers.text.encoding import MODES, count_rows
from lamina.layers.text.host_input import HostStringLayer
from lamina.layers.text.string_lookup import StringLookup
from lamina.layers.text.vocabulary import Whole, adapt_batches


@registry.register("layer", "TextVectorization")
class TextVectorization(HostStringLayer):
    """Keras's TextVectorization: standardize, split, n-grams, then index or count."""

    def __init__(
        self,
        max_tokens: int | None = None,
        standardize: Any = "lower_and_strip_punctuation",
        split: Any = "whitespace",
        ngrams: int | tuple[int, ...] | None = None,
        output_mode: str = "int",
        output_sequence_length: int | None = None,
        pad_to_max_tokens: bool = False,
        vocabulary: Any = None,
        idf_weights: Any = None,
        sparse: bool = False,
        ragged: bool = False,
        encoding: str = "utf-8",
        vocabulary_size: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode == "tf-idf":
            output_mode = "tf_idf"
        self._standardize_fn = self._resolve(standardize, strings.STANDARDIZE_NAMES, "standardize")
        self._split_fn = self._resolve(split, strings.SPLIT_NAMES, "split")
        self._check(ngrams, output_mode, output_sequence_length, sparse, ragged)
        self._standardize = standardize
        self._split = split
        self._ngrams_arg = ngrams
        self._ngrams = strings.ngram_widths(ngrams)
        self._byte_tokens = (
            None
            if self._standardize_fn or self._split_fn
            else strings.byte_tokenizer(standardize, split)
        )
        self._output_mode = output_mode
        self._output_sequence_length = output_sequence_length
        self._encoding = encoding
        self._ragged = bool(ragged)
        self._lookup_layer = StringLookup(
            max_tokens=max_tokens,
            vocabulary=vocabulary,
            idf_weights=idf_weights,
            pad_to_max_tokens=pad_to_max_tokens,
            mask_token="",
            output_mode=output_mode,
            sparse=sparse,
            encoding=encoding,
            vocabulary_size=vocabulary_size,
            name=f"{self.name}_lookup",
        )
        self.register_buffer("_device_probe", torch.empty(0), persistent=False)
        self.built = True

    # ---------------------------------------------------------------- checks
    def _error(self, expected: str, **received: Any) -> ValueError:
        got = ", ".join(f"{k}={v!r}" for k, v in received.items())
        return ValueError(
            f"Layer '{self.name}' (TextVectorization) expected {expected}, received: {got}"
        )

    def _resolve(self, value: Any, names: tuple[str, ...], arg: str) -> Callable | None:
        """A built-in name, None, a callable, or the name of a registered function."""
        if value is None or callable(value) or value in names:
            return value if callable(value) else None
        if isinstance(value, str):
            found = registry.lookup("activation", value)  # register_serializable's functions
            if found is not None and not isinstance(found, type):
                return found
        raise self._error(f"{arg} in {names}, None or a callable", **{arg: value})

    def _check(self, ngrams, output_mode, length, sparse, ragged) -> None:
        ok = ngrams is None or (isinstance(ngrams, int) and not isinstance(ngrams, bool))
        if isinstance(ngrams, (tuple, list)):
            ok = all(isinstance(n, int) and n > 0 for n in ngrams)
        if not ok or (isinstance(ngrams, int) and ngrams < 1):
            raise self._error("ngrams None, a positive integer or a tuple of them", ngrams=ngrams)
        modes = tuple(m for m in MODES if m != "one_hot")  # Keras: one_hot only on TensorFlow
        if output_mode not in modes:
            raise self._error(f"output_mode in {modes}", output_mode=output_mode)
        if output_mode == "int" and not (length is None or isinstance(length, int)):
            raise self._error(
                "output_sequence_length None or an integer", output_sequence_length=length
            )
        if output_mode != "int" and length is not None:
            raise self._error(
                "output_sequence_length only with output_mode='int'", output_mode=output_mode
            )
        if sparse or ragged:
            raise self._error(
                "sparse=False and ragged=False (Keras allows them only on TensorFlow)",
                sparse=sparse,
                ragged=ragged,
            )

    # ---------------------------------------------------------- preprocessing
    def _texts(self, inputs: Any) -> np.ndarray:
        """The input strings, standardized, as an object array of shape (batch,) or (batch, k)."""
        arr = strings.as_string_array(inputs, self._encoding, f"layer '{self.name}'")
        if arr.ndim == 0:
            arr = arr.reshape(1)
        if self._standardize_fn is not None:
            return strings.apply_callable(self._standardize_fn, arr, "standardize")
        fn = strings.standardizer(self._standardize)
        if fn is not None:
            out = np.empty(arr.shape, dtype=object)
            out.flat = fn(arr.reshape(-1).tolist())
            return out
        return arr

    def _tokens(self, inputs: Any) -> list[list[Any]]:
        """One token list per input string (after split and n-grams): UTF-8 bytes when the
        built-in steps run (`strings.byte_tokenizer`), else str."""
        if self._byte_tokens is not None:
            rows = self._byte_rows(inputs)
        else:
            rows = self._str_rows(inputs)
        if self._ngrams is not None:
            widths = self._ngrams
            rows = [strings.make_ngrams(r, widths) for r in rows]
        return rows

    def _byte_rows(self, inputs: Any) -> list[list[bytes]]:
        arr = strings.as_string_array(inputs, self._encoding, f"layer '{self.name}'")
        if arr.ndim == 0:
            arr = arr.reshape(1)
        tokenize = self._byte_tokens
        if self._split is None:
            flat = arr.reshape(arr.shape[0], -1).tolist()
            return [[tokenize(t)[0] for t in row] for row in flat]
        return [tokenize(t) for t in self._split_texts(arr).tolist()]

    def _split_texts(self, texts: np.ndarray) -> np.ndarray:
        """Texts to split, as (batch,): a trailing axis of 1 is dropped, as Keras does."""
        if texts.ndim > 1:
            if texts.shape[-1] != 1 or texts.ndim > 2:
                raise self._error(
                    "strings of shape (batch,) or (batch, 1) to split", shape=tuple(texts.shape)
                )
            texts = texts.reshape(-1)
        return texts

    def _str_rows(self, inputs: Any) -> list[list[str]]:
        texts = self._texts(inputs)
        if self._split is None:
            if texts.ndim == 1:
                texts = texts.reshape(-1, 1)
            rows = [list(r) for r in texts.reshape(texts.shape[0], -1).tolist()]
            return rows
        texts = self._split_texts(texts)
        if self._split_fn is not None:
            return strings.split_callable(self._split_fn, texts)
        split = strings.splitter(self._split)
        return [split(t) for t in texts.tolist()]

    # ----------------------------------------------------------------- adapt
    def adapt(self, data: Any, batch_size: int | None = None, steps: int | None = None) -> None:
        """Learn the vocabulary (most frequent tokens first, up to max_tokens) and, for
        'tf_idf', the IDF weights: from a list or array of strings (one document each) or
        an iterable of batches (a Lamina dataset of `(texts, labels)` uses the texts)."""
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
            raise self._error("batch_size None or a positive integer", batch_size=batch_size)
        if steps is not None and (not isinstance(steps, int) or steps < 1):
            raise self._error("steps None or a positive integer", steps=steps)
        lookup = self._lookup_layer
        lookup.reset_state()
        for batch in adapt_batches(data, steps):
            texts = batch.data if isinstance(batch, Whole) else batch
            self.update_state(texts)
        lookup.finalize_state()

    def update_state(self, data: Any) -> None:
        self._lookup_layer._count_documents(self._tokens(data))

    def finalize_state(self) -> None:
        self._lookup_layer.finalize_state()

    def reset_state(self) -> None:
        self._lookup_layer.reset_state()

    def get_vocabulary(self, include_special_tokens: bool = True) -> list[str]:
        """The vocabulary in index order: '' (padding) and '[UNK]' first unless excluded."""
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self) -> int:
        return self._lookup_layer.vocabulary_size()

    def set_vocabulary(self, vocabulary: Any, idf_weights: Any = None) -> None:
        """Set the vocabulary (list, array or file, one term per line) and IDF weights."""
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights=idf_weights)

    # ------------------------------------------------------------------ call
    def call(self, inputs: Any) -> torch.Tensor:
        rows = self._tokens(inputs)
        lookup = self._lookup_layer
        lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
        flat = [t for r in rows for t in r]
        index = lookup.lookup(flat)
        device = self._device_probe.device
        if self._output_mode != "int":
            row_ids = np.repeat(np.arange(len(rows)), lengths)
            depth = lookup._known_depth()
            return count_rows(
                torch.from_numpy(index).to(device),
                torch.from_numpy(row_ids).to(device),
                len(rows),
                depth,
                self._output_mode,
                lookup._idf_or_none(),
                lookup._float_dtype(),
            )
        width = self._output_sequence_length
        if width is None:
            width = int(lengths.max()) if len(lengths) else 0
        out = np.zeros((len(rows), width), dtype=np.int64)
        if len(flat):
            kept = np.minimum(lengths, width)
            starts = np.cumsum(lengths) - lengths
            row_ids = np.repeat(np.arange(len(rows)), kept)
            cols = np.arange(int(kept.sum())) - np.repeat(np.cumsum(kept) - kept, kept)
            out[row_ids, cols] = index[np.repeat(starts, kept) + cols]
        return torch.from_numpy(out).to(device)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape)
        if self._output_mode == "int":
            return (shape[0] if shape else None, self._output_sequence_length)
        if self._split is None:
            if len(shape) <= 1:
                shape = (*shape, 1)
        else:  # (batch,) or (batch, 1) texts: one token list each, as the call sees them
            if len(shape) == 2 and shape[-1] == 1:
                shape = shape[:1]
            shape = (*shape, None)
        return self._lookup_layer.compute_output_shape(shape)

    def _call_symbolic_typed(self, inputs: Any, args: tuple, kwargs: dict) -> Any:
        outputs = self._call_symbolic(inputs, *args, **kwargs)
        outputs.dtype = self._lookup_layer._output_dtype_name()
        return outputs

    # ---------------------------------------------------------------- config
    def get_config(self) -> dict[str, Any]:
        lookup = self._lookup_layer
        return {
            **super().get_config(),
            "max_tokens": lookup.max_tokens,
            "standardize": _function_name(self._standardize),
            "split": _function_name(self._split),
            "ngrams": list(self._ngrams_arg)
            if isinstance(self._ngrams_arg, tuple)
            else self._ngrams_arg,
            "output_mode": self._output_mode,
            "output_sequence_length": self._output_sequence_length,
            "pad_to_max_tokens": lookup.pad_to_max_tokens,
            "sparse": False,
            "ragged": self._ragged,
            "vocabulary": lookup.get_config()["vocabulary"],
            "idf_weights": lookup.get_config()["idf_weights"],
            "encoding": self._encoding,
            "vocabulary_size": self.vocabulary_size(),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TextVectorization:
        config = dict(config)
        if isinstance(config.get("ngrams"), list):
            config["ngrams"] = tuple(config["ngrams"])
        if isinstance(config.get("vocabulary"), str):
            raise ValueError(
                f"Layer '{config.get('name')}' (TextVectorization) from a config: expected the "
                "vocabulary as a list (a saved model carries it as an asset), received: a file "
                f"path vocabulary={config['vocabulary']!r}; a config never reads other files"
            )
        return cls(**config)

    # ------------------------------------------------------- saved state (Keras)
    def save_own_variables(self, store: dict[str, Any]) -> None:
        self._lookup_layer.save_own_variables(store)

    def load_own_variables(self, store: Any) -> None:
        self._lookup_layer.load_own_variables(store)

    def save_assets(self, dir_path: str) -> None:
        self._lookup_layer.save_assets(dir_path)

    def load_assets(self, dir_path: str | None) -> None:
        self._lookup_layer.load_assets(dir_path)


def _function_name(value: Any) -> Any:
    """A callable as the name it is registered under (Keras's "package>name" when set)."""
    if callable(value):
        return getattr(value, "_lamina_registered_name", None) or value.__name__
    return value
