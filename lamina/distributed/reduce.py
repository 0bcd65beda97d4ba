"""Collectives on small host-side values: summed metric states, agreed flags, shared seeds.

Every function here is a collective: all ranks must call it, in the same order.
"""

from __future__ import annotations

from typing import Any

import torch


def _dist() -> Any:
    import torch.distributed as dist

    return dist


def comm_device() -> torch.device:
    """Where tensors must live for the default group's collectives (CUDA for nccl)."""
    dist = _dist()
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


@torch.no_grad()
def reduced_logs(metrics: list[Any]) -> dict[str, float]:
    """`{name: value}` of `metrics` as if one process had seen every rank's batches.

    Metric states are combined with one all_reduce by their Keras `aggregation`: 'sum'
    (Lamina's own states: the sums of all ranks), 'mean' (the sum over the ranks'
    count), 'only_first_replica' (rank 0's value), 'none' (each rank keeps its own).
    Each metric's `result()` is read from the combined states, and the local states are
    put back: the running (per-rank) accumulation is left untouched.
    """
    states = [t for m in metrics for t in m.state_tensors()]
    if not states:
        return {m.name: float(m.result().item()) for m in metrics}
    modes = [a for m in metrics for a in _aggregations(m)]
    dist = _dist()
    first = dist.get_rank() == 0
    device = comm_device()
    parts = []
    for t, mode in zip(states, modes):
        part = t.detach().reshape(-1).to(device, torch.float64)
        if mode == "only_first_replica" and not first or mode == "none":
            part = torch.zeros_like(part)
        parts.append(part)
    flat = torch.cat(parts)
    dist.all_reduce(flat)
    saved = [t.clone() for t in states]
    offset = 0
    for t, mode in zip(states, modes):
        n = t.numel()
        value = flat[offset : offset + n]
        if mode == "mean":
            value = value / dist.get_world_size()
        if mode != "none":
            t.copy_(value.reshape(t.shape).to(t.device, t.dtype))
        offset += n
    try:
        return {m.name: float(m.result().item()) for m in metrics}
    finally:
        for t, s in zip(states, saved):
            t.copy_(s)


def _aggregations(metric: Any) -> list[str]:
    if hasattr(metric, "state_aggregations"):
        return list(metric.state_aggregations())
    return ["sum"] * len(metric.state_tensors())


def any_rank(flag: bool) -> bool:
    """True on every rank when `flag` is True on at least one (e.g. stop_training)."""
    dist = _dist()
    t = torch.tensor([1 if flag else 0], dtype=torch.int64, device=comm_device())
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def shared_seed() -> int:
    """A seed drawn from rank 0's torch generator and given to every rank.

    Every rank then shuffles with the same permutation each epoch, and
    `set_random_seed` on rank 0 makes the shuffling reproducible.
    """
    dist = _dist()
    seed = int(torch.randint(0, 2**62, (1,)).item())
    t = torch.tensor([seed], dtype=torch.int64, device=comm_device())
    dist.broadcast(t, src=0)
    return int(t.item())


def gather_ints(value: int) -> list[int]:
    """`value` of every rank, in rank order (e.g. to check that all ranks agree)."""
    dist = _dist()
    device = comm_device()
    mine = torch.tensor([int(value)], dtype=torch.int64, device=device)
    out = [torch.zeros_like(mine) for _ in range(dist.get_world_size())]
    dist.all_gather(out, mine)
    return [int(t.item()) for t in out]


@torch.no_grad()
def broadcast_buffers(module: torch.nn.Module) -> None:
    """Give every rank rank 0's buffers (e.g. BatchNorm statistics) before evaluating."""
    dist = _dist()
    device = comm_device()
    for buf in module.buffers():
        if buf.device == device:
            dist.broadcast(buf, src=0)
        else:
            tmp = buf.to(device)
            dist.broadcast(tmp, src=0)
            buf.copy_(tmp.to(buf.device))
