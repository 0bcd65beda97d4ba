"""predict's outputs, gathered batch by batch into arrays of the full length."""

from __future__ import annotations

import numpy as np
import torch


class PredictOutputs:
    """predict's outputs, batch by batch: copied into arrays of the full length when it
    is known (no concatenation at the end, as a hand-written loop writes into `out`)."""

    def __init__(self, total: int | None) -> None:
        self.total = total
        self.parts: list[list[torch.Tensor]] = []
        self.full: list[torch.Tensor] | None = None
        self.filled = 0
        self.last: list[torch.Tensor] = []

    def add(self, batch: list[torch.Tensor], borrowed: bool = False) -> None:
        """Keep one batch's outputs; `borrowed` ones are copied (their buffer is reused)."""
        self.last = batch
        n = batch[0].shape[0] if batch and batch[0].ndim else 0
        if self.total is not None and self.full is None and not self.parts:
            self.full = [o.new_empty((self.total, *o.shape[1:])) for o in batch]
        if self.full is not None and self._fits(batch, n):
            self.last = [dst[self.filled : self.filled + n] for dst in self.full]
            for dst, o in zip(self.last, batch):
                dst.copy_(o)
            self.filled += n
            return
        if self.full is not None:  # an unexpected shape: fall back to concatenation
            self.parts.append([dst[: self.filled] for dst in self.full])
            self.full = None
        if borrowed:  # a compiled step's buffers, overwritten by its next call
            batch = self.last = [o.clone() for o in batch]
        self.parts.append(batch)

    def _fits(self, batch: list[torch.Tensor], n: int) -> bool:
        return (
            len(batch) == len(self.full)
            and all(
                o.ndim and o.shape[0] == n and o.shape[1:] == d.shape[1:] and o.dtype == d.dtype
                for o, d in zip(batch, self.full)
            )
            and self.filled + n <= self.total
        )

    def numpy(self) -> list[np.ndarray]:
        if self.full is not None and self.filled == self.total and self.filled:
            return [t.cpu().numpy() for t in self.full]
        if self.full is not None and self.filled:
            self.parts.insert(0, [t[: self.filled] for t in self.full])
        if not self.parts:
            raise ValueError("Expected at least one batch to predict, received: empty input")
        return [
            torch.cat([p[i] for p in self.parts]).cpu().numpy() for i in range(len(self.parts[0]))
        ]
