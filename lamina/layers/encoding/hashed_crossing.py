"""`HashedCrossing`: the bucket of a combination of categorical features (a hashed cross).

    HashedCrossing(num_bins=5)([np.array(["A", "B"]), np.array([101, 102])])   # [1, 1]

As TensorFlow's `tf.sparse.cross_hashed`, which Keras 3 runs on every backend: per
sample, start from the key 0xDECAFCAFFE and fold in each feature with FingerprintCat64 (a
string feature by its Fingerprint64, an integer feature by its own 64-bit value), then
take the result modulo num_bins. Inputs are 2 or more features of equal shape (),
(batch,) or (batch, 1), integers or strings; 'one_hot' encodes the bucket ids.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lamina import registry
from lamina.layers.dtypes import dtype_name
from lamina.layers.encoding.categorical import encode
from lamina.layers.encoding.fingerprints import CROSS_HASH_KEY, fingerprint64, fingerprint_cat64
from lamina.layers.encoding.hashing import host_values
from lamina.layers.text.host_input import HostStringLayer

_M = (1 << 64) - 1


def _feature_hash(value: Any) -> int:
    if isinstance(value, str):
        return fingerprint64(value.encode("utf-8"))
    if isinstance(value, bytes):
        return fingerprint64(value)
    return int(value) & _M


@registry.register("layer", "HashedCrossing")
class HashedCrossing(HostStringLayer):
    """Bucket ids in [0, num_bins) of the crossed features ('int'), or their one-hots."""

    autocast = False

    def __init__(
        self,
        num_bins: int,
        output_mode: str = "int",
        sparse: bool = False,
        name: str | None = None,
        dtype: Any = None,
        **kwargs: Any,
    ) -> None:
        if output_mode == "int" and dtype is None:
            dtype = "int64"
        super().__init__(name=name, dtype=dtype, **kwargs)
        if not isinstance(num_bins, (int, np.integer)) or num_bins <= 0:
            raise self._error("a positive integer num_bins", num_bins=num_bins)
        if output_mode not in ("int", "one_hot"):
            raise self._error("output_mode 'int' or 'one_hot'", output_mode=output_mode)
        if sparse:
            raise self._error(
                "sparse=False (the torch backend has no sparse output)", sparse=sparse
            )
        self.num_bins = int(num_bins)
        self.output_mode = output_mode
        self.sparse = False
        self.built = True

    def _error(self, expected: str, **received: Any) -> ValueError:
        got = ", ".join(f"{k}={v!r}" for k, v in received.items())
        return ValueError(
            f"Layer '{self.name}' (HashedCrossing) expected {expected}, received: {got}"
        )

    def _takes_tensor(self, inputs: torch.Tensor) -> bool:
        return True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if args and not isinstance(args[0], (list, tuple)):
            raise self._error("a list of 2 or more features", inputs=type(args[0]).__name__)
        return super().__call__(*args, **kwargs)

    def call(self, inputs: Any) -> torch.Tensor:
        if len(inputs) < 2:
            raise self._error("at least two features", num_inputs=len(inputs))
        arrays, devices = zip(*(host_values(x) for x in inputs))
        shape = arrays[0].shape
        if len(shape) > 2 or (len(shape) == 2 and shape[-1] != 1):
            raise self._error("features of shape (), (batch,) or (batch, 1)", shape=shape)
        if any(a.shape != shape for a in arrays):
            raise self._error("features of equal shape", shapes=[a.shape for a in arrays])
        if any(a.dtype.kind not in "iuO" for a in arrays):
            raise self._error("integer or string features", dtypes=[str(a.dtype) for a in arrays])
        flat = [a.reshape(-1) for a in arrays]
        ids = np.empty(flat[0].shape, dtype=np.int64)
        for i in range(ids.size):
            h = CROSS_HASH_KEY
            for feature in flat:
                h = fingerprint_cat64(h, _feature_hash(feature[i]))
            ids[i] = h % self.num_bins
        out = torch.from_numpy(ids.reshape(shape)).to(devices[0])
        return encode(out, self.output_mode, self.num_bins, self._dtype)

    def _call_symbolic_typed(self, inputs: Any, args: tuple, kwargs: dict) -> Any:
        """Symbolic outputs carry the dtype the call returns (int64 ids, or float one-hots)."""
        outputs = super()._call_symbolic_typed(inputs, args, kwargs)
        outputs.dtype = dtype_name(self._dtype)
        return outputs

    def compute_output_shape(self, input_shape: Any) -> tuple:
        first = tuple(input_shape[0])
        if self.output_mode == "int":
            return first
        if first and first[-1] == 1:
            return (*first[:-1], self.num_bins)
        return (*first, self.num_bins)

    def get_config(self) -> dict[str, Any]:
        return {
            "num_bins": self.num_bins,
            "output_mode": self.output_mode,
            "sparse": self.sparse,
            "name": self.name,
            "dtype": self.dtype_name or dtype_name(self._dtype),
        }
