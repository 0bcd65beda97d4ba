"""How the fused recurrent kernels use the CPU's cores, chosen by measuring them.

A fused LSTM runs one small matrix product per time step (64 x 128 by 128 x 512 for the
benchmark's LSTM(128)), each split across the intra-op threads and closed by a barrier.
Three ways to run it on a 2-core machine (2026-12-06): on the intra-op threads, on one
thread, or with the batch cut in parts run side by side on one thread each (no barrier
per step). On an idle machine, `fit` ran an LSTM(128) at 2,300-2,600 samples/s on two
threads against 1,550-2,630 in two halves (GRU 1,470-1,600 against 1,110-1,470), one
thread about 1,400. When another process holds a core, threads that meet at barriers
wait for it: a training step took 0.2-1.3 s on two intra-op threads against 45-70 ms
on one. Which way wins depends on the layer and the moment, so each layer measures: it
runs its kernels (forward and backward) on the process's threads and cut in parts side
by side (on one thread when the batch is too small to cut) for a few calls each, keeps
the process's threads unless the other plan is 20% faster, and measures again every
`period` calls, since the machine's load changes. Only the recurrence is affected; the
rest of the step keeps the process's threads.

`TunedRecurrence` carries the plan into the backward pass: its forward runs the kernels
with autograd on detached inputs (one inner graph per batch part) and its backward
takes the gradients of those graphs (the pattern of a reentrant checkpoint), each part
on its own thread.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import torch

Compute = Callable[[list[torch.Tensor]], list[torch.Tensor]]
Plan = tuple[int, int]  # (intra-op threads, batch parts run side by side, one thread each)
Dims = Sequence[int | None]  # each tensor's batch dimension (None: shared, e.g. weights)
MIN_PART = 16  # samples per part: smaller parts lose more in the matrix products than they gain

_POOL: list[tuple[int, ThreadPoolExecutor]] = []  # (workers, pool)
_POOL_LOCK = threading.Lock()


@contextmanager
def intra_op_threads(count: int) -> Iterator[None]:
    """torch's intra-op thread count (process-wide) set to `count` for the block."""
    before = torch.get_num_threads()
    if count == before:
        yield
        return
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class ThreadTuner:
    """Per layer and mode: picks each call's plan from measured times.

    After `warmup` calls a round measures both plans, three calls each in the order
    A B B A A B (so a drift in the machine's speed falls on both). The process's threads
    are kept for `period` calls, then measured again, unless the other plan was 20%
    faster. That one (a sign of load) is kept for `recheck` calls, then one call on the
    process's threads tells whether the load is gone (it is no slower than the kept plan:
    a full round decides) or not (kept twice as long, up to `longest`): under load a call
    on the threads can cost ten of the other plan's.
    """

    warmup = 5  # first calls (allocations, oneDNN's primitive cache, the fit's start): untimed
    period = 64  # calls on the process's threads between rounds
    recheck = 16  # calls on the other plan before a look at the threads (doubling)
    longest = 256
    margin = 0.8  # the other plan must beat the default by 20% (probing noise is not load)

    def __init__(self) -> None:
        self.base = 0  # the process's thread count when the plans were set
        self.plans: list[Plan] = []

    def _reset(self, base: int, batch: int) -> None:
        """A new fit set another pool size (or the first call): start over."""
        self.base, self.calls = base, 0
        self.times: dict[Plan, list[float]] = {}
        self.queue: list[Plan] = []
        self.after = ""  # what ends when the queue is empty: "round", "look" or ""
        self.remaining, self.hold = 0, self.recheck
        parts = min(base, os.cpu_count() or 1, batch // MIN_PART)
        # The first plan, the process's threads, is the default, kept unless the other is
        # clearly faster (on an idle machine here the threads were 5-25% faster than the
        # parts; under load the parts or one thread were 2-40x faster). A batch too small
        # to cut has one thread as the other plan.
        self.plans = [(base, 1)]
        if base > 1:
            self.plans.append((1, parts) if parts > 1 else (1, 1))
        self.choice: Plan = self.plans[0]

    def pick(self, batch: int) -> Plan:
        """The plan for the next call on `batch` samples (and advance the schedule)."""
        base = torch.get_num_threads()
        if base != self.base:
            self._reset(base, batch)
        plan = self._next()
        # A smaller batch (an epoch's last) is not cut into parts it cannot fill.
        return plan if plan[1] <= max(1, batch // MIN_PART) else (base, 1)

    def _next(self) -> Plan:
        if len(self.plans) == 1:
            return self.plans[0]
        self.calls += 1
        if self.calls <= self.warmup:
            return self.plans[0]
        if self.queue:
            return self.queue.pop(0)
        ended, self.after = self.after, ""
        if ended == "round":  # its calls have run (and reported their times)
            self._decide()
        elif ended == "look" and self._threads_caught_up():
            return self._start_round()
        elif ended == "look":
            self.remaining, self.hold = self.hold, min(self.hold * 2, self.longest)
        if self.remaining > 0:
            self.remaining -= 1
            return self.choice
        if self.choice == self.plans[0]:
            return self._start_round()
        self.after, self.queue = "look", [self.plans[0]]
        return self.queue.pop(0)

    def _start_round(self) -> Plan:
        first, other = self.plans
        self.times, self.after = {}, "round"
        self.queue = [first, other, other, first, first, other]
        return self.queue.pop(0)

    def _threads_caught_up(self) -> bool:
        """After a look: the call on the threads took no longer than the kept plan's median."""
        threads, kept = self.times.get(self.plans[0]), self.times.get(self.choice)
        return bool(threads and kept) and threads[-1] <= sorted(kept)[len(kept) // 2]

    def _decide(self) -> None:
        chosen = self._fastest()
        if chosen == self.plans[0]:
            self.remaining, self.hold = self.period, self.recheck
        else:
            self.remaining = self.hold
        self.choice = chosen

    def record(self, plan: Plan, seconds: float) -> None:
        self.times.setdefault(plan, []).append(seconds)

    def _fastest(self) -> Plan:
        medians = {p: sorted(ts)[len(ts) // 2] for p, ts in self.times.items() if p in self.plans}
        if len(medians) < len(self.plans):
            return self.plans[0]  # a plan was never timed (its backward did not run)
        best = min(medians, key=lambda p: medians[p])
        return best if medians[best] < self.margin * medians[self.plans[0]] else self.plans[0]


def _pool(workers: int) -> ThreadPoolExecutor:
    with _POOL_LOCK:
        if not _POOL or _POOL[0][0] < workers:
            _POOL[:] = [(workers, ThreadPoolExecutor(workers, thread_name_prefix="lamina-rnn"))]
        return _POOL[0][1]


def _cut(tensors: list[torch.Tensor], dims: Dims, parts: int) -> list[list[torch.Tensor]]:
    """The batch parts of each tensor (shared tensors whole in every part)."""
    batch = next(t.shape[d] for t, d in zip(tensors, dims) if d is not None)
    sizes = [batch // parts + (1 if i < batch % parts else 0) for i in range(parts)]
    cut = [t.split(sizes, dim=d) if d is not None else [t] * parts for t, d in zip(tensors, dims)]
    return [[c[i] for c in cut] for i in range(parts)]


def _side_by_side(work: Callable[[int], Any], parts: int) -> list[Any]:
    """`work(i)` for each part, on the pool's threads, one intra-op thread each."""
    grad, inference = torch.is_grad_enabled(), torch.is_inference_mode_enabled()

    def run(i: int) -> Any:
        with torch.set_grad_enabled(grad), torch.inference_mode(inference):
            return work(i)

    with intra_op_threads(1):
        futures = [_pool(parts).submit(run, i) for i in range(parts)]
        return [f.result() for f in futures]


def _join(results: list[list[torch.Tensor]], dims: Dims) -> list[torch.Tensor]:
    return [torch.cat(parts, dim=d) for parts, d in zip(zip(*results), dims)]


class TunedRecurrence(torch.autograd.Function):
    """`compute(inputs)` run on the tuner's plan, forward and backward."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        compute: Compute,
        tuner: ThreadTuner,
        in_dims: Dims,
        out_dims: Dims,
        *inputs: torch.Tensor,
    ) -> tuple[torch.Tensor, ...]:
        batch = next(t.shape[d] for t, d in zip(inputs, in_dims) if d is not None)
        plan = tuner.pick(batch)
        threads, parts = plan
        start = time.perf_counter()
        if parts == 1:
            inner = [_leaf(t) for t in inputs]
            with intra_op_threads(threads), torch.enable_grad():
                graphs = [(inner, compute(inner))]
        else:
            cut = [[_leaf(t) for t in part] for part in _cut(list(inputs), in_dims, parts)]
            shared = {i: _leaf(t) for i, (t, d) in enumerate(zip(inputs, in_dims)) if d is None}
            cut = [[shared.get(i, t) for i, t in enumerate(part)] for part in cut]
            with torch.enable_grad():
                outs = _side_by_side(lambda i: compute(cut[i]), parts)
            graphs = list(zip(cut, outs))
        ctx.timing = (tuner, plan, time.perf_counter() - start)
        ctx.graphs, ctx.dims = graphs, (in_dims, out_dims)
        if parts == 1:
            return tuple(o.detach() for o in graphs[0][1])
        return tuple(o.detach() for o in _join([o for _, o in graphs], out_dims))

    @staticmethod
    def backward(ctx: Any, *grads: torch.Tensor) -> tuple[Any, ...]:
        tuner, plan, forward_seconds = ctx.timing
        in_dims, out_dims = ctx.dims
        graphs = ctx.graphs
        start = time.perf_counter()
        parts = len(graphs)
        part_grads = _cut(list(grads), out_dims, parts) if parts > 1 else [list(grads)]

        def gradients(i: int) -> list[Any]:
            inner, outputs = graphs[i]
            wanted = [t for t in inner if t.requires_grad]
            # The inner graphs live as long as the outer one (a second backward through a
            # retained graph needs them); they go when the step drops its outputs.
            found = iter(
                torch.autograd.grad(
                    outputs, wanted, part_grads[i], retain_graph=True, allow_unused=True
                )
            )
            return [next(found) if t.requires_grad else None for t in inner]

        if parts == 1:
            with intra_op_threads(plan[0]):
                results = [gradients(0)]
        else:
            results = _side_by_side(gradients, parts)
        tuner.record(plan, forward_seconds + time.perf_counter() - start)
        return (None, None, None, None, *_combine(results, in_dims))


def _leaf(t: torch.Tensor) -> torch.Tensor:
    return t.detach().requires_grad_(t.requires_grad)


def _combine(results: list[list[Any]], dims: Dims) -> list[Any]:
    """Per-part gradients: batch parts concatenated, shared tensors' parts summed."""
    out: list[Any] = []
    for grads, d in zip(zip(*results), dims):
        present = [g for g in grads if g is not None]
        if not present:
            out.append(None)
        elif d is None:
            out.append(sum(present[1:], present[0]))
        else:
            out.append(torch.cat(grads, dim=d))
    return out


def run_tuned(
    tuner: ThreadTuner,
    compute: Compute,
    inputs: list[torch.Tensor],
    in_dims: Dims,
    out_dims: Dims,
) -> list[torch.Tensor]:
    """`compute(inputs)` on the tuner's plan. `in_dims` / `out_dims`: the batch dimension
    of each input and output (None for weights); outputs must be distinct tensors."""
    if torch.get_num_threads() <= 1:
        return compute(inputs)  # one thread asked for: nothing to choose
    if torch.is_autocast_enabled("cpu"):
        return compute(inputs)  # autocast is per thread: keep the call on this one
    if torch.is_grad_enabled() and any(t.requires_grad for t in inputs):
        return list(TunedRecurrence.apply(compute, tuner, in_dims, out_dims, *inputs))
    batch = next(t.shape[d] for t, d in zip(inputs, in_dims) if d is not None)
    plan = tuner.pick(batch)
    threads, parts = plan
    start = time.perf_counter()
    if parts == 1:
        with intra_op_threads(threads):
            outputs = compute(inputs)
    else:
        cut = _cut(inputs, in_dims, parts)
        outputs = _join(_side_by_side(lambda i: compute(cut[i]), parts), out_dims)
    tuner.record(plan, time.perf_counter() - start)
    return outputs
