"""`Embedding`: integer token ids -> dense vectors, a row lookup in a trainable table.

    Embedding(input_dim=10_000, output_dim=64, mask_zero=True)   # ids (batch, time)
    # -> (batch, time, 64); with mask_zero, id 0 is padding and the output carries a mask

The table is Keras's `embeddings` weight, (input_dim, output_dim), which is also
PyTorch's layout, so `F.embedding` reads it directly and weights move to and from Keras
unchanged. tf.keras 2's `input_length=` is taken as the input shape, so a Sequential that
starts with the layer is built at once (Keras 3 ignores it).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from lamina import constraints, initializers, registry, regularizers
from lamina.layers.base import Layer

# Keras 3's short initializer names (keras.initializers.get("uniform") is RandomUniform).
_KERAS_ALIASES = {"uniform": "random_uniform", "normal": "random_normal"}


def _positive_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0


@registry.register("layer", "Embedding")
class Embedding(Layer):
    """Looks each integer id up in an (input_dim, output_dim) table of trainable vectors.

    Ids must lie in [0, input_dim); with `mask_zero=True`, 0 means padding (the output's
    mask is `ids != 0`), so the vocabulary takes ids 1..input_dim-1.
    """

    autocast = False  # ids stay integers

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        embeddings_initializer: Any = "uniform",
        embeddings_regularizer: Any = None,
        activity_regularizer: Any = None,
        embeddings_constraint: Any = None,
        mask_zero: bool = False,
        weights: Any = None,
        input_length: int | None = None,
        sparse: bool = False,
        **kwargs: Any,
    ) -> None:
        if input_length is not None and "input_shape" not in kwargs:
            kwargs["input_shape"] = (input_length,)
        super().__init__(**kwargs)
        if not _positive_int(input_dim):
            raise self._error(
                "a positive integer input_dim (the vocabulary size)", input_dim=input_dim
            )
        if not _positive_int(output_dim):
            raise self._error("a positive integer output_dim", output_dim=output_dim)
        if sparse:
            raise ValueError(
                f"Layer '{self.name}' (Embedding) expected sparse=False (Lamina's optimizers "
                "update the table with dense gradients), received: sparse=True"
            )
        if input_length is not None and not _positive_int(input_length):
            raise self._error(
                "a positive integer input_length (or None)", input_length=input_length
            )
        self.input_dim = int(input_dim)
        self.output_dim = int(output_dim)
        if isinstance(embeddings_initializer, str):
            embeddings_initializer = _KERAS_ALIASES.get(
                embeddings_initializer, embeddings_initializer
            )
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.embeddings_constraint = embeddings_constraint
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        self._creates_mask = self.mask_zero
        if weights is not None:
            self._maybe_build((None,))
            self.set_weights(weights if isinstance(weights, (list, tuple)) else [weights])

    def _error(self, expected: str, **received: Any) -> ValueError:
        got = ", ".join(f"{k}={v!r}" for k, v in received.items())
        return ValueError(f"Layer '{self.name}' (Embedding) expected {expected}, received: {got}")

    def build(self, input_shape: Any = None) -> None:
        self.embeddings = self.add_weight(
            "embeddings",
            (self.input_dim, self.output_dim),
            self.embeddings_initializer,
            self.embeddings_regularizer,
            self.embeddings_constraint,
        )

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        ids = inputs
        if ids.dtype not in (torch.int32, torch.int64):
            ids = ids.to(torch.int64)  # floats and narrower ints, truncated as Keras casts
        if ids.device.type != "cpu" and not torch.compiler.is_compiling():
            self._check_ids(ids)  # a device-side assert would end the process's CUDA context
        try:
            out = F.embedding(ids, self.embeddings)
        except IndexError:
            self._check_ids(ids)
            raise
        if self.activity_regularizer is not None:
            self.add_loss(self.activity_regularizer(out) / out.shape[0])
        return out

    def _check_ids(self, ids: torch.Tensor) -> None:
        """Raise naming the layer, the first id out of [0, input_dim) and the range."""
        bad = (ids < 0) | (ids >= self.input_dim)
        if bool(bad.any()):
            value = int(ids[bad].reshape(-1)[0])
            hint = " (is input_dim the vocabulary size + 1?)" if value == self.input_dim else ""
            raise IndexError(
                f"Layer '{self.name}' (Embedding) expected token ids in [0, {self.input_dim}) "
                f"(input_dim={self.input_dim}){hint}, received: id={value}"
            )

    def compute_mask(self, inputs: torch.Tensor, mask: Any = None) -> torch.Tensor | None:
        if not self.mask_zero:
            return None
        return inputs != 0

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (*tuple(input_shape), self.output_dim)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
        }
