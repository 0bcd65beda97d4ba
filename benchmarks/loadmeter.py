"""How many cores *other* processes kept busy while a span of this benchmark ran.

The machine is shared: with torch's 2 threads on 2 cores, one other busy process
makes OpenMP threads wait for each other and an epoch can take 10x longer. The
benchmark measures this per timed epoch (Linux `/proc/stat` busy time minus this
process's own CPU time) and re-runs epochs that other processes disturbed.
Standard library only: the Keras worker imports it in the JAX venv too.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

QUIET = 0.3  # cores used by other processes above which an epoch counts as disturbed


def busy_seconds() -> float:
    """CPU seconds all processes spent busy since boot (/proc/stat), or nan where unavailable."""
    try:
        first = Path("/proc/stat").read_text().split("\n", 1)[0].split()
        fields = [int(v) for v in first[1:]]
    except (OSError, ValueError):
        return float("nan")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_seconds() -> float:
    """CPU seconds of this process (all threads) and its waited-for children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class LoadMeter:
    """`with LoadMeter() as m: ...` then `m.load`: mean cores used by other processes."""

    def __init__(self) -> None:
        self.load = float("nan")
        self._start = (0.0, 0.0, 0.0)

    def start(self) -> LoadMeter:
        self._start = (time.perf_counter(), busy_seconds(), own_seconds())
        return self

    def stop(self) -> float:
        wall, busy, own = time.perf_counter(), busy_seconds(), own_seconds()
        w0, b0, o0 = self._start
        self.load = max(0.0, ((busy - b0) - (own - o0)) / max(wall - w0, 1e-9))
        return self.load

    def __enter__(self) -> LoadMeter:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def wait_for_quiet(limit: float, log: Any, threshold: float = QUIET) -> float:
    """Wait up to `limit` seconds until other processes use < `threshold` cores; return that load."""
    deadline = time.perf_counter() + limit
    while True:
        with LoadMeter() as m:
            time.sleep(2.0)
        if m.load != m.load or m.load < threshold or time.perf_counter() >= deadline:
            return m.load
        log(f"other processes use {m.load:.1f} cores; waiting for a quieter machine")
        time.sleep(3.0)


def pick_epochs(seconds: list[float], loads: list[float], want: int) -> tuple[list[int], int]:
    """Indices of the timed epochs to report: the first `want` quiet ones, else the least loaded.

    Returns (indices in run order, number of disturbed epochs among them).
    """
    quiet = [i for i, ld in enumerate(loads) if not ld > QUIET]
    if len(quiet) >= want:
        return quiet[:want], 0
    chosen = sorted(sorted(range(len(seconds)), key=lambda i: loads[i])[:want])
    return chosen, sum(1 for i in chosen if loads[i] > QUIET)
