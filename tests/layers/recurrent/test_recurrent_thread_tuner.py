"""The fused kernels' thread count: the tuner's schedule and choice (fed times), and the
tuned forward/backward giving the same values and gradients as the kernels themselves."""

from __future__ import annotations

import pytest
import torch

from lamina.layers import LSTM, Bidirectional
from lamina.layers.recurrent import fused
from lamina.layers.recurrent.thread_tuner import ThreadTuner, intra_op_threads, run_tuned


@pytest.fixture
def two_threads():
    with intra_op_threads(2):
        yield


def _schedule(tuner: ThreadTuner, calls: int, cost: dict[int, float]) -> list[int]:
    picked = []
    for _ in range(calls):
        n = tuner.pick()
        tuner.record(n, cost[n])
        picked.append(n)
    return picked


def test_the_tuner_measures_both_counts_then_keeps_the_faster(two_threads):
    tuner = ThreadTuner()
    tuner.period = 4
    w = tuner.warmup
    picked = _schedule(tuner, w + 6 + 4 + 6 + 4, {2: 0.05, 1: 0.02})
    assert picked[:w] == [2] * w  # warm-up on the process's count
    assert picked[w : w + 6] == [2, 1, 2, 1, 2, 1]  # measuring
    assert picked[w + 6 : w + 10] == [1] * 4  # one thread measured faster
    assert picked[w + 10 : w + 16] == [2, 1, 2, 1, 2, 1]  # measured again after `period` calls
    slower = ThreadTuner()
    _schedule(slower, 40, {2: 0.01, 1: 0.03})
    assert slower.choice == 2
    close = ThreadTuner()  # within the margin: the process's count stays
    _schedule(close, 40, {2: 0.0100, 1: 0.0095})
    assert close.choice == 2


def test_a_candidate_never_timed_keeps_the_process_count(two_threads):
    tuner = ThreadTuner()
    for _ in range(tuner.warmup + 7):
        tuner.pick()  # no record: e.g. backward passes that never ran
    assert tuner.choice == 2


def test_one_thread_needs_no_tuning():
    with intra_op_threads(1):
        tuner = ThreadTuner()
        assert [tuner.pick() for _ in range(10)] == [1] * 10


def test_intra_op_threads_restores_the_count():
    before = torch.get_num_threads()
    with intra_op_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_tuned_kernels_give_the_kernels_values_and_gradients(kind, two_threads):
    """Float64 finite differences through the tuned forward/backward, on both counts."""
    torch.manual_seed(0)
    gates = 4 if kind == "lstm" else 3
    n_states = 2 if kind == "lstm" else 1
    x = torch.randn(2, 5, 3, dtype=torch.float64, requires_grad=True)
    states = [torch.randn(2, 4, dtype=torch.float64, requires_grad=True) for _ in range(n_states)]
    params = [
        torch.randn(gates * 4, 3, dtype=torch.float64, requires_grad=True),
        torch.randn(gates * 4, 4, dtype=torch.float64, requires_grad=True),
        torch.randn(gates * 4, dtype=torch.float64, requires_grad=True),
        torch.randn(gates * 4, dtype=torch.float64, requires_grad=True),
    ]
    tuner = ThreadTuner()
    tuner.warmup = 0

    def compute(inputs):
        out, finals = fused.run(
            kind,
            inputs[0],
            None,
            inputs[1 : 1 + n_states],
            inputs[1 + n_states :],
            False,
            True,
            False,
        )
        return [out, *finals]

    def tuned(*inputs):
        return tuple(run_tuned(tuner, compute, list(inputs)))

    inputs = (x, *states, *params)
    for got, want in zip(tuned(*inputs), compute(list(inputs))):
        torch.testing.assert_close(got, want)
    assert torch.autograd.gradcheck(tuned, inputs, eps=1e-6, atol=1e-6, rtol=1e-4)
    assert set(tuner.times) == {1, 2}  # both counts ran (and were timed)


def test_a_layer_trains_the_same_on_either_count(two_threads):
    torch.manual_seed(0)
    layer = Bidirectional(LSTM(4, return_sequences=True))
    x = torch.randn(3, 6, 2)
    layer(x)
    grads = []
    for _ in range(16):  # through warm-up, both counts, and the choice
        layer.zero_grad()
        layer(x).square().sum().backward()
        grads.append([p.grad.clone() for p in layer.parameters()])
    for step in grads[1:]:
        for a, b in zip(grads[0], step):
            torch.testing.assert_close(b, a)
    assert set(layer._tuners[True].times) == {1, 2}
