"""reduced_logs combines each metric variable by its Keras aggregation across ranks.

A fake two-rank group stands in for torch.distributed: all_reduce adds what the other rank
sends (its states after its own zeroing of 'only_first_replica' and 'none').
"""

from __future__ import annotations

import torch

import lamina
from lamina.distributed import reduce


class _TwoRanks:
    def __init__(self, rank: int, other: list[float]) -> None:
        self.rank, self.other = rank, other

    def get_backend(self) -> str:
        return "gloo"

    def get_rank(self) -> int:
        return self.rank

    def get_world_size(self) -> int:
        return 2

    def all_reduce(self, t: torch.Tensor) -> None:
        t.add_(torch.tensor(self.other, dtype=t.dtype))


class _Four(lamina.metrics.Metric):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.s = self.add_variable((), "zeros", aggregation="sum", name="s")
        self.m = self.add_variable((), "zeros", aggregation="mean", name="m")
        self.f = self.add_variable((), "zeros", aggregation="only_first_replica", name="f")
        self.n = self.add_variable((), "zeros", aggregation="none", name="n")

    def update_state(self, value):
        for v in (self.s, self.m, self.f, self.n):
            v.assign_add(value)

    def result(self):
        return self.s * 1000 + self.m * 100 + self.f * 10 + self.n


def test_each_aggregation_combines_as_keras_says(monkeypatch):
    metric = _Four(name="four")
    metric.update_state(torch.tensor(1.0))
    # states s, m, f, n = 1 on both ranks; rank 1 sends s=3, m=3 (it saw more), f, n zeroed
    monkeypatch.setattr(reduce, "_dist", lambda: _TwoRanks(0, [3.0, 3.0, 0.0, 0.0]))
    # sum: 1 + 3; mean: (1 + 3) / 2; first replica: rank 0's 1; none: the local 1
    assert reduce.reduced_logs([metric]) == {"four": 4000 + 200 + 10 + 1}
    # on rank 1, rank 0 sends its first-replica value 5 (and zero for 'none')
    monkeypatch.setattr(reduce, "_dist", lambda: _TwoRanks(1, [3.0, 3.0, 5.0, 0.0]))
    assert reduce.reduced_logs([metric]) == {"four": 4000 + 200 + 50 + 1}
    assert float(metric.result()) == 1111  # the local states are put back
