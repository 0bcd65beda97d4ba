"""Decode batches of image files in DataLoader worker processes, keeping the requested order.

Each worker item is a whole batch (a chunk of indices): a worker opens and decodes its
files and returns one uint8 (n, h, w, c) tensor plus the (index, message) of every file
that failed, so the main process can warn and drop them (labels stay aligned). The
dataset holds only file paths, never decoded images, so workers inherit nothing big.
Workers persist across epochs; the chunk list is swapped in before each pass. The
DataLoader is held in a list that a `weakref.finalize` of the `ChunkLoader` empties, so
it never becomes part of the owner's reference cycles (an iterator refers to itself
through its index generator): left to the cycle collector, the workers missed the stop
signal and each exited only after its own poll timeout (torch's 5 s).

Worker count: `default_num_workers()` leaves one core to the main process (which trains
with torch's intra-op threads) and gives the rest to decoding, at least 1, at most 4;
torch gives each worker one thread. Measured on the 2-core machine (300 JPEG/PNG files of
200-400 px to 128x128, ~600 images/s per core, a matmul loop as the training step; the
machine was shared, so medians of 4 passes): 0 workers 2.6 s, 1 worker 1.0 s, 2 workers
1.6 s (2 workers oversubscribe the cores the main process's threads are using).
0 decodes in the main process.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from lamina.data.image_decode import ImageDecodeError, channels, decode_image

Chunk = tuple[int, np.ndarray]
Decoded = tuple[int, np.ndarray, torch.Tensor, list[tuple[int, str]]]


@dataclass(frozen=True)
class DecodeSettings:
    """How every file is decoded (also part of the cache key)."""

    target_size: tuple[int, int]
    color_mode: str = "rgb"
    interpolation: str = "bilinear"
    fit: str = "stretch"  # 'stretch' | 'crop' | 'pad'

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (int(self.target_size[0]), int(self.target_size[1]), channels(self.color_mode))


def default_num_workers() -> int:
    """Decoder processes: the usable cores but one, 1 to 4; none on a single core."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = cores or 1
    return 0 if cores < 2 else max(1, min(cores - 1, 4))


def decode_chunk(paths: Sequence[str], settings: DecodeSettings, chunk: Chunk) -> Decoded:
    """(chunk id, kept indices, uint8 rows, failures) for one chunk of indices."""
    number, indices = chunk
    rows, kept, failed = [], [], []
    for i in indices:
        try:
            rows.append(
                decode_image(
                    paths[i],
                    settings.target_size,
                    settings.color_mode,
                    settings.interpolation,
                    settings.fit,
                )
            )
            kept.append(int(i))
        except ImageDecodeError as err:
            failed.append((int(i), str(err)))
    shape = (len(rows), *settings.image_shape)
    batch = torch.from_numpy(np.stack(rows)) if rows else torch.zeros(shape, dtype=torch.uint8)
    return number, np.asarray(kept, dtype=np.int64), batch, failed


class _ChunkDecoder(Dataset):
    """Index -> decoded chunk; holds the paths and settings only."""

    def __init__(self, paths: Sequence[str], settings: DecodeSettings) -> None:
        self.paths = list(paths)
        self.settings = settings

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, chunk: Chunk) -> Decoded:
        return decode_chunk(self.paths, self.settings, chunk)


class _ChunkSampler(Sampler):
    """Yields the chunks of the current pass (replaced before each pass)."""

    def __init__(self) -> None:
        self.chunks: list[Chunk] = []

    def __iter__(self) -> Iterator[Chunk]:
        return iter(list(self.chunks))

    def __len__(self) -> int:
        return len(self.chunks)


def _identity(item: Decoded) -> Decoded:
    return item


class ChunkLoader:
    """Decodes chunks of indices with `num_workers` persistent DataLoader workers, in order."""

    def __init__(self, paths: Sequence[str], settings: DecodeSettings, num_workers: int) -> None:
        self.dataset = _ChunkDecoder(paths, settings)
        self.num_workers = int(num_workers)
        self._sampler = _ChunkSampler()
        self._holder: list[DataLoader] = []  # 0 or 1 DataLoader, outside this object's cycles
        weakref.finalize(self, self._holder.clear)

    def _build(self) -> DataLoader:
        workers = self.num_workers
        return DataLoader(
            self.dataset,
            batch_size=None,
            sampler=self._sampler,
            num_workers=workers,
            collate_fn=_identity,
            persistent_workers=workers > 0,
            prefetch_factor=2 if workers > 0 else None,
            pin_memory=torch.cuda.is_available(),
        )

    def run(self, chunks: list[Chunk]) -> Iterator[Decoded]:
        """Decoded chunks, in the order given."""
        if not self._holder:
            self._holder.append(self._build())
        self._sampler.chunks = chunks
        yield from self._holder[0]

    def close(self) -> None:
        """Stop the workers (they also stop when this object is garbage-collected)."""
        self._holder.clear()
