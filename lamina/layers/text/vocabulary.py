"""Helpers of `adapt` and configs shared by the text layers: Keras's vocabulary order,
what adapt counts from its data, and JSON-able vocabularies."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch


def most_frequent(counts: Counter, keep: int | None) -> list[Any]:
    """Terms by count, then by the term itself, both descending (Keras's order), the
    first `keep`. Only terms counted at least as often as the keep-th one are sorted:
    the terms once (C comparisons), then a stable sort of their counts."""
    terms = list(counts)
    if keep is not None and keep < len(terms):
        if keep == 0:
            return []
        values = np.fromiter(counts.values(), dtype=np.int64, count=len(terms))
        cut = np.partition(values, len(values) - keep)[len(values) - keep]
        terms = [terms[i] for i in np.flatnonzero(values >= cut).tolist()]
    terms.sort(reverse=True)
    values = np.fromiter(map(counts.__getitem__, terms), dtype=np.int64, count=len(terms))
    order = np.argsort(-values, kind="stable")
    if keep is not None:
        order = order[:keep]
    return [terms[i] for i in order.tolist()]


def encoded(token: Any) -> Any:
    return token.encode("utf-8", "surrogatepass") if isinstance(token, str) else token


def listify(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    return value


def adapt_batches(data: Any, steps: int | None) -> Iterable[Any]:
    """What adapt counts: one whole array, or the x of each batch of an iterable."""
    if isinstance(data, (list, tuple, np.ndarray, torch.Tensor, str, bytes)):
        yield Whole(data)
        return
    if not hasattr(data, "__iter__"):
        raise TypeError(
            "Expected adapt data as an array, a list or an iterable of batches, received: "
            f"{type(data).__name__}"
        )
    for i, batch in enumerate(data):
        if steps is not None and i >= steps:
            break
        if isinstance(batch, tuple) and 1 <= len(batch) <= 3 and not isinstance(batch[0], str):
            batch = batch[0]  # (x, y) batches of a dataset: the inputs
        yield batch


class Whole:
    """Marks the array given to adapt itself (each element a document), not a batch."""

    __slots__ = ("data",)

    def __init__(self, data: Any) -> None:
        self.data = data
