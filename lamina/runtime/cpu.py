"""The CPU settings a fit/evaluate/predict call runs under, as one context manager."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from lamina.runtime.cpu_memory import reuse_cpu_memory
from lamina.runtime.cpu_threads import cpu_threads
from lamina.runtime.denormals import flush_denormals


@contextlib.contextmanager
def cpu_run_settings(device: torch.device | None) -> Iterator[None]:
    """A fit/evaluate/predict call's CPU settings: denormals flushed, freed memory reused,
    threads capped at the CPUs the process may use; each is restored afterwards."""
    with flush_denormals(device), reuse_cpu_memory(device), cpu_threads(device):
        yield
