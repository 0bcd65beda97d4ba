"""`keras.ops.nn.dot_product_attention` on torch's scaled_dot_product_attention.

Inputs are (batch, length, heads, head_dim) as in Keras. Grouped-query attention repeats
the key/value heads; a boolean `mask` (True = attend) becomes a large negative bias.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from lamina.ops.conversion import convert_to_tensor
from lamina.ops.dtypes import result_type, to_torch_dtype

__all__ = ["dot_product_attention"]


def _large_negative(dtype: torch.dtype) -> float:
    """A finite stand-in for -inf that survives softmax without NaNs (as Keras picks it)."""
    return -0.7 * (65500.0 if dtype == torch.float16 else 3.38953e38)


def dot_product_attention(
    query: Any,
    key: Any,
    value: Any,
    bias: Any = None,
    mask: Any = None,
    scale: float | None = None,
    is_causal: bool = False,
    flash_attention: bool | None = None,
    attn_logits_soft_cap: float | None = None,
) -> torch.Tensor:
    """softmax(q k^T * scale + bias) v over (batch, length, heads, head_dim) tensors.

    `scale` defaults to 1/sqrt(head_dim); `attn_logits_soft_cap` squashes the logits to
    cap * tanh(logits / cap) before the softmax.
    """
    q, k, v = (convert_to_tensor(t) for t in (query, key, value))
    if q.ndim != 4 or k.ndim != 4 or v.ndim != 4:
        raise ValueError(
            "Expected 4D query, key and value (batch, length, heads, head_dim), received: "
            f"query.shape={tuple(q.shape)}, key.shape={tuple(k.shape)}, value.shape={tuple(v.shape)}"
        )
    if bias is not None and mask is not None:
        raise ValueError(
            "Expected at most one of bias and mask, received: "
            f"bias.shape={getattr(bias, 'shape', None)}, mask.shape={getattr(mask, 'shape', None)}"
        )
    if flash_attention:
        raise ValueError(
            "Expected flash_attention=None or False (no flash kernel on this device), "
            "received: flash_attention=True"
        )
    dtype = to_torch_dtype(result_type(q.dtype, k.dtype, v.dtype))
    q, k, v = (t.to(dtype).transpose(1, 2) for t in (q, k, v))
    if k.shape[1] > 1 and q.shape[1] > k.shape[1]:
        groups = q.shape[1] // k.shape[1]
        k = k.repeat_interleave(groups, dim=1)
        v = v.repeat_interleave(groups, dim=1)
    additive = None
    if mask is not None:
        allowed = convert_to_tensor(mask).to(torch.bool)
        if is_causal:
            causal = torch.ones(q.shape[2], k.shape[2], dtype=torch.bool, device=q.device).tril()
            allowed = allowed & causal
            is_causal = False
        additive = torch.where(allowed, 0.0, _large_negative(dtype)).to(dtype)
    if bias is not None:
        additive = convert_to_tensor(bias).to(dtype)
    if attn_logits_soft_cap is None:
        out = F.scaled_dot_product_attention(
            q.contiguous(),
            k.contiguous(),
            v.contiguous(),
            attn_mask=None if additive is None else additive.contiguous(),
            is_causal=is_causal,
            scale=scale,
        )
        return out.transpose(1, 2)
    factor = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    logits = torch.matmul(q, k.transpose(-1, -2)) * factor
    logits = attn_logits_soft_cap * torch.tanh(logits / attn_logits_soft_cap)
    if additive is not None:
        logits = logits + additive
    if is_causal:
        causal = torch.ones(q.shape[2], k.shape[2], dtype=torch.bool, device=q.device).tril()
        logits = logits.masked_fill(~causal, _large_negative(dtype))
    weights = torch.softmax(logits.float(), dim=-1).to(dtype)
    return torch.matmul(weights, v).transpose(1, 2)
