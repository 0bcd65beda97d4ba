"""Losses against NumPy versions of Keras's formulas: per-sample values, weights,
reductions, label smoothing, sparse labels and finite-difference gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from loss_data import EPS, C, N, onehot, sigmoid, softmax, t64

from lamina import losses

RNG = np.random.default_rng(0)

# ---- NumPy references of Keras's per-sample formulas (float64)


def np_bce(t, p):
    p = np.clip(p, EPS, 1 - EPS)
    return -(t * np.log(p) + (1 - t) * np.log(1 - p)).mean(-1)


def np_cce(t, p):
    p = np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)
    return -(t * np.log(p)).sum(-1)


def np_hinget64(t):
    return 2 * t - 1 if np.isin(t, [0, 1]).all() else t


def np_huber(t, p, d=1.0):
    e = p - t
    return np.where(np.abs(e) <= d, 0.5 * e**2, d * np.abs(e) - 0.5 * d**2).mean(-1)


def np_kld(t, p):
    t, p = np.clip(t, EPS, 1), np.clip(p, EPS, 1)
    return (t * np.log(t / p)).sum(-1)


def np_cos(t, p):
    tn = t / np.maximum(np.linalg.norm(t, axis=-1, keepdims=True), EPS)
    pn = p / np.maximum(np.linalg.norm(p, axis=-1, keepdims=True), EPS)
    return -(tn * pn).sum(-1)


def np_cat_hinge(t, p):
    pos = (t * p).sum(-1)
    neg = ((1 - t) * p).max(-1)
    return np.maximum(neg - pos + 1, 0)


def _reg():
    return RNG.normal(size=(N, C)), RNG.normal(size=(N, C))


def _prob_pair():
    return RNG.integers(0, 2, size=(N, C)).astype(float), RNG.uniform(0.05, 0.95, size=(N, C))


def _cat_pair():
    return onehot(RNG.integers(0, C, N)), softmax(RNG.normal(size=(N, C)))


def _dist_pair():
    return softmax(RNG.normal(size=(N, C))), softmax(RNG.normal(size=(N, C)))


# (class, NumPy reference, data generator)
CASES = {
    "mean_squared_error": (losses.MeanSquaredError, lambda t, p: ((p - t) ** 2).mean(-1), _reg),
    "mean_absolute_error": (losses.MeanAbsoluteError, lambda t, p: np.abs(p - t).mean(-1), _reg),
    "mean_absolute_percentage_error": (
        losses.MeanAbsolutePercentageError,
        lambda t, p: 100 * np.abs((t - p) / np.maximum(np.abs(t), EPS)).mean(-1),
        lambda: (
            RNG.uniform(0.5, 2, (N, C)) * RNG.choice([-1, 1], (N, C)),
            RNG.normal(size=(N, C)),
        ),
    ),
    "mean_squared_logarithmic_error": (
        losses.MeanSquaredLogarithmicError,
        lambda t, p: ((np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(t, EPS) + 1)) ** 2).mean(
            -1
        ),
        lambda: (RNG.uniform(0, 3, (N, C)), RNG.uniform(0.1, 3, (N, C))),
    ),
    "sum_squared_error": (losses.SumSquaredError, lambda t, p: ((p - t) ** 2).sum(-1), _reg),
    "binary_crossentropy": (losses.BinaryCrossentropy, np_bce, _prob_pair),
    "categorical_crossentropy": (losses.CategoricalCrossentropy, np_cce, _cat_pair),
    "hinge": (
        losses.Hinge,
        lambda t, p: np.maximum(1 - np_hinget64(t) * p, 0).mean(-1),
        lambda: (RNG.choice([-1.0, 1.0], (N, C)), RNG.normal(size=(N, C))),
    ),
    "hinge_01_labels": (
        losses.Hinge,
        lambda t, p: np.maximum(1 - np_hinget64(t) * p, 0).mean(-1),
        lambda: (RNG.integers(0, 2, (N, C)).astype(float), RNG.normal(size=(N, C))),
    ),
    "squared_hinge": (
        losses.SquaredHinge,
        lambda t, p: (np.maximum(1 - np_hinget64(t) * p, 0) ** 2).mean(-1),
        lambda: (RNG.choice([-1.0, 1.0], (N, C)), RNG.normal(size=(N, C))),
    ),
    "categorical_hinge": (
        losses.CategoricalHinge,
        np_cat_hinge,
        lambda: (onehot(RNG.integers(0, C, N)), RNG.normal(size=(N, C))),
    ),
    "huber": (
        losses.Huber,
        np_huber,
        lambda: (RNG.normal(size=(N, C)), 2 * RNG.normal(size=(N, C))),
    ),
    "log_cosh": (losses.LogCosh, lambda t, p: np.log(np.cosh(p - t)).mean(-1), _reg),
    "kl_divergence": (losses.KLDivergence, np_kld, _dist_pair),
    "poisson": (
        losses.Poisson,
        lambda t, p: (p - t * np.log(p + EPS)).mean(-1),
        lambda: (RNG.poisson(2.0, (N, C)).astype(float), RNG.uniform(0.2, 4, (N, C))),
    ),
    "cosine_similarity": (losses.CosineSimilarity, np_cos, _reg),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_loss_matches_numpy_with_weights_and_reductions(case):
    cls, ref, gen = CASES[case]
    t, p = gen()
    w = RNG.uniform(0, 2, N)
    per_sample = ref(t, p)
    np.testing.assert_allclose(
        cls().call(t64(t), t64(p)).numpy(), per_sample, rtol=1e-10, atol=1e-12
    )
    # the plain function with the snake name gives the same per-sample values
    fn = getattr(losses, cls().fn.__name__)
    np.testing.assert_allclose(fn(t64(t), t64(p)).numpy(), per_sample, rtol=1e-10, atol=1e-12)
    expected = {
        "sum_over_batch_size": (per_sample * w).sum() / N,
        "sum": (per_sample * w).sum(),
        "none": per_sample * w,
    }
    for reduction, value in expected.items():
        got = cls(reduction=reduction)(t64(t), t64(p), sample_weight=w)
        np.testing.assert_allclose(got.numpy(), value, rtol=1e-10, atol=1e-12)
    # no weights, numpy inputs, (N, 1)-shaped weights
    np.testing.assert_allclose(cls()(t, t64(p)).item(), per_sample.mean(), rtol=1e-10)
    got = cls()(t64(t), t64(p), sample_weight=w[:, None])
    np.testing.assert_allclose(got.item(), (per_sample * w).sum() / N, rtol=1e-10)


def test_keras_documented_values():
    # Numbers from Keras's docstrings.
    cce = losses.categorical_crossentropy(
        [[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]
    )
    np.testing.assert_allclose(cce.numpy(), [0.0513, 2.303], atol=1e-3)
    bce = losses.binary_crossentropy([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
    np.testing.assert_allclose(bce.numpy(), [0.916, 0.714], atol=1e-3)
    huber = losses.Huber()([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
    assert huber.item() == pytest.approx(0.155, abs=1e-3)
    logcosh = losses.LogCosh()([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 0.0]])
    assert logcosh.item() == pytest.approx(0.108, abs=1e-3)
    cos = losses.cosine_similarity(
        [[0.0, 1.0], [1.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0], [-1.0, -1.0]]
    )
    np.testing.assert_allclose(cos.numpy(), [0.0, -1.0, 1.0], atol=1e-6)


def test_sequence_outputs_and_mean_with_sample_weight():
    t, p = RNG.normal(size=(N, 5, C)), RNG.normal(size=(N, 5, C))
    w = RNG.uniform(0, 2, N)
    per = ((p - t) ** 2).mean(-1)  # (N, 5)
    loss = losses.MeanSquaredError()
    assert loss.call(t64(t), t64(p)).shape == (N, 5)
    got = loss(t64(t), t64(p), sample_weight=w)
    np.testing.assert_allclose(got.item(), (per * w[:, None]).sum() / per.size, rtol=1e-10)
    got = losses.MeanSquaredError(reduction="mean_with_sample_weight")(
        t64(t), t64(p), sample_weight=w
    )
    np.testing.assert_allclose(got.item(), (per * w[:, None]).sum() / (5 * w.sum()), rtol=1e-10)
    # (N,) targets with a (N, 1) output are aligned, not broadcast to (N, N)
    y, out = RNG.normal(size=N), RNG.normal(size=(N, 1))
    got = losses.MeanSquaredError()(t64(y), t64(out))
    assert got.item() == pytest.approx(((out[:, 0] - y) ** 2).mean(), rel=1e-10)


@pytest.mark.parametrize("label_shape", ["int_n", "float_n1"])
def test_sparse_categorical_crossentropy(label_shape):
    labels = RNG.integers(0, C, N)
    p = softmax(RNG.normal(size=(N, C)))
    ref = -np.log(np.clip(p[np.arange(N), labels], EPS, 1 - EPS))
    y = torch.as_tensor(labels) if label_shape == "int_n" else t64(labels[:, None].astype(float))
    w = RNG.uniform(0, 2, N)
    got = losses.SparseCategoricalCrossentropy()(y, t64(p), sample_weight=w)
    np.testing.assert_allclose(got.item(), (ref * w).sum() / N, rtol=1e-10)
    np.testing.assert_allclose(
        losses.sparse_categorical_crossentropy(y, t64(p)).numpy(), ref, rtol=1e-10
    )
    # sparse == categorical on the one-hot labels
    cce = losses.categorical_crossentropy(onehot(labels), t64(p))
    np.testing.assert_allclose(cce.numpy(), ref, rtol=1e-10)


def test_sparse_ignore_class_averages_over_valid_entries():
    labels = np.array([0, 3, -1, 2, -1, 1])
    p = softmax(RNG.normal(size=(6, C)))
    valid = labels != -1
    ref = -np.log(p[np.arange(6)[valid], labels[valid]])
    loss = losses.SparseCategoricalCrossentropy(ignore_class=-1)
    per = loss.call(torch.as_tensor(labels), t64(p)).numpy()
    np.testing.assert_allclose(per[valid], ref, rtol=1e-10)
    assert (per[~valid] == 0).all()
    assert loss(torch.as_tensor(labels), t64(p)).item() == pytest.approx(ref.mean(), rel=1e-10)
    assert losses.SparseCategoricalCrossentropy(ignore_class=-1, reduction="sum")(
        torch.as_tensor(labels), t64(p)
    ).item() == pytest.approx(ref.sum(), rel=1e-10)
    # from logits too
    z = RNG.normal(size=(6, C))
    ref_z = -np.log(softmax(z)[np.arange(6)[valid], labels[valid]])
    got = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)(
        torch.as_tensor(labels), t64(z)
    )
    assert got.item() == pytest.approx(ref_z.mean(), rel=1e-10)


def test_label_smoothing_matches_hand_formula():
    ls = 0.2
    t, p = _prob_pair()
    t_s = t * (1 - ls) + 0.5 * ls
    got = losses.BinaryCrossentropy(label_smoothing=ls).call(t64(t), t64(p))
    np.testing.assert_allclose(got.numpy(), np_bce(t_s, p), rtol=1e-10)
    z = RNG.normal(size=(N, C))
    got = losses.BinaryCrossentropy(from_logits=True, label_smoothing=ls).call(t64(t), t64(z))
    np.testing.assert_allclose(got.numpy(), np_bce(t_s, sigmoid(z)), rtol=1e-8)

    t, p = _cat_pair()
    t_s = t * (1 - ls) + ls / C
    got = losses.CategoricalCrossentropy(label_smoothing=ls).call(t64(t), t64(p))
    np.testing.assert_allclose(got.numpy(), np_cce(t_s, p), rtol=1e-10)
    got = losses.CategoricalCrossentropy(from_logits=True, label_smoothing=ls).call(t64(t), t64(z))
    hand = -(t_s * (z - np.log(np.exp(z).sum(-1, keepdims=True)))).sum(-1)
    np.testing.assert_allclose(got.numpy(), hand, rtol=1e-10)


@pytest.mark.parametrize("case", sorted(CASES))
def test_gradcheck(case):
    cls, _, gen = CASES[case]
    t, p = gen()
    t, p = t64(t[:3]), t64(p[:3]).requires_grad_(True)
    w = t64(RNG.uniform(0.5, 2, 3))
    assert torch.autograd.gradcheck(lambda x: cls()(t, x, sample_weight=w), (p,))
