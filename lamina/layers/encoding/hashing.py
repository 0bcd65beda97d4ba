"""`Hashing`: strings or integers to bucket ids by a fixed hash (TensorFlow's, bit for bit).

    Hashing(num_bins=3)([["A"], ["B"], ["C"]])            # [[1], [0], [1]]
    Hashing(num_bins=3, salt=[133, 137])(ids)             # SipHash-2-4 keyed by the salt

Keras 3 hashes through TensorFlow on every backend: each value is turned into its
string (integers in decimal; floats truncated to integers first), then bucketed by
FarmHash Fingerprint64 modulo num_bins, or, with a `salt`, by SipHash-2-4 under the key
(salt[0], salt[1]) (`fingerprints.py` holds both, checked against TensorFlow's values).
With `mask_value`, that value goes to bucket 0 and the others to 1..num_bins-1. The
work is host work on Python strings: a model holding this layer trains eagerly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lamina import registry
from lamina.layers.dtypes import dtype_name
from lamina.layers.encoding.categorical import encode
from lamina.layers.encoding.fingerprints import fingerprint64, siphash24
from lamina.layers.text.host_input import HostStringLayer
from lamina.layers.text.strings import as_string_array, is_string_like

_MODES = ("int", "one_hot", "multi_hot", "count")


def host_values(inputs: Any) -> tuple[np.ndarray, torch.device]:
    """Inputs as a NumPy array (object array of str for strings) and their device."""
    if isinstance(inputs, torch.Tensor):
        return inputs.detach().cpu().numpy(), inputs.device
    if is_string_like(inputs):
        return as_string_array(inputs), torch.device("cpu")
    return np.asarray(inputs), torch.device("cpu")


def as_bytes(value: Any) -> bytes:
    """TensorFlow's `as_string` of one value, as UTF-8 bytes."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return str(int(value)).encode("ascii")


@registry.register("layer", "Hashing")
class Hashing(HostStringLayer):
    """Bucket ids in [0, num_bins) of strings or integers ('int'), or their encodings."""

    autocast = False

    def __init__(
        self,
        num_bins: int,
        mask_value: Any = None,
        salt: int | list[int] | tuple[int, int] | None = None,
        output_mode: str = "int",
        sparse: bool = False,
        **kwargs: Any,
    ) -> None:
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "int64" if output_mode == "int" else None
        super().__init__(**kwargs)
        if not isinstance(num_bins, (int, np.integer)) or num_bins <= 0:
            raise self._error("a positive integer num_bins", num_bins=num_bins)
        if output_mode not in _MODES:
            raise self._error(f"output_mode in {_MODES}", output_mode=output_mode)
        if output_mode == "int" and self._dtype not in (torch.int32, torch.int64):
            raise self._error(
                "dtype int32 or int64 with output_mode='int'", dtype=kwargs.get("dtype")
            )
        if sparse:
            raise self._error(
                "sparse=False (the torch backend has no sparse output)", sparse=sparse
            )
        if salt is None:
            self.salt: list[int] | None = None
        elif isinstance(salt, (list, tuple)) and len(salt) == 2:
            self.salt = [int(s) for s in salt]
        elif isinstance(salt, (int, np.integer)):
            self.salt = [int(salt), int(salt)]
        else:
            raise self._error("a salt of one integer or two", salt=salt)
        self.num_bins = int(num_bins)
        self.mask_value = mask_value
        self.output_mode = output_mode
        self.sparse = False
        self.built = True

    def _error(self, expected: str, **received: Any) -> ValueError:
        got = ", ".join(f"{k}={v!r}" for k, v in received.items())
        return ValueError(f"Layer '{self.name}' (Hashing) expected {expected}, received: {got}")

    def _takes_tensor(self, inputs: torch.Tensor) -> bool:
        return True  # integer (or float) tensors hash as their decimal strings

    def _bucket(self, value: Any, bins: int) -> int:
        data = as_bytes(value)
        if self.salt is None:
            return fingerprint64(data) % bins
        return (
            siphash24(self.salt[0] & 0xFFFFFFFFFFFFFFFF, self.salt[1] & 0xFFFFFFFFFFFFFFFF, data)
            % bins
        )

    def hash_values(self, values: np.ndarray) -> np.ndarray:
        """int64 bucket ids of `values` (same shape), the mask value in bucket 0."""
        if values.dtype.kind == "f":
            values = values.astype(np.int64)
        bins = self.num_bins
        masked = None
        if self.mask_value is not None and bins > 1:
            bins -= 1
            masked = np.frompyfunc(lambda v: v == self.mask_value, 1, 1)(values).astype(bool)
        ids = np.frompyfunc(lambda v: self._bucket(v, bins), 1, 1)(values)
        ids = np.asarray(ids, dtype=np.int64).reshape(values.shape)
        if masked is not None:
            ids = np.where(masked, 0, ids + 1)
        return ids

    def call(self, inputs: Any) -> torch.Tensor:
        values, device = host_values(inputs)
        if self.output_mode == "one_hot" and values.ndim and values.shape[-1] == 1:
            values = values.reshape(values.shape[:-1])
        ids = torch.from_numpy(self.hash_values(values)).to(device)
        return encode(ids, self.output_mode, self.num_bins, self._dtype)

    def _call_symbolic_typed(self, inputs: Any, args: tuple, kwargs: dict) -> Any:
        """Symbolic outputs carry the dtype the call returns (int64 ids, or the float encodings)."""
        outputs = super()._call_symbolic_typed(inputs, args, kwargs)
        outputs.dtype = dtype_name(self._dtype)
        return outputs

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        input_shape = tuple(input_shape)
        if self.output_mode == "int":
            return input_shape
        if not input_shape:
            return (self.num_bins,)
        return (*input_shape[:-1], self.num_bins)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "num_bins": self.num_bins,
            "salt": self.salt,
            "mask_value": self.mask_value,
            "output_mode": self.output_mode,
            "sparse": self.sparse,
        }
