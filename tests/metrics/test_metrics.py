"""Metrics against NumPy over several batches, with weights; resolution; distributed sums."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lamina import losses, metrics

RNG = np.random.default_rng(1)
C = 5


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _batches(metric, batches):
    for args, sw in batches:
        metric.update_state(*args, sample_weight=sw)
    return metric.result()


def _split(*arrays, sizes=(6, 9, 5)):
    """Cut aligned arrays into batches of the given sizes."""
    out, start = [], 0
    for n in sizes:
        out.append([a[start : start + n] for a in arrays])
        start += n
    return out


def _wmean(values: np.ndarray, w: np.ndarray | None) -> float:
    return float(values.mean()) if w is None else float((values * w).sum() / w.sum())


@pytest.mark.parametrize("weighted", [False, True])
def test_accuracy_family_matches_numpy(weighted):
    n = 20
    labels = RNG.integers(0, C, n)
    probs = _softmax(RNG.normal(size=(n, C)) * 2)
    onehot = np.eye(C)[labels]
    w = RNG.uniform(0, 2, n) if weighted else None
    bin_true = RNG.integers(0, 2, (n, 1)).astype(np.float32)
    bin_pred = RNG.uniform(size=(n, 1))
    top2 = np.argsort(-probs, -1)[:, :2]
    cases = [
        (metrics.CategoricalAccuracy(), (onehot, probs), probs.argmax(-1) == labels),
        (metrics.SparseCategoricalAccuracy(), (labels, probs), probs.argmax(-1) == labels),
        (
            metrics.SparseCategoricalAccuracy(),
            (labels[:, None].astype(np.float32), probs),
            probs.argmax(-1) == labels,
        ),
        (metrics.TopKCategoricalAccuracy(k=2), (onehot, probs), (top2 == labels[:, None]).any(-1)),
        (
            metrics.SparseTopKCategoricalAccuracy(k=2),
            (labels, probs),
            (top2 == labels[:, None]).any(-1),
        ),
        (metrics.BinaryAccuracy(), (bin_true, bin_pred), (bin_pred > 0.5)[:, 0] == bin_true[:, 0]),
        (
            metrics.BinaryAccuracy(threshold=0.7),
            (bin_true[:, 0], bin_pred),
            (bin_pred > 0.7)[:, 0] == bin_true[:, 0],
        ),
        (metrics.Accuracy(), (labels, (labels + (probs[:, 0] > 0.3)) % C), (probs[:, 0] <= 0.3)),
    ]
    for metric, (yt, yp), correct in cases:
        arrays = [yt, yp] + ([w] if weighted else [])
        batches = [
            (
                (torch.as_tensor(b[0]), torch.as_tensor(b[1])),
                torch.as_tensor(b[2]) if weighted else None,
            )
            for b in _split(*arrays)
        ]
        got = _batches(metric, batches).item()
        assert got == pytest.approx(_wmean(correct.astype(float), w), abs=1e-6), metric


def test_multi_output_binary_accuracy_averages_elements():
    yt = RNG.integers(0, 2, (12, 3))
    yp = RNG.uniform(size=(12, 3))
    w = RNG.uniform(0, 2, 12)
    m = metrics.BinaryAccuracy()
    got = _batches(
        m,
        [
            ((torch.as_tensor(a), torch.as_tensor(b)), torch.as_tensor(c))
            for a, b, c in _split(yt, yp, w, sizes=(5, 7))
        ],
    )
    per_sample = ((yp > 0.5) == yt).mean(-1)
    assert got.item() == pytest.approx(_wmean(per_sample, w), abs=1e-6)


@pytest.mark.parametrize("weighted", [False, True])
def test_regression_metrics_match_numpy(weighted):
    n = 20
    yt, yp = RNG.normal(size=(n, 3)), RNG.normal(size=(n, 3))
    w = RNG.uniform(0, 2, n) if weighted else None
    err = yp - yt
    expected = {
        metrics.MeanSquaredError: _wmean((err**2).mean(-1), w),
        metrics.MeanAbsoluteError: _wmean(np.abs(err).mean(-1), w),
        metrics.RootMeanSquaredError: np.sqrt(_wmean((err**2).mean(-1), w)),
        metrics.MeanAbsolutePercentageError: _wmean(100 * np.abs(err / yt).mean(-1), w),
    }
    for cls, value in expected.items():
        m = cls(dtype="float64")
        arrays = [yt, yp] + ([w] if weighted else [])
        for b in _split(*arrays):
            m.update_state(
                torch.as_tensor(b[0]),
                torch.as_tensor(b[1]),
                sample_weight=b[2] if weighted else None,
            )
        assert m.result().item() == pytest.approx(value, rel=1e-10), cls


def test_mean_and_sum():
    values = RNG.normal(size=20)
    w = RNG.uniform(0, 2, 20)
    m, s = metrics.Mean(dtype="float64"), metrics.Sum(dtype="float64")
    for v, ww in _split(values, w):
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


def test_crossentropy_metrics_match_losses():
    labels = RNG.integers(0, C, 12)
    probs = _softmax(RNG.normal(size=(12, C)))
    w = RNG.uniform(0, 2, 12)
    m = metrics.SparseCategoricalCrossentropy(dtype="float64")
    m.update_state(labels, probs, sample_weight=w)
    per = losses.sparse_categorical_crossentropy(labels, torch.as_tensor(probs)).numpy()
    assert m.result().item() == pytest.approx(_wmean(per, w), rel=1e-10)
    m = metrics.get("crossentropy", loss="categorical_crossentropy")
    assert isinstance(m, metrics.CategoricalCrossentropy) and m.name == "crossentropy"


# ---- confusion metrics


def _np_counts(y, s, w, thr):
    pred = s[None, :] > np.asarray(thr)[:, None]
    pos, neg = (y != 0) * w, (y == 0) * w
    tp, fp = (pred * pos).sum(1), (pred * neg).sum(1)
    return tp, fp, neg.sum() - fp, pos.sum() - tp


def test_precision_recall_match_numpy():
    n = 30
    y = RNG.integers(0, 2, (n, 3))
    s = RNG.uniform(size=(n, 3))
    w = RNG.uniform(0, 2, n)
    thr = [0.2, 0.5, 0.8]
    tp, fp, _, fn = _np_counts(y.ravel(), s.ravel(), np.repeat(w, 3), thr)
    p, r = metrics.Precision(thresholds=thr), metrics.Recall(thresholds=thr)
    for a, b, c in _split(y, s, w, sizes=(10, 12, 8)):
        p.update_state(a, torch.as_tensor(b), sample_weight=c)
        r.update_state(torch.as_tensor(a), b, sample_weight=torch.as_tensor(c))
    np.testing.assert_allclose(p.result().numpy(), tp / (tp + fp), rtol=1e-5)
    np.testing.assert_allclose(r.result().numpy(), tp / (tp + fn), rtol=1e-5)
    # default threshold 0.5, one class, scalar result
    p1 = metrics.Precision(class_id=1)
    p1.update_state(y, s)
    tp, fp, _, _ = _np_counts(y[:, 1], s[:, 1], np.ones(n), [0.5])
    assert p1.result().ndim == 0 and p1.result().item() == pytest.approx(
        (tp / (tp + fp))[0], rel=1e-6
    )
    # top_k=1: only the highest score of each row counts as predicted positive
    rk = metrics.Recall(top_k=1)
    rk.update_state(y, s)
    top = s == s.max(-1, keepdims=True)
    assert rk.result().item() == pytest.approx((top & (y == 1)).sum() / (y == 1).sum(), rel=1e-6)
    # no positives predicted -> 0, not NaN
    empty = metrics.Precision()
    empty.update_state([1, 0], [0.1, 0.2])
    assert empty.result().item() == 0.0


def _np_exact_auc(y, s, w):
    """Weighted Mann-Whitney statistic: P(score_pos > score_neg) + 0.5 P(tie)."""
    pos, neg = y == 1, y == 0
    sp, sn, wp, wn = s[pos], s[neg], w[pos], w[neg]
    gt = (sp[:, None] > sn[None, :]) + 0.5 * (sp[:, None] == sn[None, :])
    return float((wp[:, None] * wn[None, :] * gt).sum() / (wp.sum() * wn.sum()))


def _np_keras_auc(y, s, w, num=200, curve="ROC", method="interpolation"):
    thr = [-1e-7] + [(i + 1) / (num - 1) for i in range(num - 2)] + [1 + 1e-7]
    tp, fp, tn, fn = _np_counts(y, s, w, thr)
    div = lambda a, b: np.where(b > 0, a / np.where(b > 0, b, 1), 0.0)  # noqa: E731
    if curve == "PR" and method == "interpolation":
        dtp, p = tp[:-1] - tp[1:], tp + fp
        dp = p[:-1] - p[1:]
        slope = div(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        ratio = np.where((p[:-1] > 0) & (p[1:] > 0), div(p[:-1], np.maximum(p[1:], 0)), 1.0)
        return float(
            div(slope * (dtp + intercept * np.log(ratio)), np.maximum(tp[1:] + fn[1:], 0)).sum()
        )
    recall = div(tp, tp + fn)
    x, yv = (div(fp, fp + tn), recall) if curve == "ROC" else (recall, div(tp, tp + fp))
    h = {
        "interpolation": (yv[:-1] + yv[1:]) / 2,
        "minoring": np.minimum(yv[:-1], yv[1:]),
        "majoring": np.maximum(yv[:-1], yv[1:]),
    }[method]
    return float(((x[:-1] - x[1:]) * h).sum())


def _auc_data(n=600):
    y = RNG.integers(0, 2, n)
    s = np.clip(_sigmoid_np(RNG.normal(size=n) + 1.2 * (2 * y - 1)), 0, 1)
    return y, s, RNG.uniform(0.2, 2, n)


def _sigmoid_np(z):
    return 1 / (1 + np.exp(-z))


def test_auc_roc_matches_exact_auc_and_keras_formula():
    y, s, w = _auc_data()
    m = metrics.AUC(dtype="float64")
    for a, b, c in _split(y, s, w, sizes=(200, 250, 150)):
        m.update_state(torch.as_tensor(a), torch.as_tensor(b), sample_weight=torch.as_tensor(c))
    got = m.result().item()
    assert got == pytest.approx(_np_exact_auc(y, s, w), abs=1e-2)
    assert got == pytest.approx(_np_keras_auc(y, s, w), abs=1e-9)
    # float32 states (the default) agree closely too
    m32 = metrics.AUC()
    m32.update_state(y, s, sample_weight=w)
    assert m32.result().item() == pytest.approx(got, abs=1e-4)


@pytest.mark.parametrize(
    "curve,method",
    [("ROC", "minoring"), ("ROC", "majoring"), ("PR", "interpolation"), ("PR", "majoring")],
)
def test_auc_other_curves_and_summations(curve, method):
    y, s, w = _auc_data(300)
    m = metrics.AUC(curve=curve, summation_method=method, dtype="float64")
    m.update_state(y, s, sample_weight=w)
    assert m.result().item() == pytest.approx(_np_keras_auc(y, s, w, 200, curve, method), abs=1e-9)


def test_auc_keras_example_custom_thresholds_logits_and_multilabel():
    # Keras's documented example
    m = metrics.AUC(num_thresholds=3)
    m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    assert m.result().item() == pytest.approx(0.75)
    m.reset_state()
    m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9], sample_weight=[1, 0, 0, 1])
    assert m.result().item() == pytest.approx(1.0)
    # explicit thresholds (direct comparison) == evenly spaced ones (bucketing)
    y, s, w = _auc_data(200)
    even = metrics.AUC(num_thresholds=11, dtype="float64")
    explicit = metrics.AUC(thresholds=[i / 10 + 0.0 for i in range(1, 10)], dtype="float64")
    assert not explicit._evenly
    for mm in (even, explicit):
        mm.update_state(y, s, sample_weight=w)
    assert explicit.result().item() == pytest.approx(even.result().item(), abs=1e-12)
    # from_logits applies a sigmoid
    z = np.log(s / (1 - s + 1e-12) + 1e-12)
    lg = metrics.AUC(from_logits=True, dtype="float64")
    lg.update_state(y, z, sample_weight=w)
    assert lg.result().item() == pytest.approx(_np_keras_auc(y, _sigmoid_np(z), w), abs=1e-9)
    # multi_label: the mean of per-label AUCs
    y2 = np.stack([y, 1 - y], 1)
    s2 = np.stack([s, RNG.uniform(size=len(s))], 1)
    ml = metrics.AUC(multi_label=True, dtype="float64")
    ml.update_state(y2, s2)
    ones = np.ones(len(s))
    want = np.mean([_np_keras_auc(y2[:, j], s2[:, j], ones) for j in range(2)])
    assert ml.result().item() == pytest.approx(want, abs=1e-9)


def _np_f1(y, pred, w, average):
    w = np.ones(len(y)) if w is None else w
    tp = ((pred * y) * w[:, None]).sum(0)
    fp = ((pred * (1 - y)) * w[:, None]).sum(0)
    fn = (((1 - pred) * y) * w[:, None]).sum(0)
    if average == "micro":
        tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
    f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1e-12), 0.0)
    if average == "weighted":
        support = (y * w[:, None]).sum(0)
        return (f1 * support / support.sum()).sum()
    return f1.mean() if average else f1


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
def test_f1_score_matches_numpy(average):
    labels = RNG.integers(0, 3, 40)
    y = np.eye(3)[labels]
    probs = _softmax(RNG.normal(size=(40, 3)) + 1.5 * y)
    w = RNG.uniform(0, 2, 40)
    m = metrics.F1Score(average=average, dtype="float64")
    for a, b, c in _split(y, probs, w, sizes=(15, 25)):
        m.update_state(a, b, sample_weight=c)
    pred = (probs == probs.max(-1, keepdims=True)).astype(float)
    np.testing.assert_allclose(m.result().numpy(), _np_f1(y, pred, w, average), atol=1e-6)
    mt = metrics.F1Score(average=average, threshold=0.4, dtype="float64")
    mt.update_state(y, probs)
    np.testing.assert_allclose(
        mt.result().numpy(), _np_f1(y, (probs > 0.4).astype(float), None, average), atol=1e-6
    )


# ---- resolution


def test_accuracy_resolution_rule_keeps_user_name():
    cases = [
        ("accuracy", "binary_crossentropy", (None, 1), metrics.BinaryAccuracy),
        ("accuracy", losses.BinaryCrossentropy(), (None, 3), metrics.BinaryAccuracy),
        ("acc", "sparse_categorical_crossentropy", (None, 10), metrics.SparseCategoricalAccuracy),
        ("accuracy", losses.CategoricalCrossentropy(), (None, 10), metrics.CategoricalAccuracy),
        ("accuracy", "mse", (None, 1), metrics.BinaryAccuracy),
        ("accuracy", "mse", (None, 4), metrics.CategoricalAccuracy),
        ("accuracy", None, None, metrics.Accuracy),
    ]
    for ident, loss, shape, cls in cases:
        m = metrics.get(ident, loss=loss, output_shape=shape)
        assert type(m) is cls and m.name == ident, (ident, loss, shape, m)
    # logits: BinaryAccuracy thresholds at 0 (= sigmoid 0.5)
    m = metrics.get("accuracy", loss=losses.BinaryCrossentropy(from_logits=True))
    m.update_state(torch.tensor([1.0, 0.0, 1.0]), torch.tensor([0.3, -0.2, -1.0]))
    assert m.result().item() == pytest.approx(2 / 3)
    m = metrics.get("crossentropy", loss="binary_crossentropy")
    assert isinstance(m, metrics.BinaryCrossentropy) and m.name == "crossentropy"


def test_get_names_instances_functions_and_errors():
    assert type(metrics.get("mse")) is metrics.MeanSquaredError and metrics.get("mse").name == "mse"
    assert metrics.get("MeanAbsoluteError").name == "mean_absolute_error"
    assert (
        type(metrics.get("auc")) is metrics.AUC
        and type(metrics.get("rmse")) is metrics.RootMeanSquaredError
    )
    m = metrics.Precision(thresholds=0.3)
    assert metrics.get(m) is m
    with pytest.raises(ValueError, match="Did you mean: 'accuracy'"):
        metrics.get("acuracy")

    def my_metric(y_true, y_pred):
        return (y_true - y_pred).abs()

    wrapped = metrics.get(my_metric)
    assert isinstance(wrapped, metrics.MeanMetricWrapper) and wrapped.name == "my_metric"
    wrapped.update_state(torch.tensor([[1.0, 3.0]]), torch.tensor([[0.0, 0.0]]))
    assert wrapped.result().item() == pytest.approx(2.0)
    huber = metrics.get("huber")  # any loss function name works as a metric
    huber.update_state(torch.tensor([[0.0]]), torch.tensor([[3.0]]))
    assert huber.result().item() == pytest.approx(2.5) and huber.name == "huber"
    from_loss = metrics.get(losses.MeanAbsoluteError())
    from_loss.update_state(torch.tensor([[1.0, 2.0]]), torch.tensor([[0.0, 0.0]]))
    assert from_loss.result().item() == pytest.approx(1.5)


@pytest.mark.parametrize(
    "metric",
    [
        metrics.BinaryAccuracy(threshold=0.3, name="ba"),
        metrics.TopKCategoricalAccuracy(k=3),
        metrics.Precision(thresholds=[0.2, 0.7], class_id=1),
        metrics.AUC(num_thresholds=50, curve="PR"),
        metrics.AUC(thresholds=[0.3, 0.6]),
        metrics.F1Score(average="macro", threshold=0.5),
        metrics.RootMeanSquaredError(dtype="float64"),
    ],
)
def test_metric_config_round_trip(metric):
    config = metric.get_config()
    again = metrics.get(metrics.serialize(metric))
    assert type(again) is type(metric) and again.get_config() == config


# ---- distributed sums, compile


def _fresh_pairs():
    n = 40
    labels = RNG.integers(0, 3, n)
    probs = _softmax(RNG.normal(size=(n, 3)) + np.eye(3)[labels])
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
