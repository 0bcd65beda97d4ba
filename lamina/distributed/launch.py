"""`model.fit(..., distribute=N)`: train data-parallel in N worker processes on this machine.

The parent validates the arguments and builds the model, writes the job (see
`payload`) to a private temporary directory, hosts the rendezvous store on a free
loopback port (no port race: the store binds port 0), and spawns N workers
(`multiprocessing`'s spawn start method: fresh interpreters, safe with threads and
CUDA). It then watches them: when one exits with an error, the others are stopped and
`fit` raises a RuntimeError naming that rank and its error. On success the parent's
model takes rank 0's trained weights and optimizer state, and `fit` returns its History.

Callbacks run inside the workers (rank 0 writes files); the parent's callback objects
are not updated. Scripts must start training under `if __name__ == "__main__":`, since
spawned workers import the main module.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import multiprocessing
import multiprocessing.connection
import numbers
import os
import signal
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import torch

from lamina.distributed import env, payload, sharding, worker

HOST = "127.0.0.1"
GRACE = 3.0  # seconds the other ranks get to report their own error after a failure


@dataclasses.dataclass(frozen=True)
class Spawn:
    """`fit(distribute=Spawn(2, timeout=60))`: how to run the N worker processes.

    `backend`: 'gloo' (CPUs) or 'nccl' (GPUs, one per process); chosen from the model's
    device when None. `timeout`: seconds a collective may wait for the other ranks
    (default: env LAMINA_DISTRIBUTED_TIMEOUT, else 300).
    """

    processes: int
    backend: str | None = None
    timeout: float | None = None


def as_spawn(distribute: Any) -> Spawn:
    """Validate `distribute` (an int >= 1 or a Spawn)."""
    spec = distribute if isinstance(distribute, Spawn) else Spawn(distribute)
    n = spec.processes
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(
            "Expected distribute to be a number of processes (an int >= 1) or "
            f"lamina.distributed.Spawn, received: distribute={distribute!r}"
        )
    n = int(n)
    if n < 1:
        raise ValueError(
            f"Expected distribute >= 1 (the number of processes), received: distribute={n}"
        )
    env.check_backend(spec.backend)
    env.resolve_timeout(spec.timeout)
    return dataclasses.replace(spec, processes=n)


def spawn_count(distribute: Any) -> int:
    """The number of worker processes `distribute` asks for (validated); 1 trains in-process."""
    return as_spawn(distribute).processes


def _check_launchable(n: int, backend: str) -> None:
    if env.is_initialized() or env.launched_by_torchrun():
        raise RuntimeError(
            f"Expected distribute=None when already running distributed (world size "
            f"{env.world_size()}), received: distribute={n}. Under torchrun, fit uses "
            "the launched processes itself."
        )
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise RuntimeError(
            "Expected fit(distribute=N) to run under `if __name__ == '__main__':`, received: "
            "a call while a worker process imports the main module (spawned workers import "
            "the script). Put the code that trains under the guard, as in the README."
        )
    if backend == "nccl" and n > torch.cuda.device_count():
        raise ValueError(
            f"Expected at most one process per GPU ({torch.cuda.device_count()}), "
            f"received: distribute={n}"
        )


def _prepare_parent(model: Any, kw: dict[str, Any], n: int) -> None:
    """Build the model and check the data here, so mistakes fail before any process starts."""
    from lamina.data.adapter import ArrayData, adapt

    data = adapt(
        kw["x"],
        kw["y"],
        kw.get("sample_weight"),
        kw.get("batch_size"),
        False,
        model._device or torch.device("cpu"),
        kw.get("steps_per_epoch"),
    )
    model._prepare(data, data.y if isinstance(data, ArrayData) else None)
    if isinstance(data, ArrayData) and not kw.get("validation_split"):
        sharding.shard(data, 0, n, 0, training=True)  # e.g. batch_size < n fails here


def spawn_fit(model: Any, distribute: Any, fit_kwargs: dict[str, Any]) -> Any:
    """Run `model.fit(**fit_kwargs)` in N processes; returns rank 0's History."""
    spec = as_spawn(distribute)
    backend = env.check_backend(spec.backend, getattr(model, "_device", None))
    _check_launchable(spec.processes, backend)
    _prepare_parent(model, fit_kwargs, spec.processes)
    timeout = env.resolve_timeout(spec.timeout)
    with tempfile.TemporaryDirectory(prefix="lamina-distributed-") as workdir:
        digest = payload.save_job(model, fit_kwargs, workdir)
        res = _run_workers(spec.processes, backend, timeout, workdir, digest)
    return payload.apply_result(model, res)


