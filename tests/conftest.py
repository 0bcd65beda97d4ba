"""Test-wide settings: each test's own compile ledger, and CPU threads shared fairly.

`jit_compile='auto'` learns across processes from the compile ledger in Inductor's
cache directory (lamina/runtime/compile_ledger.py). Shared by the whole suite, that
memory would let one test's fits change another's decisions, and a second run of the
suite differ from the first. Each test gets an empty ledger in its own temporary
directory; Inductor's kernel cache stays shared, so compiles stay warm. Compiled steps are
not kept as libraries (a second compile each) except in tests/models/test_saved_step.py.

Under pytest-xdist (`make test` runs `-n 2`), every worker process would size PyTorch's
intra-op pool to all the CPUs: two workers on two cores run four threads, and each
parallel op waits on threads descheduled by the other worker. Each worker keeps its share
of the CPUs instead (one thread each for `-n 2` on two cores), and so do the scripts the
tests start (OMP_NUM_THREADS). Tests that exercise thread counts set them explicitly.
"""

from __future__ import annotations

import os

import pytest
import torch

from lamina import config
from lamina.runtime import compile_ledger
from lamina.runtime.cpu_threads import usable_cpus


def worker_threads() -> int | None:
    """Intra-op threads per xdist worker (the usable CPUs split evenly), None outside xdist."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    if workers <= 0:
        return None
    return max(1, usable_cpus() // workers)


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("LAMINA_TEST_STEP_LIBRARY") != "1":
        os.environ["LAMINA_STEP_LIBRARY"] = "0"  # scripts the tests start: see no_step_library
    threads = worker_threads()
    if threads is None or threads >= torch.get_num_threads():
        return
    torch.set_num_threads(threads)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, str(threads))


@pytest.fixture(autouse=True)
def no_step_library(monkeypatch):
    """Compiled steps are not kept as libraries (lamina.config.step_library): building one
    costs a second compile of every step. tests/models/test_saved_step.py turns it on;
    LAMINA_TEST_STEP_LIBRARY=1 runs the whole suite with it."""
    if os.environ.get("LAMINA_TEST_STEP_LIBRARY") != "1":  # "1": the whole suite with them
        monkeypatch.setattr(config, "_STEP_LIBRARY", False)


@pytest.fixture(autouse=True)
def own_compile_ledger(tmp_path_factory, monkeypatch):
    directory = tmp_path_factory.mktemp("ledger")
    monkeypatch.setattr(compile_ledger, "inductor_cache_dir", lambda: str(directory))
    return directory
