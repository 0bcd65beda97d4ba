"""The Metric contract: Mean, Sum, and states that sum over ranks, detach and trace."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from metric_batches import softmax, split

from lamina import metrics

RNG = np.random.default_rng(1)


def test_mean_and_sum():
    values = RNG.normal(size=20)
    w = RNG.uniform(0, 2, 20)
    m, s = metrics.Mean(dtype="float64"), metrics.Sum(dtype="float64")
    for v, ww in split(values, w):
        m.update_state(torch.as_tensor(v), sample_weight=torch.as_tensor(ww))
        s.update_state(v, sample_weight=ww)
    assert m.result().item() == pytest.approx((values * w).sum() / w.sum(), rel=1e-12)
    assert s.result().item() == pytest.approx((values * w).sum(), rel=1e-12)
    # the engine's use: one loss per batch, weighted by the batch size (a Python int)
    tracker = metrics.Mean(name="loss")
    for loss, size in [(2.0, 32), (4.0, 32), (1.0, 8)]:
        tracker.update_state(torch.tensor(loss, requires_grad=True) * 1.0, sample_weight=size)
    assert tracker.result().item() == pytest.approx((2 * 32 + 4 * 32 + 8) / 72)
    assert not tracker.result().requires_grad
    tracker.reset_state()
    assert tracker.result().item() == 0.0 and tracker.name == "loss"
    # (N, T) values: per-sample means first, then the mean over samples
    seq = RNG.normal(size=(4, 6))
    m = metrics.Mean(dtype="float64")
    m.update_state(seq, sample_weight=np.array([1.0, 0.0, 2.0, 1.0]))
    assert m.result().item() == pytest.approx((seq.mean(1) * [1, 0, 2, 1]).sum() / 4, rel=1e-12)


def _fresh_pairs():
    n = 40
    labels = RNG.integers(0, 3, n)
    probs = softmax(RNG.normal(size=(n, 3)) + np.eye(3)[labels])
    w = RNG.uniform(0, 2, n)
    return [
        (lambda: metrics.Mean(), lambda sl: (probs[sl, 0],)),
        (lambda: metrics.CategoricalAccuracy(), lambda sl: (np.eye(3)[labels[sl]], probs[sl])),
        (lambda: metrics.SparseTopKCategoricalAccuracy(k=2), lambda sl: (labels[sl], probs[sl])),
        (lambda: metrics.RootMeanSquaredError(), lambda sl: (np.eye(3)[labels[sl]], probs[sl])),
        (
            lambda: metrics.Precision(thresholds=[0.3, 0.6]),
            lambda sl: (labels[sl] == 1, probs[sl, 1]),
        ),
        (lambda: metrics.AUC(), lambda sl: (labels[sl] == 1, probs[sl, 1])),
        (lambda: metrics.AUC(curve="PR"), lambda sl: (labels[sl] == 1, probs[sl, 1])),
        (
            lambda: metrics.F1Score(average="weighted"),
            lambda sl: (np.eye(3)[labels[sl]], probs[sl]),
        ),
    ], w


def test_state_tensors_summed_over_ranks_equal_one_metric():
    pairs, w = _fresh_pairs()
    for make, args in pairs:
        whole, rank0, rank1 = make(), make(), make()
        whole.update_state(*args(slice(0, 40)), sample_weight=w)
        rank0.update_state(*args(slice(0, 17)), sample_weight=w[:17])
        rank1.update_state(*args(slice(17, 40)), sample_weight=w[17:])
        for a, b in zip(rank0.state_tensors(), rank1.state_tensors()):
            a.add_(b)  # what all_reduce(SUM) does in place
        torch.testing.assert_close(rank0.result(), whole.result(), rtol=1e-5, atol=1e-6)
        assert len(whole.state_tensors()) >= 1


def test_update_state_detaches_and_moves_states():
    m = metrics.AUC()
    y_pred = torch.rand(8, requires_grad=True)
    m.update_state((torch.rand(8) > 0.5).float(), y_pred * 1.0)
    assert all(not t.requires_grad for t in m.state_tensors())
    assert m.to("cpu") is m and all(t.device.type == "cpu" for t in m.state_tensors())


def test_states_stay_normal_tensors_under_inference_mode():
    # evaluate() runs under inference_mode; all_reduce later updates the states in place.
    for m in (metrics.Mean(), metrics.F1Score(), metrics.AUC(multi_label=True)):
        with torch.inference_mode():
            m.reset_state()
            if isinstance(m, metrics.Mean):
                m.update_state(torch.tensor([1.0, 3.0]))
            else:
                m.update_state(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.8, 0.3]]))
        before = [t.clone() for t in m.state_tensors()]
        for t in m.state_tensors():
            assert not t.is_inference()
            t.add_(t)  # what all_reduce(SUM) over two equal ranks does
        for t, b in zip(m.state_tensors(), before):
            torch.testing.assert_close(t, 2 * b)


def test_update_state_traces_under_torch_compile_without_graph_breaks():
    # fullgraph=True proves there is no .item(), host sync or data-dependent branching.
    eager = [
        metrics.Mean(),
        metrics.SparseCategoricalAccuracy(),
        metrics.AUC(),
        metrics.Precision(),
    ]
    compiled = [
        metrics.Mean(),
        metrics.SparseCategoricalAccuracy(),
        metrics.AUC(),
        metrics.Precision(),
    ]

    def step(ms, y, p, loss):
        ms[0].update_state(loss, sample_weight=8)
        ms[1].update_state(y, p)
        ms[2].update_state((y == 1).float(), p[:, 1])
        ms[3].update_state((y == 1).float(), p[:, 1])

    fn = torch.compile(step, backend="aot_eager", fullgraph=True)
    for i in range(2):
        y, p = torch.randint(0, 3, (8,)), torch.softmax(torch.randn(8, 3), -1)
        step(eager, y, p, torch.tensor(1.0 + i))
        fn(compiled, y, p, torch.tensor(1.0 + i))
    for a, b in zip(eager, compiled):
        torch.testing.assert_close(a.result(), b.result())
