"""`CategoryEncoding`: integer category ids to one-hot, multi-hot or count vectors.

    CategoryEncoding(num_tokens=4, output_mode="multi_hot")([[0, 1], [0, 0], [1, 2]])
    # [[1, 1, 0, 0], [1, 0, 0, 0], [0, 1, 1, 0]]

Ids must lie in [0, num_tokens) (negative ids encode to zeros). 'count' may weight each
id: layer(ids, count_weights=w). Output in the layer's float dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lamina import registry
from lamina.layers.base import Layer
from lamina.layers.encoding.categorical import encode


@registry.register("layer", "CategoryEncoding")
class CategoryEncoding(Layer):
    """Encodes integer ids (batch, k) as (batch, num_tokens) vectors ('one_hot': per id)."""

    autocast = False  # ids stay integers

    def __init__(
        self,
        num_tokens: int | None = None,
        output_mode: str = "multi_hot",
        sparse: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode not in ("count", "one_hot", "multi_hot"):
            raise self._error(
                "output_mode 'one_hot', 'multi_hot' or 'count'", output_mode=output_mode
            )
        if not isinstance(num_tokens, (int, np.integer)) or num_tokens < 1:
            raise self._error(
                "a positive integer num_tokens (use IntegerLookup for an unknown vocabulary)",
                num_tokens=num_tokens,
            )
        if sparse:
            raise self._error(
                "sparse=False (the torch backend has no sparse output)", sparse=sparse
            )
        self.num_tokens = int(num_tokens)
        self.output_mode = output_mode
        self.sparse = False
        self.built = True

    def _error(self, expected: str, **received: Any) -> ValueError:
        got = ", ".join(f"{k}={v!r}" for k, v in received.items())
        return ValueError(
            f"Layer '{self.name}' (CategoryEncoding) expected {expected}, received: {got}"
        )

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(inputs, (list, tuple, int, np.integer)):
            inputs = torch.as_tensor(np.asarray(inputs))
        return super().__call__(inputs, *args, **kwargs)

    def call(self, inputs: torch.Tensor, count_weights: Any = None) -> torch.Tensor:
        if count_weights is not None:
            if self.output_mode != "count":
                raise self._error(
                    "count_weights only with output_mode='count'", output_mode=self.output_mode
                )
            count_weights = torch.as_tensor(count_weights, device=inputs.device).to(self._dtype)
        if inputs.is_floating_point():
            inputs = inputs.to(torch.int64)
        try:
            return encode(inputs, self.output_mode, self.num_tokens, self._dtype, count_weights)
        except ValueError as err:
            raise ValueError(f"Layer '{self.name}' (CategoryEncoding): {err}") from None

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        input_shape = tuple(input_shape)
        if not input_shape:
            return (self.num_tokens,)
        if self.output_mode == "one_hot" and (input_shape[-1] != 1 or len(input_shape) == 1):
            return (*input_shape, self.num_tokens)
        if self.output_mode == "one_hot" or len(input_shape) < 3:
            return (*input_shape[:-1], self.num_tokens)
        # Keras's encoding folds axis 1 (its compute_output_shape says the last axis)
        return (input_shape[0], *input_shape[2:], self.num_tokens)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "num_tokens": self.num_tokens,
            "output_mode": self.output_mode,
        }  # Keras writes no "sparse" (always False here)
