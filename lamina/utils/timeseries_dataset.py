"""`timeseries_dataset_from_array`, as `keras.utils.timeseries_dataset_from_array`.

    train = timeseries_dataset_from_array(series[:-10], series[10:], sequence_length=10,
                                          batch_size=32, shuffle=True, seed=0)
    model.fit(train, epochs=5)

Window i starts at `start_index + i * sequence_stride` and takes `sequence_length` steps
`sampling_rate` apart; its target is `targets[start_index + i * sequence_stride]` (the
target of the window that *starts* there: pass `targets = series[n:]` to predict the step
after an n-step window). Without shuffling the windows and batches are Keras's exactly.
With `shuffle=True` every pass draws a fresh permutation of all windows from a generator
seeded by `seed` (the same seed gives the same sequence of epochs); Keras also permutes
the windows, then mixes them through an 8-batch shuffle buffer, so the orders differ.

The result is an iterable with `len()` (batches per pass) that `fit`, `evaluate` and
`predict` take as they take any batch iterable; each pass yields `(windows, targets)`
torch batches, or windows alone when `targets` is None. The series is held once as a
tensor and each batch is one gather, so no window is copied ahead of time.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

_UNBATCHED_CHUNK = 1024  # windows gathered at once when yielding them one by one


def _as_tensor(array: Any, name: str) -> torch.Tensor:
    """A numeric array (NumPy, torch, list) as a CPU tensor, its dtype kept (as Keras)."""
    if isinstance(array, torch.Tensor):
        return array.detach().cpu()
    arr = np.asarray(array)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"Expected a numeric array for {name}, received: {name}.dtype={arr.dtype}")
    if arr.ndim == 0:
        raise ValueError(
            f"Expected {name} with a time axis (axis 0), received: a scalar {name}={arr!r}"
        )
    return torch.from_numpy(np.ascontiguousarray(arr))


def _check_int(value: Any, name: str, minimum: int, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        expected = f"an integer >= {minimum}" + (" or None" if allow_none else "")
        raise ValueError(f"Expected {name} to be {expected}, received: {name}={value!r}")


class TimeseriesDataset:
    """Batches of sliding windows over a series: `for windows, targets in dataset: ...`."""

    def __init__(
        self,
        data: torch.Tensor,
        targets: torch.Tensor | None,
        start_positions: np.ndarray,
        sequence_length: int,
        sampling_rate: int,
        batch_size: int | None,
        shuffle: bool,
        seed: int | None,
    ) -> None:
        self.data = data  # already cut to [start_index, end_index)
        self.targets = targets  # already cut to start from start_index
        self.start_positions = start_positions  # window starts, in chronological order
        self.sequence_length = sequence_length
        self.sampling_rate = sampling_rate
        self.batch_size = batch_size
        self.shuffle = shuffle
        self._rng = np.random.default_rng(seed)
        self._offsets = torch.arange(sequence_length) * sampling_rate

    @property
    def num_windows(self) -> int:
        """Windows per pass (the samples)."""
        return len(self.start_positions)

    def __len__(self) -> int:
        """Batches per pass (windows, when batch_size is None)."""
        return math.ceil(self.num_windows / (self.batch_size or 1))

    def _batch(self, starts: torch.Tensor) -> Any:
        windows = self.data[starts[:, None] + self._offsets]  # (batch, steps, *features)
        if self.targets is None:
            return windows
        return windows, self.targets[starts]

    def __iter__(self) -> Iterator[Any]:
        order = self.start_positions
        if self.shuffle:
            order = order[self._rng.permutation(len(order))]
        starts = torch.from_numpy(order)
        step = self.batch_size or _UNBATCHED_CHUNK
        for first in range(0, len(starts), step):
            batch = self._batch(starts[first : first + step])
            if self.batch_size is not None:
                yield batch
            elif self.targets is None:  # unbatched: one window at a time
                yield from batch
            else:
                yield from zip(*batch)

    def __repr__(self) -> str:
        return (
            f"TimeseriesDataset(windows={self.num_windows}, sequence_length="
            f"{self.sequence_length}, batch_size={self.batch_size}, shuffle={self.shuffle})"
        )


def timeseries_dataset_from_array(
    data: Any,
    targets: Any,
    sequence_length: int,
    sequence_stride: int = 1,
    sampling_rate: int = 1,
    batch_size: int | None = 128,
    shuffle: bool = False,
    seed: int | None = None,
    start_index: int | None = None,
    end_index: int | None = None,
    format: str = "tf",
) -> TimeseriesDataset:
    """Sliding windows over `data` (time on axis 0), batched, as Keras.

    Windows use only `data[start_index:end_index]` (`end_index` exclusive, both optional);
    there are `(n - (sequence_length - 1) * sampling_rate)` possible starts in that range,
    fewer when `targets` is shorter, taken every `sequence_stride` steps. `batch_size=None`
    yields single windows. See the module docstring for the targets and the shuffle.
    """
    data_t = _as_tensor(data, "data")
    n = len(data_t)
    _check_int(sequence_length, "sequence_length", 1)
    _check_int(sequence_stride, "sequence_stride", 1)
    _check_int(sampling_rate, "sampling_rate", 1)
    _check_int(batch_size, "batch_size", 1, allow_none=True)
    _check_int(start_index, "start_index", 0, allow_none=True)
    _check_int(end_index, "end_index", 1, allow_none=True)
    if format not in ("tf", "grain"):  # Keras's choice of pipeline; Lamina has one
        raise ValueError(f"Expected format 'tf' or 'grain', received: format={format!r}")
    for name, value in (("sampling_rate", sampling_rate), ("sequence_stride", sequence_stride)):
        if value >= n:
            raise ValueError(
                f"Expected {name} lower than the length of the data ({n}), received: {name}={value}"
            )
    start = start_index or 0
    if start >= n:
        raise ValueError(
            f"Expected start_index lower than the length of the data ({n}), "
            f"received: start_index={start_index}"
        )
    end = n if end_index is None else end_index
    if end_index is not None and end_index >= n:  # Keras's rule: strictly inside the data
        raise ValueError(
            f"Expected end_index lower than the length of the data ({n}), "
            f"received: end_index={end_index}"
        )
    if end <= start:
        raise ValueError(
            f"Expected end_index higher than start_index, received: start_index={start_index}, "
            f"end_index={end_index}"
        )

    num_starts = end - start - (sequence_length - 1) * sampling_rate
    targets_t = None
    if targets is not None:
        targets_t = _as_tensor(targets, "targets")
        num_starts = min(num_starts, len(targets_t))
    if num_starts <= 0:
        raise ValueError(
            f"Expected data[{start}:{end}] ({end - start} steps) to hold at least one window of "
            f"sequence_length={sequence_length} steps sampling_rate={sampling_rate} apart "
            f"({(sequence_length - 1) * sampling_rate + 1} steps)"
            + ("" if targets_t is None else f" and a target for it (len(targets)={len(targets_t)})")
            + ", received: none"
        )
    start_positions = np.arange(0, num_starts, sequence_stride, dtype=np.int64)
    if targets_t is not None:
        last = start + int(start_positions[-1])
        if last >= len(targets_t):
            raise ValueError(
                f"Expected a target for every window (the last starts at index {last}), "
                f"received: len(targets)={len(targets_t)} with start_index={start_index}"
            )
        targets_t = targets_t[start:]
    return TimeseriesDataset(
        data_t[start:end],
        targets_t,
        start_positions,
        int(sequence_length),
        int(sampling_rate),
        None if batch_size is None else int(batch_size),
        bool(shuffle),
        seed,
    )
