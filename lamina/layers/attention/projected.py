"""The common ground of MultiHeadAttention and GroupQueryAttention.

Both are called as `layer(query, value, key=None, ...)`: three tensors, so the layer is
built from all their shapes before the first call (the base Layer sees only `query`),
the value's and key's own masks become `value_mask` / `key_mask` as in Keras, and a
symbolic call with `return_attention_scores=True` gets two outputs. `_attend` runs the
4-D case, (batch, steps, heads, dim), through `F.scaled_dot_product_attention`, and
the explicit softmax(QK^T)V only when the scores are asked for.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from lamina.layers.attention import masks
from lamina.layers.base import Layer
from lamina.layers.mask_utils import get_mask
from lamina.layers.symbolic import KerasTensor


def _shape_of(x: Any) -> tuple:
    if isinstance(x, KerasTensor):
        return tuple(x.shape)
    return (None, *tuple(np.shape(x))[1:])


class ProjectedAttention(Layer):
    """A layer of (query, value, key) that projects them with EinsumDense sublayers."""

    supports_masking = True

    def __call__(self, query: Any, value: Any = None, key: Any = None, **kwargs: Any) -> Any:
        if value is None:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) expected a value tensor: "
                "layer(query, value) or layer(query, value, key), received: value=None"
            )
        if not self.built:
            if isinstance(query, torch.Tensor):  # weights (and sublayers') on the input's device
                self._build_device = query.device
            shapes = [_shape_of(query), _shape_of(value)]
            shapes += [] if key is None else [_shape_of(key)]
            with torch.inference_mode(False):
                self.build(shapes[0], shapes[1], shapes[2] if key is not None else None)
            self.built = True
            self.keras_build_shapes = shapes  # Keras's build_config names each (saving)
        self.__dict__["_call_shapes"] = (
            _shape_of(value),
            None if key is None else _shape_of(key),
            bool(kwargs.get("return_attention_scores", False)),
        )
        args = (value,) if key is None else (value, key)
        try:
            return super().__call__(query, *args, **kwargs)
        finally:
            self.__dict__.pop("_call_shapes", None)

    def _sublayer(self, layer: Layer, shape: tuple) -> Layer:
        """Build a projection sublayer for `shape` on this layer's device."""
        layer._build_device = getattr(self, "_build_device", None)
        layer._maybe_build(tuple(shape))
        return layer

    def _source(self, x: Any, like: torch.Tensor) -> torch.Tensor:
        """A value or key as a tensor of the query's dtype (NumPy accepted)."""
        t = torch.as_tensor(x, device=like.device)
        return t.to(like.dtype) if t.dtype != like.dtype else t

    @staticmethod
    def _unmasked(x: torch.Tensor) -> torch.Tensor:
        """`x` without its Keras mask (a view: same storage, same gradient)."""
        return x.view_as(x) if get_mask(x) is not None else x

    def _masks(
        self,
        query: torch.Tensor,
        value: Any,
        key: Any,
        query_mask: Any,
        value_mask: Any,
        key_mask: Any,
        attention_mask: Any,
        use_causal_mask: bool,
        window: int | None,
    ) -> tuple[torch.Tensor | None, bool]:
        """The boolean (B, T, S) mask, or None and True when only causality is asked for
        (then SDPA's own causal kernel runs, as Keras's torch backend does)."""
        query_mask = query_mask if query_mask is not None else get_mask(query)
        value_mask = value_mask if value_mask is not None else get_mask(value)
        key_mask = (
            key_mask
            if key_mask is not None
            else (get_mask(key) if key is not None and key is not value else None)
        )
        causal_only = bool(use_causal_mask) and all(
            m is None for m in (query_mask, value_mask, key_mask, attention_mask, window)
        )
        if causal_only:
            return None, True
        mask = masks.combine(
            query.shape[1],
            np.shape(value)[1],
            query.device,
            query_mask,
            value_mask,
            key_mask,
            attention_mask,
            use_causal_mask,
            window,
        )
        return mask, False

    def _project(
        self,
        query: torch.Tensor,
        value: Any,
        key: Any,
        query_mask: Any,
        value_mask: Any,
        key_mask: Any,
        attention_mask: Any,
        use_causal_mask: bool,
    ) -> tuple[Any, ...]:
        """The attention mask (or causal_only) and the projected q, k, v and gate (or None).

        The masks are read first; the projections then see plain tensors, as in Keras.
        """
        mask, causal_only = self._masks(
            query,
            value,
            key,
            query_mask,
            value_mask,
            key_mask,
            attention_mask,
            use_causal_mask,
            self.sliding_window,
        )
        query = self._unmasked(query)
        value = self._unmasked(self._source(value, query))
        key = value if key is None else self._unmasked(self._source(key, query))
        gate = self.gate_dense(query) if self.use_gate else None
        q, k, v = self.query_dense(query), self.key_dense(key), self.value_dense(value)
        return mask, causal_only, q, k, v, gate

    def _attend(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        mask: torch.Tensor | None,
        causal_only: bool,
        scale: float,
        dropout: float,
        training: bool,
        want_scores: bool,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Attention of (B, T, N, H) projections; the output is (B, T, N, Hv)."""
        if mask is not None:
            while mask.dim() < 4:
                mask = mask.unsqueeze(-3)  # a heads axis before (T, S)
        q, k, v = query.transpose(1, 2), key.transpose(1, 2), value.transpose(1, 2)
        if not (want_scores or (dropout > 0 and mask is not None)):
            # Keras's explicit path zeroes the weights of a fully masked query step,
            # SDPA's path (Keras's too) gives it uniform weights: each path as Keras runs it.
            bias = None if mask is None else masks.additive(mask, q.dtype)
            out = F.scaled_dot_product_attention(
                q,
                k,
                v,
                attn_mask=bias,
                dropout_p=dropout if training else 0.0,
                is_causal=causal_only,
                scale=scale,
            )
            return out.transpose(1, 2), None
        if causal_only:
            mask = masks.causal(q.shape[2], k.shape[2], q.device).unsqueeze(0)
        scores = torch.matmul(q * scale, k.transpose(-1, -2))
        probs = masks.masked_softmax(scores, mask)
        dropped = F.dropout(probs, dropout, training=True) if training and dropout > 0 else probs
        return torch.matmul(dropped, v).transpose(1, 2), probs

    def _scores_shape(self, query_shape: tuple, heads: int) -> tuple:
        value_shape, key_shape, _ = self.__dict__.get("_call_shapes", (query_shape, None, False))
        source = key_shape if key_shape is not None else value_shape
        return (query_shape[0], heads, query_shape[1], source[1])

    def _wants_scores(self) -> bool:
        return bool(self.__dict__.get("_call_shapes", (None, None, False))[2])
