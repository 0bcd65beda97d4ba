"""Dynamic batching: requests to one model wait in a queue, and a worker thread runs them
together.

The worker takes the oldest request, then waits until `max_batch_size` samples are queued
or `timeout_s` has passed since it took it, whichever comes first, but only while other
requests to the model are still being received (`expect`): a lone request runs at once,
without paying the timeout. Requests whose samples
have the same shapes and dtypes are concatenated into one model call and each gets back
exactly its own rows (offsets kept per request, never reordered). A call that fails is
retried request by request, so one bad request cannot fail its neighbours. The model runs
off the event loop, one batch at a time per model.
"""

from __future__ import annotations

import collections
import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

import numpy as np

from lamina.serve.errors import ServeError

Runner = Callable[[list[np.ndarray]], list[np.ndarray]]
log = logging.getLogger("lamina.serve")


@dataclass
class Job:
    """One request's samples (one array per input, same length) and where its answer goes."""

    inputs: list[np.ndarray]
    future: concurrent.futures.Future = field(default_factory=concurrent.futures.Future)

    @property
    def rows(self) -> int:
        return len(self.inputs[0])

    def key(self) -> tuple:
        """Requests with equal keys can share one model call."""
        return tuple((a.shape[1:], a.dtype.str) for a in self.inputs)


@dataclass
class BatchStats:
    """What the worker has run: model calls, samples, requests, and calls per batch size."""

    batches: int = 0
    rows: int = 0
    requests: int = 0
    largest: int = 0
    sizes: collections.Counter = field(default_factory=collections.Counter)

    def record(self, rows: int, requests: int) -> None:
        self.batches += 1
        self.rows += rows
        self.requests += requests
        self.largest = max(self.largest, rows)
        self.sizes[rows] += 1


class Batcher:
    """A queue of jobs for one model and the worker thread that runs them in batches.

    `run` maps a list of (n, ...) arrays to the model's outputs as (n, ...) arrays;
    `context` is entered by the worker thread for its whole life (CPU settings)."""

    def __init__(
        self,
        run: Runner,
        max_batch_size: int,
        timeout_s: float,
        max_queue_rows: int,
        name: str = "model",
        context: Callable[[], AbstractContextManager] = nullcontext,
    ) -> None:
        self.run = run
        self.max_batch_size = max_batch_size
        self.timeout_s = timeout_s
        self.max_queue_rows = max_queue_rows
        self.name = name
        self.context = context
        self.stats = BatchStats()
        self._pending: collections.deque[Job] = collections.deque()
        self._queued_rows = 0
        self._arriving = 0
        self._cond = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    def expect(self) -> None:
        """A request for this model has started to arrive: a batch may wait for it."""
        with self._cond:
            self._arriving += 1

    def unexpect(self) -> None:
        """An expected request will not be submitted (it was refused)."""
        with self._cond:
            self._arriving -= 1
            self._cond.notify_all()

    def submit(self, inputs: list[np.ndarray], expected: bool = False) -> concurrent.futures.Future:
        """Queue one request (announced by `expect` when `expected`); its future gets the
        outputs (a list of arrays, its rows)."""
        job = Job(inputs)
        with self._cond:
            if expected:
                self._arriving -= 1
            if self._closed:
                raise ServeError(503, f"Expected a running server, received: {self.name!r} stopped")
            if self._queued_rows + job.rows > self.max_queue_rows:
                raise ServeError(
                    503,
                    f"Expected at most {self.max_queue_rows} queued samples for "
                    f"{self.name!r}, received: {self._queued_rows + job.rows} (try again)",
                    {"Retry-After": "1"},
                )
            self._pending.append(job)
            self._queued_rows += job.rows
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._work, name=f"lamina-serve-{self.name}", daemon=True
                )
                self._thread.start()
            self._cond.notify()
        return job.future

    def close(self, timeout: float = 5.0) -> None:
        """Stop the worker after the batch it is running; queued requests get a 503."""
        with self._cond:
            self._closed = True
            left = list(self._pending)
            self._pending.clear()
            self._queued_rows = 0
            self._cond.notify_all()
            thread = self._thread
        for job in left:
            _settle(
                job,
                error=ServeError(
                    503, f"Expected a running server, received: {self.name!r} stopped"
                ),
            )
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    # ---------------------------------------------------------------- worker
    def _work(self) -> None:
        with self.context():
            while True:
                jobs = self._collect()
                if jobs is None:
                    return
                for group in _groups(jobs):
                    self._run_group(group)

    def _collect(self) -> list[Job] | None:
        """The next batch: the oldest job, and the jobs after it that fit in
        `max_batch_size` samples, once the batch is full or the timeout has passed."""
        with self._cond:
            while not self._pending and not self._closed:
                self._cond.wait()
            if self._closed:
                return None
            deadline = time.monotonic() + self.timeout_s
            while (
                self._queued_rows < self.max_batch_size and self._arriving > 0 and not self._closed
            ):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            if self._closed:
                return None
            jobs = [self._pending.popleft()]
            rows = jobs[0].rows
            while self._pending and rows + self._pending[0].rows <= self.max_batch_size:
                rows += self._pending[0].rows
                jobs.append(self._pending.popleft())
            self._queued_rows -= rows
            return jobs

    def _run_group(self, group: list[Job]) -> None:
        """One model call for jobs of one shape; each job gets its own slice."""
        rows = sum(job.rows for job in group)
        inputs = (
            group[0].inputs
            if len(group) == 1
            else [np.concatenate(parts) for parts in zip(*(job.inputs for job in group))]
        )
        try:
            outputs = self.run(inputs)
            bad = [o.shape for o in outputs if o.ndim == 0 or len(o) != rows]
            if bad:
                raise ValueError(
                    f"Expected outputs with one row per sample ({rows}), received: shapes={bad}"
                )
        except Exception as error:
            if len(group) > 1:  # one request at a time: only the one at fault fails
                for job in group:
                    self._run_group([job])
                return
            _settle(group[0], error=self._failure(error))
            return
        self.stats.record(rows, len(group))
        start = 0
        for job, stop in zip(group, _offsets(group)):
            _settle(job, result=[out[start:stop] for out in outputs])
            start = stop

    def _failure(self, error: Exception) -> ServeError:
        """The client's error for a failed model call: the exception's type only (the
        message, which may show the model's internals, goes to the server's log)."""
        if isinstance(error, ServeError):
            return error
        log.error("model %r failed on a request", self.name, exc_info=error)
        return ServeError(
            500,
            f"Expected the model {self.name!r} to run on the request, received: "
            f"{type(error).__name__} (see the server's log)",
        )


def _groups(jobs: list[Job]) -> Iterator[list[Job]]:
    """Jobs grouped by sample shapes, groups in order of their first job."""
    groups: dict[tuple, list[Job]] = {}
    for job in jobs:
        groups.setdefault(job.key(), []).append(job)
    yield from groups.values()


def _offsets(group: list[Job]) -> list[int]:
    return list(np.cumsum([job.rows for job in group]))


def _settle(
    job: Job, result: list[np.ndarray] | None = None, error: Exception | None = None
) -> None:
    """Give `job` its answer unless its waiter has gone (a cancelled future)."""
    if not job.future.set_running_or_notify_cancel():
        return
    if error is not None:
        job.future.set_exception(error)
    else:
        job.future.set_result(result)
