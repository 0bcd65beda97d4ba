"""Integer indices to Keras's encodings: 'int', 'one_hot', 'multi_hot', 'count'.

As Keras's `encode_categorical_inputs` on the torch backend: negative indices encode to
zeros; 'one_hot' adds an axis (replacing a last axis of size 1); 'multi_hot' and 'count'
fold axis 1 (the index axis of a (batch, k) input; a rank-1 input is one sample); 'count' may weight each index.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count")


def encode(
    indices: torch.Tensor,
    output_mode: str,
    depth: int,
    dtype: torch.dtype,
    count_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """`indices` (integers) encoded as `output_mode` with `depth` classes, in `dtype`."""
    if output_mode == "int":
        return indices.to(dtype)
    if indices.dim() == 0:
        indices = indices.reshape(1)
    if output_mode == "one_hot" and indices.dim() > 1 and indices.shape[-1] == 1:
        indices = indices.squeeze(-1)
    indices = indices.to(torch.int64)
    if bool((indices >= depth).any()):
        bad = int(indices[indices >= depth].reshape(-1)[0])
        raise ValueError(
            f"Expected indices below the depth {depth} of the encoding, received: index={bad}"
        )
    hot = F.one_hot(indices.clamp(min=0), depth)
    hot = hot * (indices >= 0).unsqueeze(-1)
    if output_mode == "one_hot":
        return hot.to(dtype)
    axis = 1 if indices.dim() > 1 else 0  # Keras folds axis 1 (not the last, for rank 3+)
    if output_mode == "multi_hot":
        return hot.amax(dim=axis).to(dtype)
    if count_weights is not None:
        weighted = hot.to(count_weights.dtype) * count_weights.unsqueeze(-1)
        return weighted.sum(dim=axis)
    return hot.sum(dim=axis).to(dtype)
