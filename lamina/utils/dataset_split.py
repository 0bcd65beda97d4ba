"""`split_dataset`: a train/test split of arrays or a torch Dataset, as `keras.utils`.

Arrays (one, or a list/tuple of equal length) become a `TensorDataset` whose items
are tuples of tensors, as on Keras's torch backend; a torch `Dataset` is split into two
`Subset`s. Both halves are `torch.utils.data.Dataset`s that `fit` takes directly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Subset, TensorDataset


def _as_dataset(dataset: Any) -> Dataset:
    if isinstance(dataset, Dataset):
        return dataset
    if isinstance(dataset, (np.ndarray, torch.Tensor)):
        return TensorDataset(torch.as_tensor(dataset))
    if isinstance(dataset, (list, tuple)) and dataset:
        tensors = [torch.as_tensor(np.asarray(x)) for x in dataset]
        if len({len(t) for t in tensors}) != 1:
            raise ValueError(
                f"Expected arrays of one length, received: lengths={[len(t) for t in tensors]}"
            )
        return TensorDataset(*tensors)
    raise TypeError(
        "Expected a torch Dataset, an array or a list/tuple of arrays, received: "
        f"dataset of type {type(dataset).__name__}"
    )


def _size(value: Any, name: str, total: int) -> float | None:
    """A split size as a count (float, to be rounded later) or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"Expected {name} as an int, a float or None, received: {name}={value!r}")
    if isinstance(value, int) and not 0 < value < total:
        raise ValueError(
            f"Expected {name} as a positive int below {total} or a float in (0, 1), "
            f"received: {name}={value}"
        )
    if isinstance(value, float) and not 0 < value < 1:
        raise ValueError(
            f"Expected {name} as a positive int below {total} or a float in (0, 1), "
            f"received: {name}={value}"
        )
    return float(round(value * total)) if isinstance(value, float) else float(value)


def split_sizes(left_size: Any, right_size: Any, total: int) -> tuple[int, int]:
    """Keras's rule: floats are fractions (rounded), ints counts, None the complement."""
    if left_size is None and right_size is None:
        raise ValueError(
            "Expected left_size or right_size, received: left_size=None and right_size=None"
        )
    if (
        isinstance(left_size, float)
        and isinstance(right_size, float)
        and left_size + right_size > 1
    ):
        raise ValueError(
            "Expected left_size + right_size <= 1, received: "
            f"left_size={left_size}, right_size={right_size}"
        )
    left, right = _size(left_size, "left_size", total), _size(right_size, "right_size", total)
    if left is None:
        left = total - right
    elif right is None:
        right = total - left
    if left + right > total:
        raise ValueError(
            f"Expected left_size + right_size <= {total} samples, received: "
            f"left_size={int(left)}, right_size={int(right)}"
        )
    for size, side in ((left, "left"), (right, "right")):
        if size == 0:
            raise ValueError(
                f"Expected a non-empty {side} split of {total} samples, received: "
                f"left_size={left_size}, right_size={right_size}"
            )
    return int(left), int(right)


def split_dataset(
    dataset: Any,
    left_size: int | float | None = None,
    right_size: int | float | None = None,
    shuffle: bool = False,
    seed: int | None = None,
    preferred_backend: str | None = None,
) -> tuple[Dataset, Dataset]:
    """Split `dataset` into (left, right) torch Datasets of `left_size` and `right_size`
    samples (fractions or counts); `shuffle` permutes first (`seed` makes it repeatable).
    `preferred_backend` is accepted for Keras's signature: the result is always torch's."""
    if preferred_backend not in (None, "torch"):
        raise ValueError(
            f"Expected preferred_backend None or 'torch', received: {preferred_backend!r}"
        )
    data = _as_dataset(dataset)
    total = len(data)
    left, right = split_sizes(left_size, right_size, total)
    if shuffle:
        generator = torch.Generator()
        if seed is not None:
            generator.manual_seed(int(seed))
        else:
            generator.seed()
        order = torch.randperm(total, generator=generator).tolist()
    else:
        order = list(range(total))
    return Subset(data, order[:left]), Subset(data, order[left : left + right])
