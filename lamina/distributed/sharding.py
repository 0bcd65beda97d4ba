"""Each rank reads a distinct part of the data, and every rank takes the same number of steps.

`batch_size` is the GLOBAL batch (Keras's semantics): with W processes, step s of
every rank together is exactly global batch s of a single-process run, each rank
holding about batch_size / W of its samples.

- Arrays: every rank draws the same permutation each epoch (a seed shared from rank 0),
  cuts it into global batches, and takes its contiguous part of each. A last partial
  batch is split too (sizes differ by at most one; gradients are weighted by sample
  counts, so the step equals the single-process step); if it has fewer samples than
  processes it is skipped for that epoch.
- Datasets and DataLoaders: rebuilt on a `DistributedSampler` (same seed on all ranks,
  `set_epoch` each epoch) with batch_size / W samples per rank; it pads the last batches
  by repeating samples so that all ranks take the same number of steps.
- Keras Sequences: batches are dealt round-robin (batch i to rank i % W); the last
  len % W batches are skipped in training.
Validation data is split without padding or dropping: every sample is evaluated once,
and the summed metric states give the exact global values.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    DistributedSampler,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
)

from lamina.data.adapter import ArrayData, Batch, IterableData


def _split(size: int, parts: int, index: int) -> tuple[int, int]:
    """Bounds of part `index` when `size` items are cut into `parts` near-equal contiguous parts."""
    q, rem = divmod(size, parts)
    lo = index * q + min(index, rem)
    return lo, lo + q + (1 if index < rem else 0)


class ArrayShard(ArrayData):
    """One rank's view of an `ArrayData` (the full arrays stay, batches are this rank's part)."""

    def __init__(
        self,
        data: ArrayData,
        rank: int,
        world: int,
        seed: int,
        training: bool,
        weight: Any = None,
    ) -> None:
        self.__dict__.update(data.__dict__)
        self.rank, self.world, self.seed, self.training = rank, world, seed, training
        self.weight = weight  # receives this rank's share of each global batch
        self._epochs = 0
        if not training:
            self.block = _split(self.n, world, rank)
            self.local_batch = max(1, math.ceil(self.batch_size / world))
            self.steps = math.ceil((self.block[1] - self.block[0]) / self.local_batch)
            return
        if self.batch_size < world:
            raise ValueError(
                f"Expected batch_size >= the number of processes ({world}), since batch_size "
                f"is the global batch split across them, received: batch_size={self.batch_size}"
            )
        full, tail = divmod(self.n, self.batch_size)
        self.steps = full + (1 if tail >= world else 0)
        if self.steps == 0:
            raise ValueError(
                f"Expected at least one sample per process ({world}), received: {self.n} samples"
            )

    def __len__(self) -> int:
        return self.steps

    def epoch(self) -> Iterator[Batch]:
        if not self.training:
            yield from self._evaluation_batches()
            return
        perm = None
        if self.shuffle:
            gen = torch.Generator().manual_seed(self.seed + self._epochs)
            perm = torch.randperm(self.n, generator=gen).to(self.device)
        self._epochs += 1
        bs = self.batch_size
        for step in range(self.steps):
            start = step * bs
            size = min(bs, self.n - start)
            lo, hi = _split(size, self.world, self.rank)
            if self.weight is not None:
                self.weight.value = (hi - lo) / size
            sl = slice(start + lo, start + hi)
            yield self.rows(sl if perm is None else perm[sl])

    def _evaluation_batches(self) -> Iterator[Batch]:
        first, last = self.block
        for start in range(first, last, self.local_batch):
            yield self.rows(slice(start, min(start + self.local_batch, last)))


class LoaderShard(IterableData):
    """A DataLoader on a DistributedSampler: `set_epoch` before each epoch reshuffles."""

    def __init__(self, loader: DataLoader, device: Any, steps: int | None) -> None:
        super().__init__(loader, device, steps)
        self._epochs = 0

    def epoch(self) -> Iterator[Batch]:
        sampler = getattr(self.source, "sampler", None)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(self._epochs)
        self._epochs += 1
        yield from super().epoch()


class _SequenceView:
    """The batches `indices` of a Keras Sequence (len + getitem), as a smaller Sequence."""

    def __init__(self, sequence: Any, indices: range) -> None:
        self.sequence, self.indices = sequence, indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> Any:
        return self.sequence[self.indices[i]]

    def on_epoch_end(self) -> None:
        if hasattr(self.sequence, "on_epoch_end"):
            self.sequence.on_epoch_end()


def _shard_loader(loader: DataLoader, rank: int, world: int, seed: int, training: bool) -> Any:
    sampler = loader.sampler
    if isinstance(sampler, DistributedSampler):
        return loader  # already sharded by the user
    if isinstance(loader.dataset, IterableDataset):
        raise ValueError(
            "Expected a map-style Dataset to shard across processes, received: an "
            f"IterableDataset ({type(loader.dataset).__name__}). Shard it yourself with "
            "lamina.distributed.rank() and world_size(), and pass steps_per_epoch."
        )
    if type(loader.batch_sampler) is not BatchSampler or not isinstance(
        sampler, (SequentialSampler, RandomSampler)
    ):
        raise ValueError(
            "Expected a DataLoader with batch_size and shuffle only, to shard across processes, "
            f"received: sampler={type(sampler).__name__}, batch_sampler="
            f"{type(loader.batch_sampler).__name__}. Give it a DistributedSampler yourself."
        )
    dataset, global_batch = loader.dataset, int(loader.batch_size or 1)
    if training:
        if global_batch % world:
            raise ValueError(
                f"Expected a batch_size divisible by the number of processes ({world}) for a "
                f"Dataset or DataLoader (batch_size is the global batch), "
                f"received: batch_size={global_batch}"
            )
        per_rank = global_batch // world
        new_sampler: Any = DistributedSampler(
            dataset,
            num_replicas=world,
            rank=rank,
            shuffle=isinstance(sampler, RandomSampler),
            seed=seed,
        )
    else:
        per_rank = max(1, math.ceil(global_batch / world))
        new_sampler = range(rank, len(dataset), world)  # every sample once, no padding
    workers = loader.num_workers
    return DataLoader(
        dataset,
        batch_size=per_rank,
        sampler=new_sampler,
        drop_last=loader.drop_last,
        num_workers=workers,
        collate_fn=loader.collate_fn,
        pin_memory=loader.pin_memory,
        timeout=loader.timeout,
        worker_init_fn=loader.worker_init_fn,
        multiprocessing_context=loader.multiprocessing_context if workers else None,
        prefetch_factor=loader.prefetch_factor if workers else None,
        persistent_workers=loader.persistent_workers if workers else False,
    )


def shard(
    data: Any, rank: int, world: int, seed: int, training: bool = True, weight: Any = None
) -> Any:
    """This rank's part of `data` (an ArrayData or IterableData from `lamina.data.adapt`)."""
    if isinstance(data, ArrayData):
        return ArrayShard(data, rank, world, seed, training, weight)
    if not isinstance(data, IterableData):
        return data
    src = data.source
    if isinstance(src, DataLoader):
        return LoaderShard(_shard_loader(src, rank, world, seed, training), data.device, data.steps)
    if hasattr(src, "__getitem__") and hasattr(src, "__len__"):
        n = len(src)
        if training and n < world:
            raise ValueError(
                f"Expected at least one batch per process ({world}), received: len(x)={n} batches"
            )
        stop = (n // world) * world if training else n
        return IterableData(_SequenceView(src, range(rank, stop, world)), data.device, data.steps)
    if training and data.steps is None:
        raise ValueError(
            "Expected arrays, a Dataset, a DataLoader or a Sequence to shard across processes, "
            f"received: x of type {type(src).__name__}. Feed each process its own part and pass "
            "steps_per_epoch (the same on every rank)."
        )
    return data  # validation iterables are evaluated whole on every rank
