"""`Attention`: Luong-style dot-product attention of a query over a value (Keras's layer).

    out = Attention()([query, value])             # (B, T, dim) over (B, S, dim)
    out = Attention()([query, value, key], mask=[query_mask, value_mask])

score_mode "dot" scores q . k (times a trainable scalar `scale` when use_scale), and
runs as `F.scaled_dot_product_attention`; "concat" scores
concat_score_weight * sum(tanh(scale * (q + k))) (Bahdanau-style). Masked value steps get
score - 1e9, query steps masked out give zeros, as in Keras.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina import registry
from lamina.layers.attention import masks
from lamina.layers.base import Layer


@registry.register("layer", "Attention")
class Attention(Layer):
    """Dot-product ('dot') or additive-tanh ('concat') attention over [query, value, key]."""

    supports_masking = True

    def __init__(
        self,
        use_scale: bool = False,
        score_mode: str = "dot",
        dropout: float = 0.0,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise self._error("score_mode 'dot' or 'concat'", score_mode=score_mode)
        self.use_scale = bool(use_scale)
        self.score_mode = score_mode
        self.dropout = float(dropout)
        self.seed = seed

    def _error(self, expected: str, **received: Any) -> ValueError:
        got = ", ".join(f"{k}={v!r}" for k, v in received.items())
        return ValueError(
            f"Layer '{self.name}' ({type(self).__name__}) expected {expected}, received: {got}"
        )

    def _check(self, inputs: Any, mask: Any = None) -> None:
        if not isinstance(inputs, (list, tuple)) or isinstance(inputs, torch.Size):
            raise self._error(
                "a list [query, value] or [query, value, key]", inputs=type(inputs).__name__
            )
        if not 2 <= len(inputs) <= 3:
            raise self._error("2 or 3 inputs [query, value, (key)]", num_inputs=len(inputs))
        if mask is not None and (not isinstance(mask, (list, tuple)) or not 2 <= len(mask) <= 3):
            raise self._error("a list of masks [query_mask, value_mask]", mask=mask)

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        self.__dict__["_scores_wanted"] = bool(kwargs.get("return_attention_scores", False))
        try:
            return super().__call__(inputs, *args, **kwargs)
        finally:
            self.__dict__["_scores_wanted"] = False

    def build(self, input_shape: Any) -> None:
        self._check(input_shape)
        self.scale = None
        self.concat_score_weight = None
        if self.use_scale:
            self.scale = self.add_weight("scale", (), "ones")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight("concat_score_weight", (), "ones")

    def _scores(self, query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
        if self.score_mode == "dot":
            scores = torch.matmul(query, key.transpose(-1, -2))
            return scores * self.scale if self.scale is not None else scores
        summed = query.unsqueeze(-2) + key.unsqueeze(-3)
        if self.scale is not None:
            summed = self.scale * summed
        return self.concat_score_weight * torch.tanh(summed).sum(-1)

    def call(
        self,
        inputs: Any,
        mask: Any = None,
        training: bool | None = None,
        return_attention_scores: bool = False,
        use_causal_mask: bool = False,
    ) -> Any:
        self._check(inputs, mask)
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        q_mask = mask[0] if mask else None
        v_mask = mask[1] if mask else None
        keep = None
        if v_mask is not None:
            keep = v_mask.to(torch.bool).unsqueeze(-2)  # (B, 1, S)
        if use_causal_mask:
            causal = masks.causal(query.shape[-2], key.shape[-2], query.device)
            keep = causal if keep is None else keep & causal
        dropout = self.dropout if training and self.dropout > 0 else 0.0
        if self.score_mode == "dot" and not return_attention_scores:
            q = query * self.scale if self.scale is not None else query
            bias = None if keep is None else masks.additive(keep, q.dtype)
            out = F.scaled_dot_product_attention(
                q, key, value, attn_mask=bias, dropout_p=dropout, scale=1.0
            )
            weights = None
        else:
            scores = self._scores(query, key)
            if keep is not None:
                scores = scores + masks.additive(keep, scores.dtype)
            weights = torch.softmax(scores, dim=-1)
            dropped = F.dropout(weights, dropout, training=True) if dropout else weights
            out = torch.matmul(dropped, value)
        if q_mask is not None:
            out = torch.where(q_mask.to(torch.bool).unsqueeze(-1), out, torch.zeros_like(out))
        return (out, weights) if return_attention_scores else out

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if mask is None or mask[0] is None:
            return None
        return mask[0]

    def compute_output_shape(self, input_shape: Any) -> Any:
        self._check(input_shape)
        query, value = tuple(input_shape[0]), tuple(input_shape[1])
        key = tuple(input_shape[2]) if len(input_shape) > 2 else value
        out = (*query[:-1], value[-1])
        if self.__dict__.get("_scores_wanted"):
            return out, (*query[:-1], key[-2])
        return out

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "use_scale": self.use_scale,
            "score_mode": self.score_mode,
            "dropout": self.dropout,
            "seed": self.seed,
        }
