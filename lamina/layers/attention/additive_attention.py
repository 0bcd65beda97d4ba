"""`AdditiveAttention`: Bahdanau-style attention, scores sum(scale * tanh(q + k)).

    out = AdditiveAttention()([query, value])     # scale: a trainable (dim,) vector

Masks, causality, dropout and the returned scores behave as in `Attention`.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import registry
from lamina.layers.attention.attention import Attention


@registry.register("layer", "AdditiveAttention")
class AdditiveAttention(Attention):
    """Additive attention with a per-feature `scale` (glorot_uniform) when use_scale."""

    def __init__(self, use_scale: bool = True, dropout: float = 0.0, **kwargs: Any) -> None:
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)
        self.score_mode = "concat"  # the scores below; no concat_score_weight

    def build(self, input_shape: Any) -> None:
        self._check(input_shape)
        self.scale = None
        self.concat_score_weight = None
        if self.use_scale:
            self.scale = self.add_weight("scale", (input_shape[0][-1],), "glorot_uniform")

    def _scores(self, query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
        summed = torch.tanh(query.unsqueeze(-2) + key.unsqueeze(-3))
        if self.scale is not None:
            summed = self.scale * summed
        return summed.sum(-1)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["score_mode"]
        return config
