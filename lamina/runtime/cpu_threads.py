"""How many CPU threads fit/evaluate/predict compute with: no more than the process may use.

PyTorch sizes its intra-op pool from the machine's cores and the process's CPU affinity
(`taskset`, a Slurm or Kubernetes cpuset). A CPU *quota* is invisible to it: in a
container started with `--cpus=2` on a 64-core host it runs 32 threads that share two
cores' worth of time, and each parallel op then waits on descheduled threads. Under
`lamina.config.set_cpu_threads('auto')` (the default) a call that computes on the CPU
lowers the pool to the CPUs the process may use (affinity and cgroup v1/v2 quota) for
its duration and restores the process's setting afterwards; it never raises it.

    lamina.config.set_cpu_threads(4)      # exactly 4 threads in fit/evaluate/predict
    lamina.config.set_cpu_threads(None)   # leave PyTorch's setting alone
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator
from pathlib import Path

import torch

from lamina import config

CGROUP_ROOT = Path("/sys/fs/cgroup")


def _v2_quota(root: Path, rel: str) -> float | None:
    """The tightest `cpu.max` quota (in CPUs) from the process's cgroup up to the root."""
    best: float | None = None
    path = Path(rel.lstrip("/"))
    while True:
        try:
            quota, period = (root / path / "cpu.max").read_text().split()[:2]
        except (OSError, ValueError):
            quota = "max"
            period = "1"
        if quota != "max" and float(period) > 0:
            cpus = float(quota) / float(period)
            best = cpus if best is None else min(best, cpus)
        if path == path.parent:
            return best
        path = path.parent


def _v1_quota(root: Path, controllers: str, rel: str) -> float | None:
    """`cpu.cfs_quota_us / cpu.cfs_period_us` of the process's v1 cpu cgroup, if limited."""
    for name in (controllers, "cpu", "cpu,cpuacct", "cpuacct,cpu"):
        for sub in (rel.lstrip("/"), ""):  # in a container the cgroup is mounted at its root
            base = root / name / sub
            try:
                quota = int((base / "cpu.cfs_quota_us").read_text())
                period = int((base / "cpu.cfs_period_us").read_text())
            except (OSError, ValueError):
                continue
            return quota / period if quota > 0 and period > 0 else None
    return None


def cgroup_cpu_quota(root: Path = CGROUP_ROOT, proc_cgroup: str | None = None) -> float | None:
    """The process's CPU quota in CPUs (1.5 = one and a half cores), None when unlimited.

    `proc_cgroup` is the text of /proc/self/cgroup (read when None).
    """
    if proc_cgroup is None:
        try:
            proc_cgroup = Path("/proc/self/cgroup").read_text()
        except OSError:
            return None
    for line in proc_cgroup.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, rel = parts
        if controllers == "":  # cgroup v2 (unified)
            quota = _v2_quota(root, rel)
            if quota is not None:
                return quota
        elif "cpu" in controllers.split(","):
            return _v1_quota(root, controllers, rel)
    return None


def usable_cpus() -> int:
    """The CPUs this process may use: its affinity, capped by a cgroup quota (rounded up)."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    quota = cgroup_cpu_quota()
    if quota is not None:
        count = min(count, max(1, math.ceil(quota - 1e-9)))
    return max(count, 1)


def target_threads(setting: int | str | None, current: int) -> int | None:
    """The intra-op thread count a call should use, or None to leave `current` alone."""
    if setting is None:
        return None
    if setting == "auto":
        cap = usable_cpus()
        return cap if current > cap else None
    return int(setting) if int(setting) != current else None


@contextlib.contextmanager
def cpu_threads(device: torch.device | None) -> Iterator[None]:
    """While a call computes on the CPU, use `lamina.config.cpu_threads()` threads, then restore."""
    current = torch.get_num_threads()
    want = None
    if device is None or device.type == "cpu":
        want = target_threads(config.cpu_threads(), current)
    if want is None:
        yield
        return
    torch.set_num_threads(want)
    try:
        yield
    finally:
        torch.set_num_threads(current)
