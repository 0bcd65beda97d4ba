"""Connectionist temporal classification of `keras.ops.nn`: ctc_loss (torch's kernel) and
ctc_decode (greedy and beam search).

Outputs are (batch, time, classes) logits; `mask_index` is the blank class.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina.ops.conversion import convert_to_tensor
from lamina.ops.dtypes import result_type, to_torch_dtype
from lamina.ops.nn.ctc_beam import beam_search_decode

__all__ = ["ctc_decode", "ctc_loss"]


def ctc_loss(
    target: Any, output: Any, target_length: Any, output_length: Any, mask_index: int = 0
) -> torch.Tensor:
    """Per-sample negative log-likelihood of the `target` label sequences under `output`."""
    target = convert_to_tensor(target)
    output = convert_to_tensor(output)
    output = output.to(to_torch_dtype(result_type(output.dtype, "float32")))
    log_probs = F.log_softmax(output.transpose(0, 1), dim=-1)
    return F.ctc_loss(
        log_probs,
        target,
        convert_to_tensor(output_length),
        convert_to_tensor(target_length),
        blank=mask_index,
        reduction="none",
    )


def _greedy(
    inputs: torch.Tensor, lengths: torch.Tensor, merge_repeated: bool, mask_index: int | None
) -> tuple[torch.Tensor, torch.Tensor]:
    batch, steps, classes = inputs.shape
    blank = classes - 1 if mask_index is None else mask_index
    scores, labels = inputs.max(dim=-1)
    labels = labels.to(torch.int32)
    beyond = torch.arange(steps, device=inputs.device)[None, :] >= lengths[:, None]
    labels = torch.where(beyond, blank, labels)
    scores = torch.where(beyond, 0.0, scores)
    if merge_repeated:
        repeated = F.pad(labels[:, 1:] == labels[:, :-1], (1, 0))
        labels = torch.where(repeated, blank, labels)
    dropped = labels == blank
    labels = torch.where(dropped, -1, labels)
    # Stable-move the kept labels to the front, the -1s to the back.
    order = torch.where(dropped, steps, torch.arange(steps, device=inputs.device)[None, :])
    labels = torch.take_along_dim(labels, torch.argsort(order, dim=-1, stable=True), dim=-1)
    return labels.unsqueeze(0), -scores.sum(dim=1, keepdim=True)


def ctc_decode(
    inputs: Any,
    sequence_lengths: Any,
    strategy: str = "greedy",
    beam_width: int = 100,
    top_paths: int = 1,
    merge_repeated: bool = True,
    mask_index: int | None = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode (batch, time, classes) outputs into label paths (-1 padded) and their scores.

    Returns (paths of shape (top_paths, batch, time), scores): for 'greedy' the negated sum
    of the chosen logits; for 'beam_search' the paths' log-probabilities.
    """
    x = convert_to_tensor(inputs)
    x = x.to(to_torch_dtype(result_type(x.dtype, "float32")))
    lengths = convert_to_tensor(sequence_lengths).to(torch.int32)
    if strategy == "greedy":
        return _greedy(x, lengths, merge_repeated, mask_index)
    if strategy == "beam_search":
        return beam_search_decode(x, lengths, beam_width, top_paths, mask_index)
    raise ValueError(
        f"Expected strategy 'greedy' or 'beam_search', received: strategy={strategy!r}"
    )
