"""`Discretization`: bucket continuous values by boundaries (given, or learned by `adapt`).

    Discretization(bin_boundaries=[0.0, 1.0])([[-0.5, 0.5, 2.0]])     # [[0, 1, 2]]
    layer = Discretization(num_bins=4); layer.adapt(data)             # quantile boundaries

Bucket i holds boundaries[i-1] <= x < boundaries[i] (NumPy's digitize, `torch.bucketize`
with right=True). 'int' gives int32 bucket ids, as Keras; 'one_hot', 'multi_hot' and
'count' encode them over len(boundaries) + 1 buckets in the layer's float dtype. `adapt`
follows Keras's approximate-quantile summary (`quantiles.py`), `epsilon` its accuracy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch

from lamina import registry
from lamina.layers.base import Layer
from lamina.layers.dtypes import dtype_name
from lamina.layers.encoding import quantiles
from lamina.layers.encoding.categorical import OUTPUT_MODES, encode


@registry.register("layer", "Discretization")
class Discretization(Layer):
    """Maps each value to the index of its bucket."""

    autocast = False  # the output is integer ids (or encodings), whatever the input

    def __init__(
        self,
        bin_boundaries: Sequence[float] | None = None,
        num_bins: int | None = None,
        epsilon: float = 0.01,
        output_mode: str = "int",
        sparse: bool = False,
        dtype: Any = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, dtype=dtype, **kwargs)
        if output_mode not in OUTPUT_MODES:
            raise self._error(f"output_mode in {OUTPUT_MODES}", output_mode=output_mode)
        if sparse:
            raise self._error(
                "sparse=False (the torch backend has no sparse output)", sparse=sparse
            )
        if num_bins is not None and num_bins < 0:
            raise self._error("num_bins >= 0", num_bins=num_bins)
        if (num_bins is None) == (bin_boundaries is None):
            raise self._error(
                "exactly one of num_bins and bin_boundaries",
                num_bins=num_bins,
                bin_boundaries=bin_boundaries,
            )
        self.bin_boundaries = None if bin_boundaries is None else [float(b) for b in bin_boundaries]
        self.num_bins = num_bins
        self.epsilon = float(epsilon)
        self.output_mode = output_mode
        self.sparse = False
        self.summary = None if self.bin_boundaries else quantiles.empty()
        self.built = True

    def _error(self, expected: str, **received: Any) -> ValueError:
        got = ", ".join(f"{k}={v!r}" for k, v in received.items())
        return ValueError(
            f"Layer '{self.name}' (Discretization) expected {expected}, received: {got}"
        )

    # ------------------------------------------------------------------ adapt
    def adapt(self, data: Any, steps: int | None = None) -> None:
        """Learn `num_bins - 1` quantile boundaries from `data` (an array, or batches)."""
        if self.num_bins is None:
            raise self._error(
                "a layer made with num_bins to adapt", bin_boundaries=self.bin_boundaries
            )
        self.reset_state()
        if isinstance(data, (np.ndarray, torch.Tensor)) or not isinstance(data, Iterable):
            self.update_state(data)
        else:
            for i, batch in enumerate(data):
                if steps is not None and i >= steps:
                    break
                self.update_state(batch[0] if isinstance(batch, tuple) else batch)
        self.finalize_state()

    def update_state(self, data: Any) -> None:
        if isinstance(data, torch.Tensor):
            data = data.detach().cpu().numpy()
        batch = quantiles.summarize(np.asarray(data).astype("float32"), self.epsilon)
        self.summary = quantiles.merge(batch, self.summary, self.epsilon)

    def finalize_state(self) -> None:
        if self.num_bins is not None:
            self.bin_boundaries = quantiles.boundaries(self.summary, self.num_bins).tolist()

    def reset_state(self) -> None:
        if self.num_bins is not None:
            self.summary = quantiles.empty()

    # ------------------------------------------------------------------- call
    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(inputs, (list, tuple, float, int)):
            inputs = torch.as_tensor(np.asarray(inputs, dtype="float32"))
        return super().__call__(inputs, *args, **kwargs)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.bin_boundaries is None:
            raise self._error("bin_boundaries, or a call of adapt(data) first", bin_boundaries=None)
        edges = torch.as_tensor(
            self.bin_boundaries,
            dtype=inputs.dtype if inputs.is_floating_point() else torch.float32,
            device=inputs.device,
        )
        values = inputs if inputs.is_floating_point() else inputs.to(edges.dtype)
        ids = torch.bucketize(values, edges, right=True)
        dtype = torch.int32 if self.output_mode == "int" else self._dtype
        return encode(ids, self.output_mode, len(self.bin_boundaries) + 1, dtype)

    def _call_symbolic_typed(self, inputs: Any, args: tuple, kwargs: dict) -> Any:
        """Symbolic outputs carry the dtype the call returns (int32 ids, or float encodings)."""
        outputs = super()._call_symbolic_typed(inputs, args, kwargs)
        outputs.dtype = "int32" if self.output_mode == "int" else dtype_name(self._dtype)
        return outputs

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        input_shape = tuple(input_shape)
        if self.output_mode == "int":
            return input_shape
        depth = len(self.bin_boundaries) + 1 if self.bin_boundaries is not None else self.num_bins
        if self.output_mode == "one_hot":
            if input_shape and input_shape[-1] == 1 and len(input_shape) > 1:
                return (*input_shape[:-1], depth)
            return (*input_shape, depth)
        if len(input_shape) >= 2:
            return (input_shape[0], *input_shape[2:], depth)
        return (depth,)

    def get_config(self) -> dict[str, Any]:
        return {
            "bin_boundaries": self.bin_boundaries,
            "num_bins": self.num_bins,
            "epsilon": self.epsilon,
            "output_mode": self.output_mode,
            "sparse": self.sparse,
            "name": self.name,
            "dtype": self.dtype_name or dtype_name(self._dtype),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Discretization:
        config = dict(config)
        if config.get("bin_boundaries") is not None and config.get("num_bins") is not None:
            boundaries = config.pop("bin_boundaries")  # adapted: keep them
            layer = cls(**config)
            layer.bin_boundaries = [float(b) for b in boundaries]
            return layer
        return cls(**config)
