"""`GroupQueryAttention` (Ainslie et al., 2023): query heads share fewer key/value heads.

    gqa = GroupQueryAttention(head_dim=16, num_query_heads=8, num_key_value_heads=2)
    out = gqa(query, value)                       # (B, T, dim), same dim as the query

Sublayers "query" (kernel (dim, query_heads, head_dim)), "key" and "value" (kernels
(dim, kv_heads, head_dim)), optionally "gate", and "attention_output" (kernel
(query_heads, head_dim, dim)), as Keras builds them. Each key/value head serves
num_query_heads // num_key_value_heads consecutive query heads.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from lamina import constraints, initializers, registry, regularizers
from lamina.layers.attention.projected import ProjectedAttention
from lamina.layers.einsum_dense import EinsumDense
from lamina.naming import unique_name


def _positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


@registry.register("layer", "GroupQueryAttention", "GroupedQueryAttention")
class GroupQueryAttention(ProjectedAttention):
    """Grouped-query attention of `query` over `value` (and `key`, default `value`)."""

    def __init__(
        self,
        head_dim: int,
        num_query_heads: int,
        num_key_value_heads: int,
        dropout: float = 0.0,
        use_bias: bool = True,
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
        if kwargs.get("name") is None:  # Keras's class is GroupedQueryAttention: its names
            kwargs["name"] = unique_name("grouped_query_attention")
        super().__init__(**kwargs)
        for arg, value in (
            ("head_dim", head_dim),
            ("num_query_heads", num_query_heads),
            ("num_key_value_heads", num_key_value_heads),
        ):
            if not _positive(value):
                raise self._error(f"a positive integer {arg}", **{arg: value})
        if num_query_heads % num_key_value_heads:
            raise self._error(
                "num_query_heads divisible by num_key_value_heads",
                num_query_heads=num_query_heads,
                num_key_value_heads=num_key_value_heads,
            )
        if sliding_window is not None and not _positive(sliding_window):
            raise self._error(
                "a positive integer sliding_window or None", sliding_window=sliding_window
            )
        if flash_attention and dropout > 0:
            raise self._error("dropout=0 with flash_attention", dropout=dropout)
        self.head_dim = head_dim
        self.num_query_heads = num_query_heads
        self.num_key_value_heads = num_key_value_heads
        self.num_repeats = num_query_heads // num_key_value_heads
        self.dropout = float(dropout)
        self.use_bias = bool(use_bias)
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
            f"Layer '{self.name}' (GroupQueryAttention) expected {expected}, received: {got}"
        )

    def _dense(
        self, equation: str, out: tuple, bias: str, name: str, activation: Any = None
    ) -> EinsumDense:
        return EinsumDense(
            equation,
            output_shape=out,
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
        self.compute_output_shape(query_shape, value_shape, key_shape)
        dim = query_shape[-1]
        q_heads = (None, self.num_query_heads, self.head_dim)
        kv_heads = (None, self.num_key_value_heads, self.head_dim)
        self.query_dense = self._dense("bqm,muh->bquh", q_heads, "uh", "query")
        self._sublayer(self.query_dense, tuple(query_shape))
        self.key_dense = self._dense("bkm,mvh->bkvh", kv_heads, "vh", "key")
        self._sublayer(self.key_dense, tuple(key_shape))
        if self.use_gate:
            self.gate_dense = self._dense("bqm,muh->bquh", q_heads, "uh", "gate", "sigmoid")
            self._sublayer(self.gate_dense, tuple(query_shape))
        self.value_dense = self._dense("bkm,mvh->bkvh", kv_heads, "vh", "value")
        self._sublayer(self.value_dense, tuple(value_shape))
        self.output_dense = self._dense("bquh,uhm->bqm", (None, dim), "m", "attention_output")
        self._sublayer(self.output_dense, (None, None, self.num_query_heads, self.head_dim))
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
        k = k.repeat_interleave(self.num_repeats, dim=2)
        v = v.repeat_interleave(self.num_repeats, dim=2)
        out, scores = self._attend(
            q,
            k,
            v,
            mask,
            causal_only,
            1.0 / math.sqrt(float(self.head_dim)),
            self.dropout,
            bool(training),
            bool(return_attention_scores),
        )
        if gate is not None:
            out = out * gate
        out = self.output_dense(out)
        return (out, scores) if return_attention_scores else out

    def compute_output_shape(
        self, query_shape: tuple, value_shape: tuple | None = None, key_shape: tuple | None = None
    ) -> Any:
        query_shape = tuple(query_shape)
        if value_shape is not None:
            key_shape = value_shape if key_shape is None else key_shape
            if query_shape[-1] != value_shape[-1]:
                raise self._error(
                    "query and value with the same last axis",
                    query_shape=query_shape,
                    value_shape=tuple(value_shape),
                )
            if tuple(value_shape[1:-1]) != tuple(key_shape[1:-1]):
                raise self._error(
                    "value and key shapes equal but for the last axis",
                    value_shape=tuple(value_shape),
                    key_shape=tuple(key_shape),
                )
        elif self._wants_scores():
            return query_shape, self._scores_shape(query_shape, self.num_query_heads)
        return query_shape

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "head_dim": self.head_dim,
            "num_query_heads": self.num_query_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "use_bias": self.use_bias,
            "use_gate": self.use_gate,
            "sliding_window": self.sliding_window,
            "dropout": self.dropout,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "seed": self.seed,
        }
