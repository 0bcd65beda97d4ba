"""Data-parallel training on torch.distributed (DDP): the same `model.fit`, on N processes.

    # On one machine: N worker processes, the parent's model ends up trained.
    history = model.fit(x, y, batch_size=256, epochs=5, distribute=2)

    # With torchrun (several GPUs, several machines): fit finds the environment.
    #   torchrun --nproc-per-node 4 train.py
    history = model.fit(x, y, batch_size=256, epochs=5)

`batch_size` is the global batch: each of the N processes takes batch_size / N samples
per step, and the weights after a step equal those of a single-process step on the whole
batch. Metrics are summed over ranks before logs are computed, so every rank (and every
callback) sees the same logs. Rank 0 alone shows the progress bar and writes files.
See docs/scaling.md.

Two halves, so imports point one way: `env` (rank, world size, the process group),
`reduce`, `sharding` and `session` are what the engine and the callbacks use, and import
no callbacks; `launch`, `payload` and `worker` (fit(distribute=N)) sit above the
callbacks: the payload carries them to the workers and builds the parent's History.
"""

from lamina.distributed.env import (
    default_backend,
    initialize,
    is_initialized,
    is_main_process,
    local_rank,
    rank,
    shutdown,
    world_size,
)
from lamina.distributed.launch import Spawn, spawn_count, spawn_fit
from lamina.distributed.session import (
    current,
    fit_session,
    forward_module,
    is_active,
    session_of,
)

__all__ = [
    "Spawn",
    "current",
    "default_backend",
    "fit_session",
    "forward_module",
    "initialize",
    "is_active",
    "is_initialized",
    "is_main_process",
    "local_rank",
    "rank",
    "session_of",
    "shutdown",
    "spawn_count",
    "spawn_fit",
    "world_size",
]