def _run_workers(
    n: int, backend: str, timeout: datetime.timedelta, workdir: str, digest: str
) -> dict[str, Any]:
    import torch.distributed as dist

    store = dist.TCPStore(HOST, 0, is_master=True, wait_for_workers=False, timeout=timeout)
    ctx = multiprocessing.get_context("spawn")
    seed = int(torch.randint(0, 2**31, (1,)).item())
    threads = max(1, (os.cpu_count() or 1) // n)
    procs: list[Any] = []
    try:
        for rank in range(n):
            args = worker.WorkerArgs(
                rank,
                n,
                workdir,
                HOST,
                store.port,
                backend,
                timeout.total_seconds(),
                threads,
                os.getpid(),
                seed,
                digest,
            )
            proc = ctx.Process(target=worker.run, args=(args,), name=f"lamina-rank{rank}")
            with _environ(worker.REPORT_ENV, worker.error_path(workdir, rank)):
                proc.start()  # the worker inherits the variable while it imports the script
            procs.append(proc)
        _watch(procs, workdir)
    finally:
        _stop([p for p in procs if p.is_alive()])
        del store
    path = os.path.join(workdir, payload.RESULT_JSON)
    if not os.path.exists(path):
        raise RuntimeError(
            "Expected rank 0 to write the training result, received: no result file "
            f"(every rank exited with code 0) in {workdir}"
        )
    return payload.read_result(workdir)


@contextlib.contextmanager
def _environ(name: str, value: str) -> Iterator[None]:
    """Set an environment variable for the processes started inside the block."""
    saved = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = saved


def _watch(procs: list[Any], workdir: str) -> None:
    """Wait for every worker; on the first failure stop the rest and raise."""
    alive = dict(enumerate(procs))
    failed: list[int] = []
    deadline: float | None = None
    while alive:
        wait = None if deadline is None else max(0.0, deadline - time.monotonic())
        multiprocessing.connection.wait([p.sentinel for p in alive.values()], timeout=wait)
        for rank, proc in list(alive.items()):
            if proc.exitcode is not None:
                del alive[rank]
                if proc.exitcode != 0:
                    failed.append(rank)
        if failed and deadline is None:
            deadline = time.monotonic() + GRACE
        if deadline is not None and time.monotonic() >= deadline:
            break
    if failed:
        _stop(list(alive.values()))
        raise RuntimeError(_failure_message(procs, failed, workdir))


def _stop(procs: list[Any]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.join(5.0)
        if proc.is_alive():
            proc.kill()
            proc.join()


def _read_report(workdir: str, rank: int) -> dict[str, Any] | None:
    try:
        with open(worker.error_path(workdir, rank)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _failure_message(procs: list[Any], failed: list[int], workdir: str) -> str:
    """Name the rank that failed first for its own reason (not because a peer died)."""
    reports = {r: _read_report(workdir, r) for r in failed}
    cause = next((r for r in failed if not (reports[r] or {}).get("collateral")), failed[0])
    report, n = reports[cause], len(procs)
    head = f"Distributed fit failed: rank {cause} of {n}"
    if report is None:
        code = procs[cause].exitcode
        if code is not None and code < 0:
            what = f"was killed by signal {signal.Signals(-code).name}"
        else:
            what = f"exited with code {code}"
        return (
            f"{head} {what} without a Python error (os._exit, a crash, or out of memory); "
            "the other ranks were stopped."
        )
    return (
        f"{head} raised {report['type']}: {report['message']}\n"
        f"The other ranks were stopped. Traceback of rank {cause}:\n{report['traceback']}"
    )
