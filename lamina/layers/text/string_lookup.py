"""`StringLookup`: strings to integer indices through a Python dict (host work).

    lookup = StringLookup()
    lookup.adapt(np.array([["a", "b"], ["a", "c"]]))
    lookup(np.array([["a", "z"]]))          # tensor([[2, 1]]): 'a' is the most frequent
    StringLookup(vocabulary=["a", "b"], invert=True)(torch.tensor([2, 1]))  # ['a', '[UNK]']

With `num_oov_indices > 1` an OOV string goes to a bucket chosen by a stable hash of
its UTF-8 bytes (BLAKE2b); Keras uses TensorFlow's FarmHash, so buckets differ from
Keras's (in-vocabulary indices agree).
"""

from __future__ import annotations

import hashlib
from itertools import repeat
from typing import Any

import numpy as np
import torch

from lamina import registry
from lamina.layers.text.host_input import HostStringLayer
from lamina.layers.text.index_lookup import IndexLookup
from lamina.layers.text.strings import as_string_array, decode_token

_MISSING = -2  # what the table gives an OOV token before buckets are assigned


def hash_bucket(token: str | bytes, buckets: int) -> int:
    """A stable bucket in [0, buckets) for `token` (the same in every process)."""
    if isinstance(token, str):
        token = token.encode("utf-8", "surrogatepass")
    digest = hashlib.blake2b(token, digest_size=8).digest()
    return int.from_bytes(digest, "little") % buckets


@registry.register("layer", "StringLookup")
class StringLookup(HostStringLayer, IndexLookup):
    """Maps strings to indices (Keras's StringLookup): mask, OOV slots, then the vocabulary."""

    vocabulary_dtype = "string"

    def __init__(
        self,
        max_tokens: int | None = None,
        num_oov_indices: int = 1,
        mask_token: str | None = None,
        oov_token: str = "[UNK]",
        vocabulary: Any = None,
        idf_weights: Any = None,
        invert: bool = False,
        output_mode: str = "int",
        pad_to_max_tokens: bool = False,
        sparse: bool = False,
        encoding: str = "utf-8",
        oov_method: str = "floormod",
        salt: Any = None,
        **kwargs: Any,
    ) -> None:
        self.encoding = encoding
        self._table: dict[str, int] = {}
        self._byte_table: dict[bytes, int] | None = None
        super().__init__(
            max_tokens=max_tokens,
            num_oov_indices=num_oov_indices,
            mask_token=mask_token,
            oov_token=oov_token,
            vocabulary=vocabulary,
            idf_weights=idf_weights,
            invert=invert,
            output_mode=output_mode,
            sparse=sparse,
            pad_to_max_tokens=pad_to_max_tokens,
            **kwargs,
        )
        if oov_method not in ("floormod", "farmhash"):
            raise self._error("oov_method in ('floormod', 'farmhash')", oov_method=oov_method)
        if salt is not None:
            raise self._error(
                "salt=None (a salted hash is TensorFlow's SipHash, which Lamina lacks)", salt=salt
            )
        self.oov_method = oov_method
        self.salt = salt

    # ------------------------------------------------------------------ table
    def _values(self, data: Any) -> np.ndarray:
        if isinstance(data, torch.Tensor):
            data = data.detach().cpu().numpy()
        return as_string_array(data, self.encoding, f"layer '{self.name}' (StringLookup)")

    def _set_tokens(self, tokens: list[Any]) -> None:
        super()._set_tokens(tokens)
        start = self._token_start_index()
        table = {t: i for i, t in enumerate(self._tokens, start)}
        if self.mask_token is not None:
            table[self.mask_token] = 0 if self.output_mode == "int" else -1
        self._table = table
        self._byte_table: dict[bytes, int] | None = None

    def lookup(self, tokens: list[Any]) -> np.ndarray:
        """Indices of `tokens` (a flat list of str, or of UTF-8 bytes); masked tokens are
        -1 outside 'int' mode."""
        n_oov = self.num_oov_indices
        default = self._oov_start_index() if n_oov == 1 else _MISSING
        table: dict[Any, int] = self._table
        if tokens and isinstance(tokens[0], bytes):
            if self._byte_table is None:
                self._byte_table = {
                    k.encode("utf-8", "surrogatepass"): v for k, v in self._table.items()
                }
            table = self._byte_table
        index = np.fromiter(
            map(table.get, tokens, repeat(default)), dtype=np.int64, count=len(tokens)
        )
        if n_oov == 1:
            return index
        missing = np.flatnonzero(index == _MISSING)
        if not len(missing):
            return index
        if n_oov == 0:
            found = sorted({decode_token(tokens[i]) for i in missing[:50]})
            raise ValueError(
                f"Layer '{self.name}' (StringLookup) expected only vocabulary terms with "
                f"num_oov_indices=0, received: out-of-vocabulary values {found[:10]}. Set "
                "num_oov_indices=1 to map them to an OOV index."
            )
        start = self._oov_start_index()
        index[missing] = [start + hash_bucket(tokens[i], n_oov) for i in missing]
        return index

    # ------------------------------------------------------------------- call
    def _takes_tensor(self, inputs: torch.Tensor) -> bool:
        return self.invert and not inputs.is_floating_point()

    def call(self, inputs: Any) -> Any:
        if self.invert:
            return self._invert(inputs)
        values = self._values(inputs)
        index = self.lookup(values.reshape(-1).tolist()).reshape(values.shape)
        out = torch.from_numpy(index).to(self._output_device())
        return self._encode(out)

    def _invert(self, inputs: Any) -> np.ndarray:
        if isinstance(inputs, torch.Tensor):
            inputs = inputs.detach().cpu().numpy()
        index = np.asarray(inputs)
        if index.dtype.kind not in "iu":
            raise self._error("integer indices with invert=True", dtype=str(index.dtype))
        vocab = self.get_vocabulary()
        size = len(vocab)
        out = np.empty(index.shape, dtype=object)
        out.flat = [
            vocab[i] if 0 <= i < size else self.oov_token for i in index.reshape(-1).tolist()
        ]
        return out

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "oov_method": self.oov_method,
            "salt": self.salt,
            "encoding": self.encoding,
        }
