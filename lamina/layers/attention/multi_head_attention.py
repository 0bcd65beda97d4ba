"""`MultiHeadAttention` (Vaswani et al., 2017) with Keras 3's arguments, weights and masks.

    mha = MultiHeadAttention(num_heads=4, key_dim=16)
    out = mha(query, value)                               # (B, T, dim) with (B, S, dim)
    out, scores = mha(query, value, return_attention_scores=True)   # scores (B, 4, T, S)

Query, key and value are projected by EinsumDense sublayers named "query", "key",
"value" (kernels (dim, heads, key_dim), biases (heads, key_dim)) and the result by
"attention_output" (kernel (heads, value_dim, out), bias (out,)), Keras's weights in
Keras's order. Over the default attention axis the attention itself is
`F.scaled_dot_product_attention`; with `return_attention_scores` or other
`attention_axes` it is the explicit softmax(QK^T / sqrt(key_dim)) V over those axes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from lamina import constraints, initializers, registry, regularizers
from lamina.layers.attention import equations, masks
from lamina.layers.attention.projected import ProjectedAttention
from lamina.layers.einsum_dense import EinsumDense


def _positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


@registry.register("layer", "MultiHeadAttention")
class MultiHeadAttention(ProjectedAttention):
    """Multi-head attention of `query` over `value` (and `key`, default `value`)."""

    def __init__(
        self,
        num_heads: int,
        key_dim: int,
        value_dim: int | None = None,
        dropout: float = 0.0,
        use_bias: bool = True,
        output_shape: int | Sequence[int] | None = None,
        attention_axes: int | Sequence[int] | None = None,
        sliding_window: int | None = None,
        flash_attention: bool | None = None,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        use_gate: bool = False,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        for arg, value in (("num_heads", num_heads), ("key_dim", key_dim)):
            if not _positive(value):
                raise self._error(f"a positive integer {arg}", **{arg: value})
        if value_dim is not None and not _positive(value_dim):
            raise self._error("a positive integer value_dim or None", value_dim=value_dim)
        if sliding_window is not None and not _positive(sliding_window):
            raise self._error(
                "a positive integer sliding_window or None", sliding_window=sliding_window
            )
        if flash_attention and dropout > 0:
            raise self._error("dropout=0 with flash_attention", dropout=dropout)
        if isinstance(attention_axes, int):
            attention_axes = (attention_axes,)
        elif attention_axes is not None and not isinstance(attention_axes, (list, tuple)):
            raise self._error(
                "an int, list or tuple of attention_axes", attention_axes=attention_axes
            )
        if isinstance(output_shape, int):
            output_shape = (output_shape,)
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.value_dim = value_dim or key_dim
        self.dropout = float(dropout)
        self.use_bias = bool(use_bias)
        self.partial_output_shape = tuple(output_shape) if output_shape else None
        self.attention_axes = None if attention_axes is None else tuple(attention_axes)
        self.sliding_window = sliding_window
        self.flash_attention = flash_attention
        self.use_gate = bool(use_gate)
        self.seed = seed
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = kernel_constraint
        self.bias_constraint = bias_constraint

    def _error(self, expected: str, **received: Any) -> ValueError:
        got = ", ".join(f"{k}={v!r}" for k, v in received.items())
        return ValueError(
            f"Layer '{self.name}' (MultiHeadAttention) expected {expected}, received: {got}"
        )

    def _dense(
        self,
        equation: str,
        bias: str,
        out_rank: int,
        last: Sequence[int],
        name: str,
        activation: Any = None,
    ) -> EinsumDense:
        return EinsumDense(
            equation,
            output_shape=[None] * (out_rank - 1 - len(last)) + list(last),
            bias_axes=bias if self.use_bias else None,
            activation=activation,
            name=name,
            kernel_initializer=initializers.get(initializers.serialize(self.kernel_initializer)),
            bias_initializer=initializers.get(initializers.serialize(self.bias_initializer)),
            kernel_regularizer=self.kernel_regularizer,
            bias_regularizer=self.bias_regularizer,
            activity_regularizer=self.activity_regularizer,
            kernel_constraint=self.kernel_constraint,
            bias_constraint=self.bias_constraint,
            dtype=self.dtype_name,
        )

    def build(
        self, query_shape: tuple, value_shape: tuple | None = None, key_shape: tuple | None = None
    ) -> None:
        if value_shape is None:
            return  # built by __call__ from all three shapes
        key_shape = value_shape if key_shape is None else key_shape
        if tuple(value_shape[1:-1]) != tuple(key_shape[1:-1]):
            raise self._error(
                "value and key shapes equal but for the last axis",
                value_shape=value_shape,
                key_shape=key_shape,
            )
        heads = [self.num_heads, self.key_dim]
        eq, bias, rank = equations.projection(len(query_shape) - 1, 1, 2)
        self.query_dense = self._dense(eq, bias, rank, heads, "query")
        self._sublayer(self.query_dense, tuple(query_shape))
        eq, bias, rank_k = equations.projection(len(key_shape) - 1, 1, 2)
        self.key_dense = self._dense(eq, bias, rank_k, heads, "key")
        self._sublayer(self.key_dense, tuple(key_shape))
        value_heads = [self.num_heads, self.value_dim]
        if self.use_gate:
            eq, bias, rank_q = equations.projection(len(query_shape) - 1, 1, 2)
            self.gate_dense = self._dense(eq, bias, rank_q, value_heads, "gate", "sigmoid")
            self._sublayer(self.gate_dense, tuple(query_shape))
        eq, bias, rank_v = equations.projection(len(value_shape) - 1, 1, 2)
        self.value_dense = self._dense(eq, bias, rank_v, value_heads, "value")
        self._sublayer(self.value_dense, tuple(value_shape))
        if self.attention_axes is None:
            self._axes = tuple(range(1, rank_v - 2))
        else:
            self._axes = tuple(a if a >= 0 else rank_v - 1 + a for a in self.attention_axes)
        self._scores_eq, self._combine_eq, self._scores_rank = equations.attention(
            rank_v, self._axes
        )
        out_last = self.partial_output_shape or (query_shape[-1],)
        eq, bias, rank_o = equations.projection(len(query_shape) - 1, 2, len(out_last))
        self.output_dense = self._dense(eq, bias, rank_o, out_last, "attention_output")
        projected = list(self.query_dense.compute_output_shape(tuple(query_shape)))
        projected[-1] = self.value_dim
        self._sublayer(self.output_dense, tuple(projected))
        self.built = True

    def call(
        self,
        query: torch.Tensor,
        value: Any,
        key: Any = None,
        query_mask: Any = None,
        value_mask: Any = None,
        key_mask: Any = None,
        attention_mask: Any = None,
        return_attention_scores: bool = False,
        training: bool | None = None,
        use_causal_mask: bool = False,
    ) -> Any:
        mask, causal_only, q, k, v, gate = self._project(
            query, value, key, query_mask, value_mask, key_mask, attention_mask, use_causal_mask
        )
        scale = 1.0 / math.sqrt(float(self.key_dim))
        train = bool(training)
        if q.dim() == 4 and self._axes == (1,):
            out, scores = self._attend(
                q,
                k,
                v,
                mask,
                causal_only,
                scale,
                self.dropout,
                train,
                bool(return_attention_scores),
            )
        else:
            out, scores = self._attend_axes(q, k, v, mask, causal_only, scale, train)
        if gate is not None:
            out = out * gate
        out = self.output_dense(out)
        return (out, scores) if return_attention_scores else out

    def _attend_axes(
        self,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        mask: torch.Tensor | None,
        causal_only: bool,
        scale: float,
        training: bool,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Explicit attention over `attention_axes` (any rank)."""
        if causal_only:
            mask = masks.causal(q.shape[1], v.shape[1], q.device)
        scores = torch.einsum(self._scores_eq, q * scale, k)
        n = len(self._axes)
        if mask is not None:
            while mask.dim() < scores.dim():
                mask = mask.unsqueeze(-2 * n - 1)
        probs = masks.masked_softmax(scores, mask, dims=n)
        dropped = (
            F.dropout(probs, self.dropout, training=True) if training and self.dropout else probs
        )
        return torch.einsum(self._combine_eq, dropped, v), probs

    def compute_output_shape(
        self, query_shape: tuple, value_shape: tuple | None = None, key_shape: tuple | None = None
    ) -> Any:
        query_shape = tuple(query_shape)
        out = query_shape
        if self.partial_output_shape:
            out = query_shape[:-1] + tuple(self.partial_output_shape)
        if value_shape is None and self._wants_scores():
            return out, self._axes_scores_shape(query_shape)
        return out

    def _axes_scores_shape(self, query_shape: tuple) -> tuple:
        """The scores' shape: (<batch axes, heads>, <query steps>, <source steps>) over the
        attention axes (Keras's symbolic shape assumes one axis and a square)."""
        value_shape, key_shape, _ = self.__dict__["_call_shapes"]
        source = key_shape if key_shape is not None else value_shape
        q = (*query_shape[:-1], self.num_heads)
        k = (*source[:-1], self.num_heads)
        batch = [i for i in range(len(q)) if i not in self._axes]
        return (
            *(q[i] for i in batch),
            *(q[i] for i in self._axes),
            *(k[i] for i in self._axes),
        )

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "value_dim": self.value_dim,
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "use_gate": self.use_gate,
            "output_shape": None
            if self.partial_output_shape is None
            else list(self.partial_output_shape),
            "attention_axes": None if self.attention_axes is None else list(self.attention_axes),
            "sliding_window": self.sliding_window,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "seed": self.seed,
        }
