"""Who am I in a distributed run: rank, world size, backend, and joining the process group.

`torchrun` describes each process with environment variables (RANK, WORLD_SIZE,
LOCAL_RANK, MASTER_ADDR, MASTER_PORT); `initialize()` joins the process group they
describe. `fit` calls it itself when it finds them, so a script needs no changes.
"""

from __future__ import annotations

import atexit
import datetime
import os
import socket
from typing import Any

import torch

DEFAULT_TIMEOUT = 300.0  # seconds a collective may wait for the other ranks
TIMEOUT_ENV = "LAMINA_DISTRIBUTED_TIMEOUT"
_BACKENDS = ("gloo", "nccl")
_owned = False  # True when Lamina created the default process group (and must destroy it)
_atexit_registered = False


def _dist() -> Any:
    import torch.distributed as dist

    if not dist.is_available():
        raise RuntimeError(
            "Expected a torch build with torch.distributed, received: "
            "torch.distributed.is_available()=False"
        )
    return dist


def is_initialized() -> bool:
    """True when the default torch.distributed process group exists."""
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized()


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(
            f"Expected an integer environment variable {name}, received: {name}={value!r}"
        ) from None


def rank() -> int:
    """This process's global rank (0 when not distributed)."""
    if is_initialized():
        return int(_dist().get_rank())
    return _env_int("RANK", 0)


def world_size() -> int:
    """The number of processes training together (1 when not distributed)."""
    if is_initialized():
        return int(_dist().get_world_size())
    return _env_int("WORLD_SIZE", 1)


def local_rank() -> int:
    """This process's rank on its machine (selects its GPU)."""
    return _env_int("LOCAL_RANK", rank() if world_size() > 1 else 0)


def is_main_process() -> bool:
    """True on rank 0, the process that writes checkpoints, logs and the progress bar."""
    return rank() == 0


def launched_by_torchrun() -> bool:
    """True when the environment describes a multi-process run (torchrun or equivalent)."""
    return _env_int("WORLD_SIZE", 1) > 1 and "RANK" in os.environ


def default_backend(device: torch.device | str | None = None) -> str:
    """'nccl' for CUDA devices (when available), else 'gloo'."""
    dist = _dist()
    if device is None:
        use_cuda = torch.cuda.is_available()
    else:
        use_cuda = torch.device(device).type == "cuda"
    return "nccl" if use_cuda and dist.is_nccl_available() else "gloo"


def resolve_timeout(timeout: float | datetime.timedelta | None) -> datetime.timedelta:
    """A timedelta from seconds, a timedelta, or None (env LAMINA_DISTRIBUTED_TIMEOUT, else 300 s)."""
    if timeout is None:
        raw = os.environ.get(TIMEOUT_ENV)
        try:
            timeout = float(raw) if raw else DEFAULT_TIMEOUT
        except ValueError:
            raise ValueError(
                f"Expected a number of seconds in {TIMEOUT_ENV}, received: {TIMEOUT_ENV}={raw!r}"
            ) from None
    if isinstance(timeout, datetime.timedelta):
        seconds = timeout.total_seconds()
    elif isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
        seconds = float(timeout)
    else:
        raise TypeError(
            f"Expected a timeout in seconds or a datetime.timedelta, received: timeout={timeout!r}"
        )
    if not seconds > 0:
        raise ValueError(f"Expected a positive timeout, received: timeout={timeout!r}")
    return datetime.timedelta(seconds=seconds)


def check_backend(backend: str | None, device: torch.device | str | None = None) -> str:
    """`backend`, validated, or the default for `device`."""
    if backend is None:
        return default_backend(device)
    if backend not in _BACKENDS:
        raise ValueError(f"Expected backend in {_BACKENDS}, received: backend={backend!r}")
    return backend


def initialize(
    backend: str | None = None,
    timeout: float | datetime.timedelta | None = None,
    *,
    store: Any = None,
    rank: int | None = None,
    world_size: int | None = None,
) -> None:
    """Join the default process group; a no-op when it already exists.

    Without arguments this reads torchrun's environment (RANK, WORLD_SIZE, MASTER_ADDR,
    MASTER_PORT). `backend` defaults to 'nccl' on GPUs and 'gloo' on CPUs; `timeout`
    (seconds) bounds how long a collective waits for the other ranks before failing:
    a rank that died or hangs makes the others raise instead of waiting forever.
    """
    global _owned, _atexit_registered
    dist = _dist()
    if dist.is_initialized():
        return
    backend = check_backend(backend)
    delta = resolve_timeout(timeout)
    if store is None:
        missing = [
            k for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT") if k not in os.environ
        ]
        if missing:
            raise RuntimeError(
                "Expected torchrun's environment (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT) to "
                f"initialize torch.distributed, received: {', '.join(missing)} unset. Launch with "
                "`torchrun --nproc-per-node N script.py`, or use model.fit(..., distribute=N)."
            )
    if backend == "nccl":
        torch.cuda.set_device(_env_int("LOCAL_RANK", 0))
    elif store is None and _single_machine():
        use_loopback()
    kwargs: dict[str, Any] = {"backend": backend, "timeout": delta}
    if store is not None:
        kwargs.update(store=store, rank=int(rank or 0), world_size=int(world_size or 1))
    else:
        kwargs["init_method"] = "env://"
    dist.init_process_group(**kwargs)
    _owned = True
    if not _atexit_registered:
        atexit.register(shutdown)
        _atexit_registered = True


def _single_machine() -> bool:
    local = os.environ.get("LOCAL_WORLD_SIZE")
    return os.environ.get("MASTER_ADDR") in ("127.0.0.1", "localhost", "::1") or (
        local is not None and local == os.environ.get("WORLD_SIZE")
    )


def use_loopback() -> None:
    """Make gloo talk over the loopback interface (all ranks on this machine), unless
    GLOO_SOCKET_IFNAME already names one: the host name may resolve to an unusable address."""
    if "GLOO_SOCKET_IFNAME" in os.environ:
        return
    try:
        names = [name for _, name in socket.if_nameindex()]
    except (OSError, AttributeError):
        return
    lo = next((n for n in ("lo", "lo0") if n in names), None)
    if lo is not None:
        os.environ["GLOO_SOCKET_IFNAME"] = lo


def meet() -> None:
    """Wait until every rank is done talking (a monitored gloo barrier, 10 s at most).

    A rank that tears gloo down while its peer still talks to it can abort at exit
    ("terminate called without an active exception"). A peer that is gone only
    shortens the wait."""
    if _owned and is_initialized():
        dist = _dist()
        try:
            if dist.get_backend() == "gloo":
                dist.monitored_barrier(timeout=datetime.timedelta(seconds=10))
        except RuntimeError:
            pass  # a peer already exited or failed: nothing left to wait for


def shutdown() -> None:
    """Destroy the process group if `initialize()` created it (safe to call twice),
    after the ranks `meet()`."""
    global _owned
    if _owned and is_initialized():
        meet()
        _dist().destroy_process_group()
    _owned = False


def owns_process_group() -> bool:
    """True when Lamina created the current process group."""
    return _owned and is_initialized()
