"""fit/evaluate/predict keep freed CPU memory for reuse (no page faults per step), then let go."""

from __future__ import annotations

import resource
import sys

import numpy as np
import pytest
import torch

import lamina
from lamina import callbacks, config, layers
from lamina.runtime import cpu_memory

linux_glibc = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not cpu_memory._libc(), reason="glibc only"
)


def _faults_of_big_allocations(times: int = 10) -> int:
    """Minor page faults of allocating, writing and freeing a 16 MB tensor `times` times."""
    start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(times):
        t = torch.empty(4 * 1024 * 1024)
        t.fill_(1.0)
        del t
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start


@linux_glibc
def test_reuse_avoids_page_faults_and_restores_the_default():
    pages = 16 * 1024 * 1024 // 4096
    with cpu_memory.reuse_cpu_memory(torch.device("cpu")):
        assert cpu_memory.active()
        _faults_of_big_allocations(1)  # the first allocation grows the heap once
        # 10 allocations: mapped afresh they fault 10 x pages; reused, at most a few do (a
        # heap other tests fragmented, or another malloc arena, may need to grow once or twice)
        assert _faults_of_big_allocations() < 4 * pages
    assert not cpu_memory.active()
    # afterwards: glibc's dynamic ceiling (32 MiB): a 16 MB block comes from the heap, but a
    # 48 MB one is mapped afresh each time, so memory goes back to the system
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        torch.empty(12 * 1024 * 1024).fill_(1.0)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before > 4 * 3 * pages


@linux_glibc
def test_fit_evaluate_and_predict_run_with_reuse_and_it_can_be_turned_off():
    seen = []

    class Probe(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(("train", cpu_memory.active()))

        def on_test_batch_end(self, batch, logs=None):
            seen.append(("test", cpu_memory.active()))

        def on_predict_batch_end(self, batch, logs=None):
            seen.append(("predict", cpu_memory.active()))

    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    y = (x.sum(1) > 0).astype("float32")
    model = lamina.Sequential([layers.Input((4,)), layers.Dense(1, activation="sigmoid")])
    model.compile("sgd", "binary_crossentropy", device="cpu")
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[Probe()], validation_data=(x, y))
    model.evaluate(x, y, verbose=0, callbacks=[Probe()])
    model.predict(x, verbose=0, callbacks=[Probe()])
    assert {kind for kind, _ in seen} == {"train", "test", "predict"}
    assert all(active for _, active in seen)
    assert not cpu_memory.active()  # the nested evaluate inside fit did not end it early
    seen.clear()
    config.set_reuse_cpu_memory(False)
    try:
        model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[Probe()])
    finally:
        config.set_reuse_cpu_memory(True)
    assert seen and not any(active for _, active in seen)


def test_set_reuse_cpu_memory_rejects_non_bools():
    with pytest.raises(TypeError, match="Expected a bool, received: enabled=1"):
        config.set_reuse_cpu_memory(1)
