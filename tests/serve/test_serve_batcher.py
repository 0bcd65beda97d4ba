"""Dynamic batching: concurrent requests share model calls, and every request gets back
exactly its own rows."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from lamina.serve.app import create_app
from lamina.serve.batcher import Batcher
from lamina.serve.config import ServeConfig
from lamina.serve.errors import ServeError
from tests.serve.serve_helpers import client


class Recorder:
    """A stand-in model: doubles its input and remembers each call's batch size; a row
    whose first value is -1 makes the call fail."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.lock = threading.Lock()

    def __call__(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        with self.lock:
            self.sizes.append(len(arrays[0]))
        if (arrays[0][:, 0] == -1).any():
            raise ValueError("a poisoned row")
        return [arrays[0] * 2, arrays[0].sum(axis=1, keepdims=True)]


def _submit_all(batcher: Batcher, jobs: list[np.ndarray], threads: int = 8) -> list:
    """Submit `jobs` from `threads` threads at once; the futures in job order."""
    futures: list = [None] * len(jobs)
    start = threading.Barrier(threads)

    def worker(k: int) -> None:
        start.wait()
        for i in range(k, len(jobs), threads):
            batcher.expect()  # as the server does when a request starts to arrive
            futures[i] = batcher.submit([jobs[i]], expected=True)

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return futures


def test_every_request_gets_its_own_rows_back():
    recorder = Recorder()
    batcher = Batcher(recorder, max_batch_size=16, timeout_s=0.05, max_queue_rows=10_000)
    rng = np.random.default_rng(0)
    jobs = [rng.random((int(rng.integers(1, 5)), 3)).astype(np.float32) for _ in range(200)]
    futures = _submit_all(batcher, jobs)
    for job, future in zip(jobs, futures):
        doubled, sums = future.result(timeout=30)
        np.testing.assert_array_equal(doubled, job * 2)
        np.testing.assert_allclose(sums[:, 0], job.sum(axis=1), rtol=1e-6)
    batcher.close()
    assert sum(recorder.sizes) == sum(len(j) for j in jobs)
    assert max(recorder.sizes) <= 16 and max(recorder.sizes) > 1
    assert batcher.stats.batches == len(recorder.sizes) < len(jobs)


def test_samples_of_other_shapes_run_in_their_own_calls():
    recorder = Recorder()
    batcher = Batcher(recorder, max_batch_size=12, timeout_s=5, max_queue_rows=1000)
    jobs = [np.full((1, 2 + i % 3), i, np.float32) for i in range(12)]
    for _ in jobs:
        batcher.expect()
    futures = [batcher.submit([job], expected=True) for job in jobs]
    for job, future in zip(jobs, futures):
        np.testing.assert_array_equal(future.result(timeout=30)[0], job * 2)
    batcher.close()
    assert sorted(recorder.sizes) == [4, 4, 4]  # one call per width


def test_one_poisoned_request_fails_alone():
    recorder = Recorder()
    batcher = Batcher(recorder, max_batch_size=12, timeout_s=5, max_queue_rows=1000)
    jobs = [np.full((2, 3), i, np.float32) for i in range(6)]
    jobs[3][1, 0] = -1
    for _ in jobs:
        batcher.expect()
    futures = [batcher.submit([job], expected=True) for job in jobs]
    for i, (job, future) in enumerate(zip(jobs, futures)):
        if i == 3:
            with pytest.raises(ServeError) as caught:
                future.result(timeout=30)
            assert caught.value.status == 500 and "ValueError" in caught.value.message
        else:
            np.testing.assert_array_equal(future.result(timeout=30)[0], job * 2)
    batcher.close()


def test_a_lone_request_does_not_wait_for_the_timeout():
    recorder = Recorder()
    batcher = Batcher(recorder, max_batch_size=64, timeout_s=60, max_queue_rows=100)
    batcher.expect()
    future = batcher.submit([np.ones((1, 3), np.float32)], expected=True)
    np.testing.assert_array_equal(future.result(timeout=10)[0], np.full((1, 3), 2))
    batcher.expect()  # a request that starts to arrive, then is refused, holds no batch
    waiting = batcher.submit([np.ones((1, 3), np.float32)])
    batcher.unexpect()
    np.testing.assert_array_equal(waiting.result(timeout=10)[0], np.full((1, 3), 2))
    batcher.close()


def test_a_full_queue_answers_503_and_close_releases_waiters():
    gate, started = threading.Event(), threading.Event()

    def slow(arrays):
        started.set()
        gate.wait(10)
        return [arrays[0]]

    batcher = Batcher(slow, max_batch_size=1, timeout_s=0, max_queue_rows=3)
    first = batcher.submit([np.zeros((1, 2), np.float32)])
    assert started.wait(10)  # the worker holds the first request; three more fit the queue
    queued = [batcher.submit([np.zeros((1, 2), np.float32)]) for _ in range(3)]
    with pytest.raises(ServeError) as caught:
        batcher.submit([np.zeros((1, 2), np.float32)])
    assert caught.value.status == 503 and caught.value.headers == {"Retry-After": "1"}
    gate.set()
    first.result(timeout=10)
    batcher.close()
    for future in queued:  # answered or, if still queued at close, refused with 503
        try:
            future.result(timeout=10)
        except ServeError as error:
            assert error.status == 503


def test_concurrent_http_clients_are_batched_and_matched(models):
    """8 clients x 25 requests, each with its own input: every answer is model.predict
    of that request's input, and requests shared model calls."""
    model = models["mlp"]
    app = create_app({"mlp": model}, ServeConfig(max_batch_size=8, batch_timeout_ms=500))
    rng = np.random.default_rng(1)
    inputs = rng.random((8, 25, 784), dtype=np.float32)

    async def one_client(c, k: int) -> list:
        answers = []
        for i in range(25):
            body = {"instances": inputs[k, i : i + 1].tolist()}
            response = await c.post("/v1/models/mlp:predict", json=body)
            assert response.status_code == 200, response.text
            answers.append(response.json()["predictions"][0])
        return answers

    async def load() -> list:
        async with client(app) as c:
            return await asyncio.gather(*(one_client(c, k) for k in range(8)))

    answers = np.asarray(asyncio.run(load()), dtype=np.float32)
    expected = model.predict(inputs.reshape(200, 784), verbose=0).reshape(8, 25, 10)
    np.testing.assert_allclose(answers, expected, atol=1e-5)
    stats = app.state.serve.models.models["mlp"].batcher.stats
    app.state.serve.models.close()
    assert stats.rows == 200 and stats.requests == 200
    assert stats.largest > 1 and stats.batches < 200
