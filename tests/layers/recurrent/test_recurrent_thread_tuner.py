"""How the fused kernels use the cores: the tuner's schedule and choice (fed times), and
every plan (intra-op threads, one thread, batch parts side by side) giving the kernels'
own values and gradients."""

from __future__ import annotations

import pytest
import torch

from lamina.layers import GRU, LSTM, Bidirectional
from lamina.layers.recurrent import fused
from lamina.layers.recurrent.thread_tuner import ThreadTuner, intra_op_threads, run_tuned


@pytest.fixture
def two_threads():
    with intra_op_threads(2):
        yield


def _schedule(tuner: ThreadTuner, calls: int, cost: dict, batch: int = 64) -> list:
    picked = []
    for _ in range(calls):
        plan = tuner.pick(batch)
        tuner.record(plan, cost[plan])
        picked.append(plan)
    return picked


def test_the_tuner_measures_both_plans_then_keeps_the_faster(two_threads):
    tuner = ThreadTuner()
    tuner.period, tuner.recheck = 4, 3
    w = tuner.warmup
    round_ = [(2, 1), (1, 2), (1, 2), (2, 1), (2, 1), (1, 2)]  # both orders: drift cancels
    loaded = {(2, 1): 0.05, (1, 2): 0.03}
    picked = _schedule(tuner, w + 6 + 3 + 1 + 3 + 1 + 6, loaded)
    assert picked[:w] == [(2, 1)] * w  # warm-up: the default, the process's threads
    assert picked[w : w + 6] == round_
    assert picked[w + 6 : w + 9] == [(1, 2)] * 3  # the halves measured faster: `recheck` calls
    assert picked[w + 9] == (2, 1)  # one look at the threads: still slower...
    assert picked[w + 10 : w + 13] == [(1, 2)] * 3
    assert picked[w + 13] == (2, 1)
    assert picked[w + 14 :] == [(1, 2)] * 6  # ...kept twice as long
    quiet = {(2, 1): 0.02, (1, 2): 0.03}  # the load went away
    picked = _schedule(tuner, 1 + 6 + 4, quiet)
    assert picked[0] == (2, 1) and picked[1:7] == round_  # the look caught up: a full round
    assert picked[7:] == [(2, 1)] * 4  # back on the threads
    assert tuner.pick(20) == (2, 1)  # a batch too small to cut runs whole
    small = ThreadTuner()  # a batch too small to cut: one thread is the other plan
    picked = _schedule(small, w + 8, {(2, 1): 0.05, (1, 1): 0.02}, batch=20)
    assert (1, 1) in picked and small.choice == (1, 1)


def test_the_default_plan_stays_unless_the_other_is_clearly_faster(two_threads):
    close = ThreadTuner()
    _schedule(close, 40, {(2, 1): 0.0100, (1, 2): 0.0085})
    assert close.choice == (2, 1)
    never_timed = ThreadTuner()
    for _ in range(never_timed.warmup + 10):
        never_timed.pick(64)  # no record: e.g. backward passes that never ran
    assert never_timed.choice == (2, 1)


def test_one_thread_asked_for_is_kept():
    with intra_op_threads(1):
        tuner = ThreadTuner()
        assert {tuner.pick(64) for _ in range(20)} == {(1, 1)}


def test_intra_op_threads_restores_the_count():
    before = torch.get_num_threads()
    with intra_op_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("masked", [False, True])
def test_every_plan_gives_the_kernels_values_and_gradients(kind, masked, two_threads):
    """Float64 finite differences through the tuned forward/backward, on each plan in
    turn (the batch of 32 is cut in two parts of 16)."""
    torch.manual_seed(0)
    gates = 4 if kind == "lstm" else 3
    n = 2 if kind == "lstm" else 1
    x = torch.randn(32, 4, 3, dtype=torch.float64, requires_grad=True)
    states = [torch.randn(32, 2, dtype=torch.float64, requires_grad=True) for _ in range(n)]
    params = [
        torch.randn(gates * 2, 3, dtype=torch.float64, requires_grad=True),
        torch.randn(gates * 2, 2, dtype=torch.float64, requires_grad=True),
        torch.randn(gates * 2, dtype=torch.float64, requires_grad=True),
        torch.randn(gates * 2, dtype=torch.float64, requires_grad=True),
    ]
    mask = (torch.arange(4) < torch.randint(0, 5, (32, 1))) if masked else None
    tuner = ThreadTuner()
    tuner.warmup = 0

    m = int(masked)

    def compute(inputs):
        part_mask = inputs[1] if masked else None
        rest = inputs[1 + m :]
        out, finals = fused.run(kind, inputs[0], part_mask, rest[:n], rest[n:], False, True, False)
        return [out, *finals]

    def direct(*inputs):
        return tuple(compute([inputs[0], *([mask] if masked else []), *inputs[1:]]))

    def tuned(*inputs):
        full = [inputs[0], *([mask] if masked else []), *inputs[1:]]
        dims = [0] * (1 + m + n) + [None] * 4
        return tuple(run_tuned(tuner, compute, full, dims, [0] * (1 + n)))

    inputs = (x, *states, *params)
    for _ in range(6):  # a round: each plan three times, forward and backward
        got = tuned(*inputs)
        for g, want in zip(got, direct(*inputs)):
            torch.testing.assert_close(g, want)
        sum(g.sum() for g in got).backward()
    assert set(tuner.times) == {(2, 1), (1, 2)}
    tuner.choice, tuner.remaining, tuner.deciding = (1, 2), 10**6, False  # the halves from here
    assert torch.autograd.gradcheck(tuned, inputs, eps=1e-6, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize(
    "make", [lambda: Bidirectional(LSTM(4, return_sequences=True)), lambda: GRU(4)]
)
def test_a_layer_trains_the_same_on_every_plan(make, two_threads):
    torch.manual_seed(0)
    layer = make()
    x = torch.randn(40, 6, 2)
    layer(x)
    grads = []
    for _ in range(20):  # through warm-up, every plan, and the choice
        layer.zero_grad()
        layer(x).square().sum().backward()
        grads.append([p.grad.clone() for p in layer.parameters()])
    for step in grads[1:]:
        for a, b in zip(grads[0], step):
            torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)
    # Bidirectional(LSTM) on the CPU runs each direction on Lamina's kernel, tuned by the
    # direction's own layer; other layers tune their own call
    inner = [getattr(layer, name, None) for name in ("forward_layer", "backward_layer")]
    tuners = [layer._tuners[True]] + [sub._tuners[True] for sub in inner if sub is not None]
    assert any(len(getattr(tuner, "times", {})) == 2 for tuner in tuners)
    with torch.no_grad():  # inference: the plans without autograd
        outputs = [layer(x) for _ in range(20)]
    for out in outputs[1:]:
        torch.testing.assert_close(out, outputs[0])
