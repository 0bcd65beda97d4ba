"""`IntegerLookup`: integer ids to contiguous indices, in torch ops (a sorted-key
`searchsorted`), so it runs on the device and inside a compiled step.

    lookup = IntegerLookup(vocabulary=[12, 36, 1138, 42])
    lookup(torch.tensor([[12, 1138, 42], [42, 1000, 36]]))   # [[1, 3, 4], [4, 0, 2]]

OOV ids go to index `num_oov_indices` buckets by `id % num_oov_indices` (Keras's default
'floormod'). Keras's 'farmhash' method and salts are TensorFlow hashes: not supported.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lamina import registry
from lamina.layers.text.index_lookup import IndexLookup


@registry.register("layer", "IntegerLookup")
class IntegerLookup(IndexLookup):
    """Maps integers to indices (Keras's IntegerLookup): mask, OOV slots, then the vocabulary."""

    vocabulary_dtype = "int64"

    def __init__(
        self,
        max_tokens: int | None = None,
        num_oov_indices: int = 1,
        mask_token: int | None = None,
        oov_token: int = -1,
        vocabulary: Any = None,
        vocabulary_dtype: str = "int64",
        idf_weights: Any = None,
        invert: bool = False,
        output_mode: str = "int",
        sparse: bool = False,
        pad_to_max_tokens: bool = False,
        oov_method: str = "floormod",
        salt: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            max_tokens=max_tokens,
            num_oov_indices=num_oov_indices,
            mask_token=None if mask_token is None else int(mask_token),
            oov_token=None if oov_token is None else int(oov_token),
            vocabulary=vocabulary,
            idf_weights=idf_weights,
            invert=invert,
            output_mode=output_mode,
            sparse=sparse,
            pad_to_max_tokens=pad_to_max_tokens,
            **kwargs,
        )
        if vocabulary_dtype != "int64":
            raise self._error("vocabulary_dtype='int64'", vocabulary_dtype=vocabulary_dtype)
        if oov_method != "floormod":
            raise self._error(
                "oov_method='floormod' (Keras's 'farmhash' is TensorFlow's FarmHash, which "
                "Lamina lacks)",
                oov_method=oov_method,
            )
        if salt is not None:
            raise self._error("salt=None (only used with oov_method='farmhash')", salt=salt)
        self.oov_method = oov_method
        self.salt = salt
        if not hasattr(self, "_keys"):
            self._set_tokens([])

    # ------------------------------------------------------------------ table
    def _values(self, data: Any) -> np.ndarray:
        if isinstance(data, torch.Tensor):
            data = data.detach().cpu().numpy()
        arr = np.asarray(data)
        if arr.dtype.kind == "f" and np.all(np.mod(arr, 1) == 0):
            arr = arr.astype(np.int64)
        if arr.dtype.kind not in "iub":
            raise self._error("integer values", dtype=str(arr.dtype))
        return arr.astype(np.int64)

    def _parse_lines(self, lines: list[str]) -> list[Any]:
        try:
            return [int(line) for line in lines]
        except ValueError as err:
            raise self._error("one integer per vocabulary line", error=str(err)) from None

    def _set_tokens(self, tokens: list[Any]) -> None:
        super()._set_tokens([int(t) for t in tokens])
        device = self._device_probe.device
        vocab = torch.tensor(self._tokens, dtype=torch.int64, device=device)
        order = torch.argsort(vocab)
        start = self._token_start_index()
        self._register("_keys", vocab[order])
        self._register("_key_index", order + start)
        table = torch.tensor(self.get_vocabulary(), dtype=torch.int64, device=device)
        self._register("_vocab_table", table)

    def _register(self, name: str, value: torch.Tensor) -> None:
        if name in self._buffers:
            setattr(self, name, value)
        else:
            self.register_buffer(name, value, persistent=False)

    # ------------------------------------------------------------------- call
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if args and isinstance(args[0], (list, tuple, int, np.integer)):
            args = (torch.from_numpy(self._values(args[0])), *args[1:])  # ids, not a structure
        return super().__call__(*args, **kwargs)

    def call(self, inputs: Any) -> torch.Tensor:
        x = inputs
        if not isinstance(x, torch.Tensor):
            x = torch.from_numpy(self._values(x))
        if x.is_floating_point() or x.dtype == torch.bool:
            x = x.to(torch.int64)
        x = x.to(device=self._keys.device, dtype=torch.int64)
        if self.invert:
            return self._invert(x)
        return self._encode(self._lookup(x))

    def _lookup(self, x: torch.Tensor) -> torch.Tensor:
        keys = self._keys
        if keys.numel():
            pos = torch.searchsorted(keys, x).clamp(max=keys.numel() - 1)
            found = keys[pos] == x
            index = torch.where(found, self._key_index[pos], torch.full_like(x, -2))
        else:
            found = torch.zeros_like(x, dtype=torch.bool)
            index = torch.full_like(x, -2)
        n_oov, start = self.num_oov_indices, self._oov_start_index()
        if n_oov == 1:
            index = torch.where(found, index, torch.full_like(x, start))
        elif n_oov > 1:
            index = torch.where(found, index, torch.remainder(x, n_oov) + start)
        elif not torch.compiler.is_compiling() and not bool(found.all()):
            masked = x == self.mask_token if self.mask_token is not None else found
            bad = x[~found & ~masked].unique()[:10].tolist()
            if bad:
                raise ValueError(
                    f"Layer '{self.name}' (IntegerLookup) expected only vocabulary terms with "
                    f"num_oov_indices=0, received: out-of-vocabulary values {bad}. Set "
                    "num_oov_indices=1 to map them to an OOV index."
                )
        if self.mask_token is not None:
            value = 0 if self.output_mode == "int" else -1
            index = torch.where(x == self.mask_token, torch.full_like(x, value), index)
        return index

    def _invert(self, index: torch.Tensor) -> torch.Tensor:
        table = self._vocab_table
        size = table.numel()
        inside = (index >= 0) & (index < size)
        oov = self.oov_token if self.oov_token is not None else -1
        picked = table[index.clamp(0, max(size - 1, 0))] if size else torch.full_like(index, oov)
        return torch.where(inside, picked, torch.full_like(index, oov))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        if config["vocabulary"] is not None:
            config["vocabulary"] = [int(v) for v in config["vocabulary"]]
        return {
            **config,
            "vocabulary_dtype": "int64",
            "oov_method": self.oov_method,
            "salt": self.salt,
        }
