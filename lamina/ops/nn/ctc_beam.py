"""CTC beam search decoding, as Keras 3 defines it (its JAX reference algorithm).

Each beam is a label path plus two log-scores: ending in an emitted label, or in a blank.
Every step extends each beam by every class (a blank or a repeat of the last label adds
nothing to the path), merges identical paths by log-sum-exp and keeps the `beam_width`
best. Finally both tracks merge and the `top_paths` best paths are returned.
"""

from __future__ import annotations

import torch

_PAD = -1


def _unique_rows(paths: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Distinct rows padded with all-`_PAD` rows to `size`, and each row's index among them."""
    unique, inverse = torch.unique(paths, dim=0, return_inverse=True)
    if unique.shape[0] < size:
        filler = torch.full(
            (size - unique.shape[0], paths.shape[1]), _PAD, dtype=paths.dtype, device=paths.device
        )
        unique = torch.cat([unique, filler])
    return unique, inverse


def _merge(inverse: torch.Tensor, scores: torch.Tensor, buckets: int) -> torch.Tensor:
    """log(sum(exp(scores))) within each bucket of `inverse`."""
    top = scores.max()
    sums = torch.zeros(buckets, dtype=scores.dtype, device=scores.device)
    sums.scatter_add_(0, inverse, torch.exp(scores - top))
    return torch.log(sums) + top


def _extend(
    paths: torch.Tensor,
    scores: torch.Tensor,
    blank_ended: torch.Tensor,
    step_scores: torch.Tensor,
    blank: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    classes = step_scores.shape[0]
    paths = paths.repeat_interleave(classes, dim=0)
    scores = scores.repeat_interleave(classes) + step_scores.repeat(paths.shape[0] // classes)
    was_blank = blank_ended.repeat_interleave(classes)
    rows = torch.arange(paths.shape[0], device=paths.device)
    end = (paths == _PAD).to(torch.int32).argmax(dim=1)
    last = torch.where(end == 0, _PAD, paths[rows, end - 1])
    labels = torch.arange(classes, dtype=paths.dtype, device=paths.device)
    labels[blank] = _PAD
    labels = labels.repeat(paths.shape[0] // classes)
    blank_ended = labels == _PAD
    labels = torch.where(~was_blank & (last == labels), _PAD, labels)
    paths = paths.clone()
    paths[rows, end] = labels
    return paths, scores, blank_ended


def _prune(
    paths: torch.Tensor, scores: torch.Tensor, blank_ended: torch.Tensor, width: int, size: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    unique, inverse = _unique_rows(paths, size)
    minus_inf = torch.tensor(float("-inf"), dtype=scores.dtype, device=scores.device)
    emit = _merge(inverse, torch.where(blank_ended, minus_inf, scores), unique.shape[0])
    blank = _merge(inverse, torch.where(blank_ended, scores, minus_inf), unique.shape[0])
    best = torch.argsort(torch.logaddexp(emit, blank), stable=True)[-width:]
    flags = torch.zeros(2 * width, dtype=torch.bool, device=paths.device)
    flags[width:] = True
    return unique[best].repeat(2, 1), torch.cat([emit[best], blank[best]]), flags


def beam_search_decode(
    inputs: torch.Tensor,
    lengths: torch.Tensor,
    beam_width: int,
    top_paths: int,
    mask_index: int | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(paths (top_paths, batch, time) padded with -1, log-probabilities (batch, top_paths))."""
    batch, steps, classes = inputs.shape
    blank = classes - 1 if mask_index is None else mask_index
    log_probs = torch.log_softmax(inputs, dim=-1)
    size = 2 * classes * beam_width
    first_count = min(classes, beam_width)
    all_paths, all_scores = [], []
    for b in range(batch):
        x = log_probs[b]
        paths = torch.full((2 * beam_width, steps), _PAD, dtype=torch.int32, device=x.device)
        firsts = torch.argsort(x[0], stable=True)[-first_count:]
        paths[:first_count, 0] = torch.where(firsts == blank, _PAD, firsts.to(torch.int32))
        scores = torch.full((2 * beam_width,), float("-inf"), dtype=x.dtype, device=x.device)
        scores[:first_count] = x[0, firsts]
        blank_ended = paths[:, 0] == _PAD
        for t in range(1, int(lengths[b])):
            paths, scores, blank_ended = _extend(paths, scores, blank_ended, x[t], blank)
            paths, scores, blank_ended = _prune(paths, scores, blank_ended, beam_width, size)
        unique, inverse = _unique_rows(paths, size)
        merged = _merge(inverse, scores, unique.shape[0])
        best = torch.argsort(merged, stable=True)[-top_paths:].flip(0)
        all_paths.append(unique[best])
        all_scores.append(merged[best])
    return torch.stack(all_paths).permute(1, 0, 2), torch.stack(all_scores)
