"""How many threads the fused recurrent kernels use, chosen by measuring them.

A fused LSTM runs one small matrix product per time step (64 x 128 by 128 x 512 for the
benchmark's LSTM(128)), each split across the intra-op threads and closed by a barrier.
When another process holds a core of a small machine, the threads wait for each other
at every barrier: on this 2-core machine a training step of that LSTM took 0.2-1.3 s on
2 threads against 45-70 ms on 1 (2026-12-06), while on an idle machine 2 threads were
about 1.4x faster than 1. Which one wins depends on the moment, so each layer measures:
its kernels (forward and backward) run with the process's thread count and with one
thread, a few calls each, the faster is kept, and the measurement is repeated every
`period` calls, since the machine's load changes. Only the recurrence itself is
affected; the rest of the step keeps the process's threads.

`TunedRecurrence` carries the thread count into the backward pass: its forward runs
the kernels with autograd on detached inputs and its backward takes the gradients of
that inner graph (the pattern of a reentrant checkpoint), each under the chosen count.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch

Compute = Callable[[list[torch.Tensor]], list[torch.Tensor]]


@contextmanager
def intra_op_threads(count: int) -> Iterator[None]:
    """torch's intra-op thread count set to `count` for the block (restored after)."""
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
    """Per layer and mode: picks the thread count for each call from measured times."""

    warmup = 5  # first calls (allocations, oneDNN's primitive cache, the fit's start): untimed
    probes = 3  # timed calls per candidate in a round of measurements
    period = 64  # calls between rounds
    margin = 0.9  # another count must beat the process's by 10% (timing noise is not load)

    def __init__(self) -> None:
        self.base = 0  # the process's thread count when the candidates were set
        self.calls = 0
        self.times: dict[int, list[float]] = {}
        self.choice = 0

    def candidates(self) -> list[int]:
        return [self.base, 1] if self.base > 1 else [self.base]

    def pick(self) -> int:
        """The thread count for the next call (and advance the schedule)."""
        base = torch.get_num_threads()
        if base != self.base:  # a new fit set another pool size: start over
            self.base, self.calls, self.times, self.choice = base, 0, {}, base
        if base <= 1:
            return base
        step = self.calls
        self.calls += 1
        if step < self.warmup:
            return base
        cycle = 2 * self.probes + self.period
        position = (step - self.warmup) % cycle
        if position < 2 * self.probes:  # measuring: alternate the candidates
            if position == 0:
                self.times = {}
            return self.candidates()[position % 2]
        if position == 2 * self.probes:
            self.choice = self._fastest()
        return self.choice

    def record(self, threads: int, seconds: float) -> None:
        self.times.setdefault(threads, []).append(seconds)

    def _fastest(self) -> int:
        medians = {
            n: sorted(ts)[len(ts) // 2] for n, ts in self.times.items() if n in self.candidates()
        }
        if len(medians) < len(self.candidates()):
            return self.base  # a candidate was never timed (its backward did not run)
        best = min(medians, key=lambda n: (medians[n], -n))
        return best if medians[best] < self.margin * medians[self.base] else self.base


class TunedRecurrence(torch.autograd.Function):
    """`compute(inputs)` with its forward and backward under the tuner's thread count."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, compute: Compute, tuner: ThreadTuner, *inputs: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        threads = tuner.pick()
        inner = [t.detach().requires_grad_(t.requires_grad) for t in inputs]
        start = time.perf_counter()
        with intra_op_threads(threads), torch.enable_grad():
            outputs = compute(inner)
        ctx.timing = (tuner, threads, time.perf_counter() - start)
        ctx.inner = (inner, outputs)
        # One output per distinct tensor (a layer's last output is its final state).
        return tuple(o.detach() for o in outputs)

    @staticmethod
    def backward(ctx: Any, *grads: torch.Tensor) -> tuple[Any, ...]:
        tuner, threads, forward_seconds = ctx.timing
        inner, outputs = ctx.inner
        wanted = [t for t in inner if t.requires_grad]
        start = time.perf_counter()
        with intra_op_threads(threads):
            # The inner graph lives as long as the outer one (a second backward through a
            # retained graph needs it); it goes when the step drops its outputs.
            found = iter(
                torch.autograd.grad(outputs, wanted, grads, retain_graph=True, allow_unused=True)
            )
        tuner.record(threads, forward_seconds + time.perf_counter() - start)
        return (None, None, *[next(found) if t.requires_grad else None for t in inner])


def run_tuned(
    tuner: ThreadTuner, compute: Compute, inputs: list[torch.Tensor]
) -> list[torch.Tensor]:
    """`compute(inputs)` under the tuner's thread count (outputs must be distinct tensors)."""
    if torch.get_num_threads() <= 1:
        return compute(inputs)
    if torch.is_grad_enabled() and any(t.requires_grad for t in inputs):
        return list(TunedRecurrence.apply(compute, tuner, *inputs))
    threads = tuner.pick()
    start = time.perf_counter()
    with intra_op_threads(threads):
        outputs = compute(inputs)
    tuner.record(threads, time.perf_counter() - start)
    return outputs
