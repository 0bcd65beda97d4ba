"""One distributed `fit`: the rank's device, its data shards and the DDP wrapper.

`fit` opens a session when torch.distributed is running with more than one process
(or torchrun's environment says it should be); while it is open, `is_active()` is
True, the engine's forward pass in training goes through
`torch.nn.parallel.DistributedDataParallel` (gradients are averaged across ranks
during `backward()`), and logs are computed from metric states summed over ranks.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch

from lamina.distributed import env, reduce, sharding

_current: FitSession | None = None


def is_active() -> bool:
    """True inside a distributed `fit` (the engine must then run the eager train step)."""
    return _current is not None


def current() -> FitSession | None:
    """The open session, if any."""
    return _current


def session_of(model: Any) -> FitSession | None:
    """The open session when it trains `model`, else None."""
    session = _current
    return session if session is not None and session.model is model else None


def forward_module(model: Any) -> Any:
    """What the engine calls for a training forward pass: the DDP wrapper of `model`
    inside a distributed fit, else `model` itself."""
    session = _current
    if session is not None and session.model is model and session.ddp is not None:
        return session.ddp
    return model


class StepWeight:
    """This rank's share of the current global batch (its samples / all samples)."""

    def __init__(self, value: float) -> None:
        self.value = value


def _weighted_allreduce(state: StepWeight, bucket):
    """DDP communication hook: sum over ranks of (share of the batch x local gradient).

    (No annotations on `bucket` and the result: DDP accepts only its own classes there,
    and this module's annotations are strings.)

    Each rank's loss is a mean over its own samples, so weighting by the share of
    samples gives the gradient of the mean over the whole global batch, even when the
    ranks hold different numbers of samples (the last batch of an epoch).
    """
    import torch.distributed as dist

    buffer = bucket.buffer()
    buffer.mul_(state.value)
    work = dist.all_reduce(buffer, async_op=True)
    return work.get_future().then(lambda fut: fut.value()[0])


class FitSession:
    """The distributed state of one `fit` call on one rank."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.rank = env.rank()
        self.world_size = env.world_size()
        self.is_main = self.rank == 0
        self.weight = StepWeight(1.0 / self.world_size)
        self.ddp: Any = None
        self.seed: int | None = None

    def verbose(self, verbose: int) -> int:
        """The progress bar shows on rank 0 only."""
        return verbose if self.is_main else 0

    def shard(self, data: Any, val: Any) -> tuple[Any, Any]:
        """This rank's part of the training and validation data (a collective)."""
        self.seed = reduce.shared_seed()
        data = sharding.shard(data, self.rank, self.world_size, self.seed, True, self.weight)
        if val is not None:
            val = sharding.shard(val, self.rank, self.world_size, self.seed, False)
        steps = reduce.gather_ints(len(data))
        if len(set(steps)) > 1:  # different data on different ranks: they would hang later
            raise ValueError(
                "Expected the same training data on every rank (each takes its own shard), "
                f"received: steps per epoch by rank={steps}"
            )
        return data, val

    def sync_buffers(self) -> None:
        """Rank 0's buffers (BatchNorm statistics) on every rank: evaluations agree."""
        reduce.broadcast_buffers(self.model)

    def wrap(self) -> None:
        """Wrap the built model in DDP (rank 0's weights are broadcast to all ranks)."""
        from torch.nn.parallel import DistributedDataParallel

        if not any(p.requires_grad for p in self.model.parameters()):
            return  # nothing to train, nothing to average
        device = next(self.model.parameters()).device
        self.ddp = DistributedDataParallel(
            self.model,
            device_ids=[device.index] if device.type == "cuda" else None,
        )  # buffers (BatchNorm statistics) are synced from rank 0 at every forward
        self.ddp.register_comm_hook(self.weight, _weighted_allreduce)

    def agree(self, flag: bool) -> bool:
        """True on every rank if it is True on one (so all ranks stop at the same step)."""
        return reduce.any_rank(flag)

    def logs(self, metrics: list[Any]) -> dict[str, float]:
        return reduce.reduced_logs(metrics)


def _rank_device(model: Any) -> None:
    """On GPUs, each process trains on the GPU of its local rank."""
    device = getattr(model, "_device", None)
    if device is not None and torch.device(device).type == "cuda":
        index = env.local_rank()
        torch.cuda.set_device(index)
        model._device = torch.device("cuda", index)


def begin(model: Any) -> FitSession | None:
    """A session when this process is one of several, else None (a plain fit).

    Joins the process group itself when torchrun's environment is set and nobody
    initialized it yet.
    """
    global _current
    if not env.is_initialized():
        if not env.launched_by_torchrun():
            return None
        env.initialize(env.check_backend(None, getattr(model, "_device", None)))
    if env.world_size() < 2:
        return None
    if _current is not None:
        raise RuntimeError(
            "Expected one distributed fit at a time, received: fit() called while "
            f"model '{getattr(_current.model, 'name', '?')}' is training"
        )
    _rank_device(model)
    _current = FitSession(model)
    return _current


def end(session: FitSession | None) -> None:
    """Close `session`: the model is used without the DDP wrapper again."""
    global _current
    if session is not None and _current is session:
        _current = None
        session.ddp = None


@contextlib.contextmanager
def fit_session(model: Any) -> Iterator[FitSession | None]:
    """`with fit_session(model) as session:` a FitSession (or None) for one fit."""
    session = begin(model)
    try:
        yield session
    finally:
        end(session)
