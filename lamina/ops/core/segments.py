"""Segment reductions and top-k selection (Keras's `ops.segment_*`, `ops.top_k`, `ops.in_top_k`)."""

from __future__ import annotations

from typing import Any

import torch

from lamina.ops.conversion import convert_to_tensor

__all__ = ["in_top_k", "segment_max", "segment_min", "segment_prod", "segment_sum", "top_k"]


def _fill(dtype: torch.dtype, reduction: str) -> float | int:
    """What an empty segment holds: the reduction's identity in `dtype`."""
    if reduction == "sum":
        return 0
    if reduction == "prod":
        return 1
    if dtype == torch.bool:
        return reduction == "amin"
    if dtype.is_floating_point:
        return float("-inf") if reduction == "amax" else float("inf")
    info = torch.iinfo(dtype)
    return info.min if reduction == "amax" else info.max


def _segment_reduce(data: Any, segment_ids: Any, num_segments: Any, reduction: str) -> torch.Tensor:
    data = convert_to_tensor(data)
    ids = convert_to_tensor(segment_ids).to(torch.int64)
    if ids.dim() != 1:
        raise ValueError(
            f"Expected 1-D segment_ids, received: segment_ids.shape={tuple(ids.shape)}"
        )
    if ids.shape[0] != data.shape[0]:
        raise ValueError(
            "Expected segment_ids as long as data's leading axis, received: "
            f"segment_ids.shape={tuple(ids.shape)}, data.shape={tuple(data.shape)}"
        )
    count = int(num_segments) if num_segments is not None else int(ids.max()) + 1
    # Ids outside [0, count) go to a spare last row, dropped at the end.
    ids = torch.where((ids >= 0) & (ids < count), ids, count)
    out = torch.full(
        (count + 1, *data.shape[1:]),
        _fill(data.dtype, reduction),
        dtype=data.dtype,
        device=data.device,
    )
    if reduction == "sum":
        out = out.index_add(0, ids, data)
    else:
        out = out.index_reduce(0, ids, data, reduction, include_self=True)
    return out[:-1]


def segment_sum(
    data: Any, segment_ids: Any, num_segments: int | None = None, sorted: bool = False
) -> torch.Tensor:
    """Sum of the rows of `data` sharing each id in `segment_ids` (0 for empty segments)."""
    return _segment_reduce(data, segment_ids, num_segments, "sum")


def segment_max(
    data: Any, segment_ids: Any, num_segments: int | None = None, sorted: bool = False
) -> torch.Tensor:
    """Maximum of the rows of `data` sharing each id (the dtype's lowest value for empty segments)."""
    return _segment_reduce(data, segment_ids, num_segments, "amax")


def segment_min(
    data: Any, segment_ids: Any, num_segments: int | None = None, sorted: bool = False
) -> torch.Tensor:
    """Minimum of the rows of `data` sharing each id (the dtype's highest value for empty segments)."""
    return _segment_reduce(data, segment_ids, num_segments, "amin")


def segment_prod(
    data: Any, segment_ids: Any, num_segments: int | None = None, sorted: bool = False
) -> torch.Tensor:
    """Product of the rows of `data` sharing each id (1 for empty segments)."""
    return _segment_reduce(data, segment_ids, num_segments, "prod")


def top_k(x: Any, k: int, sorted: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """The `k` largest values along the last axis and their (int64) indices, as `torch.topk`."""
    return torch.topk(convert_to_tensor(x), k, sorted=sorted)


def in_top_k(targets: Any, predictions: Any, k: int) -> torch.Tensor:
    """Whether each row's target class scores among the row's `k` highest predictions (ties count)."""
    targets = convert_to_tensor(targets).to(torch.int64)[:, None]
    predictions = convert_to_tensor(predictions)
    kth_best = torch.topk(predictions, k).values
    target_scores = torch.take_along_dim(predictions, targets, dim=-1)
    return torch.any(target_scores >= kth_best, dim=-1)
