"""`ReversibleEmbedding`: an Embedding that also maps vectors back to vocabulary logits.

    emb = ReversibleEmbedding(vocab, 64)
    h = emb(token_ids)                  # (B, T) -> (B, T, 64)
    logits = emb(h, reverse=True)       # (B, T, 64) -> (B, T, vocab): h @ embeddings^T

With `tie_weights=False` the reverse projection has its own (output_dim, input_dim)
weight `reverse_embeddings`. `reverse_dtype` computes the logits in another dtype and
`logit_soft_cap` bounds them: cap * tanh(logits / cap), as Keras does.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import registry
from lamina.layers.dtypes import resolve_dtype
from lamina.layers.embedding import Embedding


@registry.register("layer", "ReversibleEmbedding")
class ReversibleEmbedding(Embedding):
    """Embedding lookup forward, a projection onto the vocabulary with `reverse=True`."""

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        tie_weights: bool = True,
        embeddings_initializer: Any = "uniform",
        embeddings_regularizer: Any = None,
        embeddings_constraint: Any = None,
        mask_zero: bool = False,
        reverse_dtype: Any = None,
        logit_soft_cap: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            input_dim,
            output_dim,
            embeddings_initializer=embeddings_initializer,
            embeddings_regularizer=embeddings_regularizer,
            embeddings_constraint=embeddings_constraint,
            mask_zero=mask_zero,
            **kwargs,
        )
        self.tie_weights = bool(tie_weights)
        self.reverse_dtype = reverse_dtype
        self._reverse_torch_dtype = (
            None if reverse_dtype is None else resolve_dtype(self, reverse_dtype)
        )
        self.logit_soft_cap = logit_soft_cap

    def __call__(self, inputs: Any, *args: Any, reverse: bool = False, **kwargs: Any) -> Any:
        self.__dict__["_reverse_call"] = bool(reverse)
        try:
            if reverse:
                return super().__call__(inputs, *args, reverse=True, **kwargs)
            return super().__call__(inputs, *args, **kwargs)
        finally:
            self.__dict__["_reverse_call"] = False

    def build(self, input_shape: Any = None) -> None:
        super().build(input_shape)
        self.reverse_embeddings = None
        if not self.tie_weights:
            self.reverse_embeddings = self.add_weight(
                "reverse_embeddings",
                (self.output_dim, self.input_dim),
                self.embeddings_initializer,
            )

    def call(self, inputs: torch.Tensor, reverse: bool = False) -> torch.Tensor:
        if not reverse:
            return super().call(inputs)
        kernel = self.embeddings.T if self.tie_weights else self.reverse_embeddings
        if not inputs.is_floating_point():
            inputs = inputs.to(kernel.dtype)
        if self._reverse_torch_dtype is not None:
            inputs = inputs.to(self._reverse_torch_dtype)
            kernel = kernel.to(self._reverse_torch_dtype)
        logits = torch.matmul(inputs, kernel)
        if self.logit_soft_cap is not None:
            logits = torch.tanh(logits / self.logit_soft_cap) * self.logit_soft_cap
        return logits

    def compute_mask(self, inputs: torch.Tensor, mask: Any = None) -> torch.Tensor | None:
        if self.__dict__.get("_reverse_call"):
            return None
        return super().compute_mask(inputs, mask)

    def compute_output_shape(self, input_shape: tuple, reverse: bool | None = None) -> tuple:
        if reverse is None:
            reverse = bool(self.__dict__.get("_reverse_call"))
        if reverse:
            return (*tuple(input_shape)[:-1], self.input_dim)
        return (*tuple(input_shape), self.output_dim)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "tie_weights": self.tie_weights,
            "reverse_dtype": self.reverse_dtype,
            "logit_soft_cap": self.logit_soft_cap,
        }
