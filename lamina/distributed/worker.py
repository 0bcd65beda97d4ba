"""The worker process of `fit(distribute=N)`: join the group, rebuild the model, run fit.

Each worker reads the job files (`payload`), joins the process group through the parent's TCP
store, calls the same `fit` on its shard, and exits. Rank 0 writes the result file.
On any error the worker writes a report (type, message, traceback) for the parent
and exits with code 1 at once, so a broken rank never keeps the others waiting. An
error while the spawned process still imports the user's script (before `run`, e.g.
`fit(distribute=N)` without an `if __name__ == "__main__":` guard) is reported too.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import sys
import threading
import time
import traceback
from typing import Any

# Set by the parent while it starts a worker: where that worker reports an error raised
# while it imports the main module, before `run` takes over.
REPORT_ENV = "LAMINA_DISTRIBUTED_ERROR_REPORT"


@dataclasses.dataclass(frozen=True)
class WorkerArgs:
    rank: int
    world_size: int
    workdir: str
    host: str
    port: int
    backend: str
    timeout: float  # seconds
    threads: int
    parent_pid: int
    seed: int
    job_digest: str  # SHA-256 of the job files, handed over outside the files


def error_path(workdir: str, rank: int) -> str:
    return os.path.join(workdir, f"error-rank{rank}.json")


def _set_env(args: WorkerArgs) -> None:
    os.environ.update(
        RANK=str(args.rank),
        LOCAL_RANK=str(args.rank),
        WORLD_SIZE=str(args.world_size),
        LOCAL_WORLD_SIZE=str(args.world_size),
    )
    from lamina.distributed.env import use_loopback

    use_loopback()  # all ranks are on this machine


def _exit_with_parent(parent_pid: int) -> None:
    """Stop if the parent disappears (killed), instead of training on as an orphan."""

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="lamina-parent-watch", daemon=True).start()


def _write_report(path: str, err: BaseException, collateral: bool = False) -> None:
    report = {
        "type": type(err).__name__,
        "message": str(err),
        "traceback": "".join(traceback.format_exception(err)),
        "collateral": collateral,
    }
    with open(path + ".tmp", "w") as f:
        json.dump(report, f)
    os.replace(path + ".tmp", path)


def _report(args: WorkerArgs, err: BaseException) -> None:
    import torch.distributed as dist

    collateral = isinstance(err, dist.DistError) or any(
        s in str(err) for s in ("Connection closed by peer", "Connection reset by peer", "gloo")
    )
    _write_report(error_path(args.workdir, args.rank), err, collateral)


def _report_bootstrap_errors() -> None:
    """In a worker still importing the main module, report an uncaught error to the parent.

    Why: spawn imports the user's script before `run` starts; an error there (an
    unguarded `fit(distribute=N)`) would reach the parent as a bare exit code 1.
    Runs when this module is first imported, which the script's `import lamina` does.
    """
    path = os.environ.get(REPORT_ENV)
    if not path or not getattr(multiprocessing.current_process(), "_inheriting", False):
        return
    previous = sys.excepthook

    def report_then_print(kind: type, err: BaseException, tb: Any) -> None:
        try:
            _write_report(path, err)
        except OSError:
            pass  # the parent then names the exit code; the traceback still prints below
        previous(kind, err, tb)

    sys.excepthook = report_then_print


_report_bootstrap_errors()


def run(args: WorkerArgs) -> None:
    """The worker's entry point (the target of the spawned process)."""
    os.environ.pop(REPORT_ENV, None)  # not for processes this worker starts
    _set_env(args)
    _exit_with_parent(args.parent_pid)
    try:
        _train(args)
    except BaseException as err:
        try:
            _report(args, err)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(1)
    # Done: the result is written and every rank has met (env.meet). Leave without the
    # interpreter's teardown, whose C++ destructors (gloo's threads, the process group)
    # could abort the process after a successful fit when a peer is already gone.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _train(args: WorkerArgs) -> None:
    import datetime
    import random

    import numpy as np
    import torch
    import torch.distributed as dist

    from lamina.distributed import env, payload

    torch.set_num_threads(args.threads)
    seed = (args.seed + args.rank) % 2**32  # own dropout masks per rank; shuffling is shared
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    timeout = datetime.timedelta(seconds=args.timeout)
    store = dist.TCPStore(args.host, args.port, is_master=False, timeout=timeout)
    env.initialize(
        args.backend, args.timeout, store=store, rank=args.rank, world_size=args.world_size
    )
    model, fit_kwargs = payload.load_job(args.workdir, args.job_digest)
    history = model.fit(**fit_kwargs)
    if args.rank == 0:
        payload.write_result(model, history, args.workdir)
    env.meet()  # then run() exits without destroying the group (see there)
