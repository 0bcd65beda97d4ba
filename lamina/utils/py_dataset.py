"""`PyDataset` (also `Sequence`): a dataset of batches indexed by position, for `fit`.

Subclasses define `__getitem__(index)` -> batch and `__len__()` (or `num_batches`), and
pass `workers`, `use_multiprocessing`, `max_queue_size` to `super().__init__`.
Iterating gives one epoch: `on_epoch_begin()`, the batches in order (with
`workers > 1`, up to `max_queue_size` batches are built ahead by a thread pool),
then `on_epoch_end()`.

    class Batches(PyDataset):
        def __init__(self, x, y, batch_size, **kwargs):
            super().__init__(**kwargs)
            self.x, self.y, self.batch_size = x, y, batch_size
        def __len__(self):
            return math.ceil(len(self.x) / self.batch_size)
        def __getitem__(self, i):
            s = slice(i * self.batch_size, (i + 1) * self.batch_size)
            return self.x[s], self.y[s]
"""

from __future__ import annotations

import collections
import itertools
import warnings
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from lamina.stacklevel import user_stacklevel


class PyDataset:
    """Batches by index, with Keras's worker arguments; see the module docstring.

    `use_multiprocessing=True` is accepted and runs the workers as threads: Lamina
    sends no Python objects between processes (that would need pickle).
    """

    def __init__(
        self, workers: int = 1, use_multiprocessing: bool = False, max_queue_size: int = 10
    ):
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size

    def _warn_if_super_not_called(self) -> None:
        missing = False
        for name, default in (
            ("_workers", 1),
            ("_use_multiprocessing", False),
            ("_max_queue_size", 10),
        ):
            if not hasattr(self, name):
                setattr(self, name, default)
                missing = True
        if missing:
            warnings.warn(
                f"Expected {type(self).__name__}.__init__ to call super().__init__(**kwargs) "
                "(kwargs may hold workers, use_multiprocessing, max_queue_size), received: "
                "a PyDataset without them; the defaults are used.",
                stacklevel=user_stacklevel(),
            )

    @property
    def workers(self) -> int:
        self._warn_if_super_not_called()
        return self._workers

    @workers.setter
    def workers(self, value: int) -> None:
        self._workers = value

    @property
    def use_multiprocessing(self) -> bool:
        self._warn_if_super_not_called()
        return self._use_multiprocessing

    @use_multiprocessing.setter
    def use_multiprocessing(self, value: bool) -> None:
        self._use_multiprocessing = value

    @property
    def max_queue_size(self) -> int:
        self._warn_if_super_not_called()
        return self._max_queue_size

    @max_queue_size.setter
    def max_queue_size(self, value: int) -> None:
        self._max_queue_size = value

    def __getitem__(self, index: int) -> Any:
        """The batch at position `index`."""
        raise NotImplementedError

    @property
    def num_batches(self) -> int | None:
        """The number of batches (None: endless); `len(self)` unless overridden."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(
            "Expected the PyDataset to define __len__ or the num_batches property, "
            "received: neither"
        )

    def on_epoch_begin(self) -> None:
        """Called before the first batch of every epoch."""

    def on_epoch_end(self) -> None:
        """Called after the last batch of every epoch (shuffle here)."""

    def _indices(self) -> Iterator[int]:
        try:
            count = self.num_batches
        except NotImplementedError:
            count = None
        return iter(range(count)) if count is not None else itertools.count()

    def __iter__(self) -> Iterator[Any]:
        """One epoch: on_epoch_begin, every batch in order, on_epoch_end."""
        self.on_epoch_begin()
        workers = max(1, int(self.workers or 1))
        if workers == 1:
            for index in self._indices():
                yield self[index]
        else:
            yield from self._prefetched(workers)
        self.on_epoch_end()

    def _prefetched(self, workers: int) -> Iterator[Any]:
        """Batches in order, `max_queue_size` of them built ahead on `workers` threads."""
        depth = max(1, int(self.max_queue_size or 1))
        indices = self._indices()
        pending: collections.deque[Future] = collections.deque()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for index in itertools.islice(indices, depth):
                pending.append(pool.submit(self.__getitem__, index))
            while pending:
                batch = pending.popleft().result()
                for index in itertools.islice(indices, 1):
                    pending.append(pool.submit(self.__getitem__, index))
                yield batch


Sequence = PyDataset
