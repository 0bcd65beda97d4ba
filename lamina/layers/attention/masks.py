"""Attention masks as Keras builds them: query/value/key padding, causal, sliding window.

Every mask is boolean, True where a query step may attend to a source step, shaped
(batch or 1, T, S). `additive` turns one into the -1e9 bias Keras's torch backend adds
to the scores, so a query step with no visible source gets uniform weights, not NaNs.
"""

from __future__ import annotations

import torch

LARGE_NEGATIVE = -1e9  # Keras's masked score (float16: -3e4)


def large_negative(dtype: torch.dtype) -> float:
    return -3e4 if dtype == torch.float16 else LARGE_NEGATIVE


def causal(q_len: int, s_len: int, device: torch.device) -> torch.Tensor:
    """(1, T, S): query step i sees source steps 0..i (top-left aligned, as Keras)."""
    return torch.ones(q_len, s_len, dtype=torch.bool, device=device).tril().unsqueeze(0)


def sliding_window(q_len: int, s_len: int, window: int, device: torch.device) -> torch.Tensor:
    """(1, T, S): query step i sees source steps j with |i - j| < window."""
    rows = torch.arange(q_len, device=device).unsqueeze(-1)
    cols = torch.arange(s_len, device=device).unsqueeze(0)
    return ((rows - cols).abs() < window).unsqueeze(0)


def combine(
    q_len: int,
    s_len: int,
    device: torch.device,
    query_mask: torch.Tensor | None = None,
    value_mask: torch.Tensor | None = None,
    key_mask: torch.Tensor | None = None,
    attention_mask: torch.Tensor | None = None,
    use_causal_mask: bool = False,
    window: int | None = None,
) -> torch.Tensor | None:
    """The (B, T, S) boolean mask of Keras's `_compute_attention_mask` (None: attend to all)."""
    auto = None

    def both(a: torch.Tensor | None, b: torch.Tensor) -> torch.Tensor:
        return b if a is None else a & b

    if query_mask is not None:
        auto = query_mask.to(torch.bool).unsqueeze(-1)
    if value_mask is not None:
        auto = both(auto, value_mask.to(torch.bool).unsqueeze(-2))
    if key_mask is not None:
        auto = both(auto, key_mask.to(torch.bool).unsqueeze(-2))
    if use_causal_mask:
        auto = both(auto, causal(q_len, s_len, device))
    if window is not None:
        auto = both(auto, sliding_window(q_len, s_len, window, device))
    if attention_mask is not None:
        attention_mask = torch.as_tensor(attention_mask, device=device)
        if attention_mask.dtype != torch.bool:
            attention_mask = (
                attention_mask > 0.5
                if attention_mask.is_floating_point()
                else (attention_mask != 0)
            )
    if auto is None:
        return attention_mask
    return auto if attention_mask is None else attention_mask & auto


def additive(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """0 where attended, a large negative number where masked (added to the scores)."""
    zero = torch.zeros((), dtype=dtype, device=mask.device)
    return torch.where(
        mask, zero, torch.tensor(large_negative(dtype), dtype=dtype, device=mask.device)
    )


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor | None, dims: int = 1) -> torch.Tensor:
    """Keras's Softmax layer with a mask, over the last `dims` axes: masked scores set to
    -1e9 first and masked weights zeroed after (a query step that sees nothing gets all
    zeros); `mask` broadcasts against `scores`."""
    if mask is not None:
        scores = scores.masked_fill(~mask, large_negative(scores.dtype))
    if dims == 1:
        probs = torch.softmax(scores, dim=-1)
    else:
        flat = scores.reshape(*scores.shape[: scores.dim() - dims], -1)
        probs = torch.softmax(flat, dim=-1).reshape(scores.shape)
    return probs if mask is None else probs.masked_fill(~mask, 0.0)
