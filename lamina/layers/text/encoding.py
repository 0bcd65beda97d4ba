"""Token indices to Keras's dense encodings: 'one_hot', 'multi_hot', 'count', 'tf_idf'.

Indices arrive as one flat int64 tensor with the row (sample) each belongs to; masked
positions are -1 and count nowhere, as Keras's lookups drop the mask token outside 'int'
mode. Counting is one `index_add_` into a flat (rows * depth) buffer, so it also runs
inside a compiled graph (torch.bincount's output size depends on the data).
"""

from __future__ import annotations

import torch

MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


def count_rows(
    index: torch.Tensor,
    rows: torch.Tensor,
    n_rows: int,
    depth: int,
    mode: str,
    idf: torch.Tensor | None,
    dtype: torch.dtype,
) -> torch.Tensor:
    """(n_rows, depth): per-row counts of `index` (multi_hot: 0/1; tf_idf: counts * idf)."""
    keep = index >= 0
    slot = torch.where(
        keep, rows * depth + index.clamp(min=0), torch.full_like(index, n_rows * depth)
    )
    flat = torch.zeros(n_rows * depth + 1, dtype=dtype, device=index.device)
    flat.index_add_(0, slot, torch.ones(slot.shape, dtype=dtype, device=index.device))
    out = flat[:-1].reshape(n_rows, depth)
    if mode == "multi_hot":
        return (out > 0).to(dtype)
    if mode == "tf_idf":
        assert idf is not None
        return out * idf.to(device=out.device, dtype=dtype)
    return out


def encode_dense(
    index: torch.Tensor, mode: str, depth: int, idf: torch.Tensor | None, dtype: torch.dtype
) -> torch.Tensor:
    """Keras's encoding of a dense index tensor: 'one_hot' adds (or replaces a last size-1)
    axis; the others reduce the last axis (a rank-1 input is one sample)."""
    if mode == "one_hot":
        if index.dim() > 1 and index.shape[-1] == 1:
            index = index.squeeze(-1)
        keep = (index >= 0).unsqueeze(-1)
        hot = torch.nn.functional.one_hot(index.clamp(min=0), depth).to(dtype)
        return hot * keep.to(dtype)
    if index.dim() == 0:
        index = index.reshape(1)
    lead = tuple(index.shape[:-1])
    n_rows = 1
    for d in lead:
        n_rows *= int(d)
    width = int(index.shape[-1])
    rows = torch.arange(n_rows, device=index.device).repeat_interleave(width)
    out = count_rows(index.reshape(-1), rows, n_rows, depth, mode, idf, dtype)
    return out.reshape(*lead, depth)
