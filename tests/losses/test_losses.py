"""Losses against NumPy versions of Keras's formulas, reductions, logits paths, validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lamina import losses

EPS = 1e-7
RNG = np.random.default_rng(0)
N, C = 7, 4


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _onehot(labels: np.ndarray, c: int = C) -> np.ndarray:
    return np.eye(c)[labels]


# ---- NumPy references of Keras's per-sample formulas (float64)


def np_bce(t, p):
    p = np.clip(p, EPS, 1 - EPS)
    return -(t * np.log(p) + (1 - t) * np.log(1 - p)).mean(-1)


def np_cce(t, p):
    p = np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)
    return -(t * np.log(p)).sum(-1)


def np_hinge_t(t):
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
    return _onehot(RNG.integers(0, C, N)), _softmax(RNG.normal(size=(N, C)))


def _dist_pair():
    return _softmax(RNG.normal(size=(N, C))), _softmax(RNG.normal(size=(N, C)))


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
        lambda t, p: np.maximum(1 - np_hinge_t(t) * p, 0).mean(-1),
        lambda: (RNG.choice([-1.0, 1.0], (N, C)), RNG.normal(size=(N, C))),
    ),
    "hinge_01_labels": (
        losses.Hinge,
        lambda t, p: np.maximum(1 - np_hinge_t(t) * p, 0).mean(-1),
        lambda: (RNG.integers(0, 2, (N, C)).astype(float), RNG.normal(size=(N, C))),
    ),
    "squared_hinge": (
        losses.SquaredHinge,
        lambda t, p: (np.maximum(1 - np_hinge_t(t) * p, 0) ** 2).mean(-1),
        lambda: (RNG.choice([-1.0, 1.0], (N, C)), RNG.normal(size=(N, C))),
    ),
    "categorical_hinge": (
        losses.CategoricalHinge,
        np_cat_hinge,
        lambda: (_onehot(RNG.integers(0, C, N)), RNG.normal(size=(N, C))),
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


def _t(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x), dtype=torch.float64)


@pytest.mark.parametrize("case", sorted(CASES))
def test_loss_matches_numpy_with_weights_and_reductions(case):
    cls, ref, gen = CASES[case]
    t, p = gen()
    w = RNG.uniform(0, 2, N)
    per_sample = ref(t, p)
    np.testing.assert_allclose(cls().call(_t(t), _t(p)).numpy(), per_sample, rtol=1e-10, atol=1e-12)
    # the plain function with the snake name gives the same per-sample values
    fn = getattr(losses, cls().fn.__name__)
    np.testing.assert_allclose(fn(_t(t), _t(p)).numpy(), per_sample, rtol=1e-10, atol=1e-12)
    expected = {
        "sum_over_batch_size": (per_sample * w).sum() / N,
        "sum": (per_sample * w).sum(),
        "none": per_sample * w,
    }
    for reduction, value in expected.items():
        got = cls(reduction=reduction)(_t(t), _t(p), sample_weight=w)
        np.testing.assert_allclose(got.numpy(), value, rtol=1e-10, atol=1e-12)
    # no weights, numpy inputs, (N, 1)-shaped weights
    np.testing.assert_allclose(cls()(t, _t(p)).item(), per_sample.mean(), rtol=1e-10)
    got = cls()(_t(t), _t(p), sample_weight=w[:, None])
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
    assert loss.call(_t(t), _t(p)).shape == (N, 5)
    got = loss(_t(t), _t(p), sample_weight=w)
    np.testing.assert_allclose(got.item(), (per * w[:, None]).sum() / per.size, rtol=1e-10)
    got = losses.MeanSquaredError(reduction="mean_with_sample_weight")(
        _t(t), _t(p), sample_weight=w
    )
    np.testing.assert_allclose(got.item(), (per * w[:, None]).sum() / (5 * w.sum()), rtol=1e-10)
    # (N,) targets with a (N, 1) output are aligned, not broadcast to (N, N)
    y, out = RNG.normal(size=N), RNG.normal(size=(N, 1))
    got = losses.MeanSquaredError()(_t(y), _t(out))
    assert got.item() == pytest.approx(((out[:, 0] - y) ** 2).mean(), rel=1e-10)


@pytest.mark.parametrize("label_shape", ["int_n", "float_n1"])
def test_sparse_categorical_crossentropy(label_shape):
    labels = RNG.integers(0, C, N)
    p = _softmax(RNG.normal(size=(N, C)))
    ref = -np.log(np.clip(p[np.arange(N), labels], EPS, 1 - EPS))
    y = torch.as_tensor(labels) if label_shape == "int_n" else _t(labels[:, None].astype(float))
    w = RNG.uniform(0, 2, N)
    got = losses.SparseCategoricalCrossentropy()(y, _t(p), sample_weight=w)
    np.testing.assert_allclose(got.item(), (ref * w).sum() / N, rtol=1e-10)
    np.testing.assert_allclose(
        losses.sparse_categorical_crossentropy(y, _t(p)).numpy(), ref, rtol=1e-10
    )
    # sparse == categorical on the one-hot labels
    cce = losses.categorical_crossentropy(_onehot(labels), _t(p))
    np.testing.assert_allclose(cce.numpy(), ref, rtol=1e-10)


def test_sparse_ignore_class_averages_over_valid_entries():
    labels = np.array([0, 3, -1, 2, -1, 1])
    p = _softmax(RNG.normal(size=(6, C)))
    valid = labels != -1
    ref = -np.log(p[np.arange(6)[valid], labels[valid]])
    loss = losses.SparseCategoricalCrossentropy(ignore_class=-1)
    per = loss.call(torch.as_tensor(labels), _t(p)).numpy()
    np.testing.assert_allclose(per[valid], ref, rtol=1e-10)
    assert (per[~valid] == 0).all()
    assert loss(torch.as_tensor(labels), _t(p)).item() == pytest.approx(ref.mean(), rel=1e-10)
    assert losses.SparseCategoricalCrossentropy(ignore_class=-1, reduction="sum")(
        torch.as_tensor(labels), _t(p)
    ).item() == pytest.approx(ref.sum(), rel=1e-10)
    # from logits too
    z = RNG.normal(size=(6, C))
    ref_z = -np.log(_softmax(z)[np.arange(6)[valid], labels[valid]])
    got = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)(
        torch.as_tensor(labels), _t(z)
    )
    assert got.item() == pytest.approx(ref_z.mean(), rel=1e-10)


def test_label_smoothing_matches_hand_formula():
    ls = 0.2
    t, p = _prob_pair()
    t_s = t * (1 - ls) + 0.5 * ls
    got = losses.BinaryCrossentropy(label_smoothing=ls).call(_t(t), _t(p))
    np.testing.assert_allclose(got.numpy(), np_bce(t_s, p), rtol=1e-10)
    z = RNG.normal(size=(N, C))
    got = losses.BinaryCrossentropy(from_logits=True, label_smoothing=ls).call(_t(t), _t(z))
    np.testing.assert_allclose(got.numpy(), np_bce(t_s, _sigmoid(z)), rtol=1e-8)

    t, p = _cat_pair()
    t_s = t * (1 - ls) + ls / C
    got = losses.CategoricalCrossentropy(label_smoothing=ls).call(_t(t), _t(p))
    np.testing.assert_allclose(got.numpy(), np_cce(t_s, p), rtol=1e-10)
    got = losses.CategoricalCrossentropy(from_logits=True, label_smoothing=ls).call(_t(t), _t(z))
    hand = -(t_s * (z - np.log(np.exp(z).sum(-1, keepdims=True)))).sum(-1)
    np.testing.assert_allclose(got.numpy(), hand, rtol=1e-10)


LOGIT_CASES = [
    (losses.BinaryCrossentropy, "sigmoid", lambda: RNG.integers(0, 2, (N, 1)).astype(float), 1),
    (losses.CategoricalCrossentropy, "softmax", lambda: _onehot(RNG.integers(0, C, N)), C),
    (losses.SparseCategoricalCrossentropy, "softmax", lambda: RNG.integers(0, C, N), C),
]


def _activate(act: str, z: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(z) if act == "sigmoid" else torch.softmax(z, -1)


@pytest.mark.parametrize("cls,act,gen,units", LOGIT_CASES)
def test_from_logits_and_logits_variant_agree_and_stay_finite(cls, act, gen, units):
    y = torch.as_tensor(gen())
    z = _t(RNG.normal(size=(N, units)) * 2)
    prob_loss = cls(reduction="none")
    variant = prob_loss.logits_variant(act)
    assert variant is not None and variant.from_logits and variant.reduction == "none"
    assert variant.name == prob_loss.name
    ref = prob_loss(y, _activate(act, z))
    np.testing.assert_allclose(variant(y, z).numpy(), ref.numpy(), rtol=1e-9)
    np.testing.assert_allclose(
        cls(from_logits=True, reduction="none")(y, z).numpy(), ref.numpy(), rtol=1e-9
    )
    # saturating logits: wrong by a margin of 200 -> loss 200, not the clipped -log(eps) ~ 16.1
    if units == 1:
        y_sat, z_sat = _t([[1.0]]), _t([[-200.0]])
    else:
        z_sat = _t([[-100.0, 100.0, -100.0, -100.0]])
        y_sat = (
            torch.tensor([0]) if cls is losses.SparseCategoricalCrossentropy else _t([[1, 0, 0, 0]])
        )
    z_sat.requires_grad_(True)
    value = variant(y_sat, z_sat)
    assert value.item() == pytest.approx(200.0, rel=1e-6)
    value.sum().backward()
    assert torch.isfinite(z_sat.grad).all()
    clipped = prob_loss(y_sat, _activate(act, z_sat.detach()))
    assert clipped.item() == pytest.approx(-np.log(EPS), rel=1e-3)


def test_logits_variant_none_where_it_does_not_apply():
    assert losses.BinaryCrossentropy().logits_variant("softmax") is None
    assert losses.BinaryCrossentropy(from_logits=True).logits_variant("sigmoid") is None
    assert losses.CategoricalCrossentropy().logits_variant("sigmoid") is None
    assert losses.SparseCategoricalCrossentropy(from_logits=True).logits_variant("softmax") is None
    assert losses.MeanSquaredError().logits_variant("sigmoid") is None
    assert losses.LossFunctionWrapper(lambda t, p: (t - p).abs()).logits_variant("softmax") is None
    v = losses.CategoricalCrossentropy(label_smoothing=0.1, reduction="sum").logits_variant(
        "softmax"
    )
    assert v.get_config() == {
        **losses.CategoricalCrossentropy(label_smoothing=0.1, reduction="sum").get_config(),
        "from_logits": True,
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_gradcheck(case):
    cls, _, gen = CASES[case]
    t, p = gen()
    t, p = _t(t[:3]), _t(p[:3]).requires_grad_(True)
    w = _t(RNG.uniform(0.5, 2, 3))
    assert torch.autograd.gradcheck(lambda x: cls()(t, x, sample_weight=w), (p,))


@pytest.mark.parametrize("cls,act,gen,units", LOGIT_CASES)
def test_gradcheck_logits(cls, act, gen, units):
    y = torch.as_tensor(gen()[:3])
    z = _t(RNG.normal(size=(3, units))).requires_grad_(True)
    extra = {} if cls is losses.SparseCategoricalCrossentropy else {"label_smoothing": 0.1}
    logit_loss = cls(from_logits=True, **extra)
    assert torch.autograd.gradcheck(lambda x: logit_loss(y, x), (z,))
    assert torch.autograd.gradcheck(lambda x: cls()(y, _activate(act, x)), (z,))


# ---- validate


def _raises(loss, y, out, *fragments):
    with pytest.raises(ValueError) as err:
        losses.get(loss).validate(y, out)
    msg = str(err.value)
    for f in fragments:
        assert f in msg, msg
    return msg


def test_validate_catches_target_mistakes():
    labels = RNG.integers(0, 10, 50)
    _raises(
        "categorical_crossentropy",
        labels,
        (None, 10),
        "Loss 'categorical_crossentropy' expected",
        "received: y_true.shape=(50,)",
        "sparse_categorical_crossentropy",
        "lamina.utils.to_categorical",
    )
    _raises(
        "categorical_crossentropy",
        labels[:, None],
        (None, 10),
        "received: y_true.shape=(50, 1)",
        "sparse_categorical_crossentropy",
    )
    _raises(
        "sparse_categorical_crossentropy",
        _onehot(labels, 10),
        (None, 10),
        "Loss 'sparse_categorical_crossentropy' expected integer class labels",
        "received: y_true.shape=(50, 10)",
        "categorical_crossentropy",
    )
    _raises(
        "sparse_categorical_crossentropy",
        labels + 1,
        (None, 10),
        "expected class labels in [0, 10)",
        "min=1",
        "max=10",
        "C=10",
        "1-based",
    )
    _raises("sparse_categorical_crossentropy", labels, (None, 5), "min=0", "max=9", "C=5")
    _raises("sparse_categorical_crossentropy", torch.tensor([0, -1, 2]), (None, 3), "min=-1")
    _raises(
        "binary_crossentropy",
        np.array([0.0, 1.0, 2.0]),
        (None, 1),
        "Loss 'binary_crossentropy' expected targets in [0, 1]",
        "max=2",
    )
    _raises("binary_crossentropy", np.array([-1.0, 1.0]), (None, 1), "min=-1", "hinge")
    _raises(
        "mse",
        _onehot(labels, 10),
        (None, 28, 10),
        "Loss 'mean_squared_error' expected targets of shape (N, 28, 10)",
        "received: y_true.shape=(50, 10)",
        "add a Flatten() layer before the Dense layers",
    )
    _raises(
        "categorical_crossentropy", _onehot(labels, 10), (None, 28, 10), "add a Flatten() layer"
    )
    _raises("sparse_categorical_crossentropy", labels, (None, 28, 10), "add a Flatten() layer")
    _raises(
        "mse", RNG.normal(size=(50, 3)), (None, 1), "expected targets of shape (N, 1)", "(50, 3)"
    )
    _raises("mse", labels, (None, 10), "to_categorical")
    _raises("mse", np.array([[1.0], [np.nan]]), (None, 1), "expected finite targets")
    _raises(
        "categorical_crossentropy",
        _onehot(labels % 1, 1),
        (None, 1),
        "one unit per class",
        "binary_crossentropy",
    )


def test_validate_accepts_correct_targets():
    labels = RNG.integers(0, 10, 50)
    losses.get("sparse_categorical_crossentropy").validate(labels, (None, 10))
    losses.get("sparse_categorical_crossentropy").validate(
        labels[:, None].astype(np.float32), (None, 10)
    )
    losses.get("sparse_categorical_crossentropy").validate(torch.as_tensor(labels), (None, 10))
    losses.SparseCategoricalCrossentropy(ignore_class=255).validate(np.r_[labels, 255], (None, 10))
    losses.get("sparse_categorical_crossentropy").validate(
        RNG.integers(0, 10, (4, 6)), (None, 6, 10)
    )
    losses.get("categorical_crossentropy").validate(_onehot(labels, 10), (None, 10))
    losses.get("categorical_crossentropy").validate(np.zeros((4, 6, 3)), (None, 6, 3))
    losses.get("binary_crossentropy").validate(RNG.integers(0, 2, 50), (None, 1))
    losses.get("binary_crossentropy").validate(RNG.integers(0, 2, 50).astype(bool), (None, 1))
    losses.get("binary_crossentropy").validate(RNG.integers(0, 2, (50, 3)), (None, 3))
    losses.get("mse").validate(RNG.normal(size=(50, 3)), (None, 3))
    losses.get("mse").validate(RNG.normal(size=50), (None, 1))
    losses.get("mse").validate(RNG.normal(size=(50, 28, 28, 1)), (None, 28, 28, 1))
    losses.LossFunctionWrapper(lambda t, p: (t - p).abs()).validate(np.zeros((3, 9)), (None, 2))


# ---- resolution, configs


def test_get_resolves_names_aliases_dicts_and_callables():
    assert isinstance(losses.get("mse"), losses.MeanSquaredError)
    assert isinstance(losses.get("MeanAbsoluteError"), losses.MeanAbsoluteError)
    assert isinstance(losses.get("log_loss"), losses.BinaryCrossentropy)
    assert isinstance(losses.get("kld"), losses.KLDivergence)
    assert isinstance(losses.get("sse"), losses.SumSquaredError)
    loss = losses.Huber(delta=2.5)
    assert losses.get(loss) is loss
    assert losses.get(None) is None
    with pytest.raises(ValueError, match="Did you mean: 'mean_squared_error'"):
        losses.get("mean_sqared_error")

    def my_loss(y_true, y_pred):
        return (y_true - y_pred).abs().sum(-1)

    wrapped = losses.get(my_loss)
    assert isinstance(wrapped, losses.LossFunctionWrapper) and wrapped.name == "my_loss"
    assert wrapped(_t([[1.0, 2.0]]), _t([[0.0, 0.0]])).item() == pytest.approx(3.0)
    with pytest.raises(ValueError, match="expected reduction"):
        losses.MeanSquaredError(reduction="avg")


@pytest.mark.parametrize(
    "loss",
    [
        losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1, name="bce"),
        losses.CategoricalCrossentropy(label_smoothing=0.2, reduction="sum"),
        losses.SparseCategoricalCrossentropy(ignore_class=0),
        losses.Huber(0.5),
        losses.CosineSimilarity(axis=-1),
        losses.SumSquaredError(),
        losses.LossFunctionWrapper(losses.mean_absolute_error, reduction="none"),
    ],
)
def test_config_round_trip(loss):
    config = loss.get_config()
    again = losses.get(losses.serialize(loss))
    assert type(again) is type(loss) and again.get_config() == config
    assert type(loss).from_config(config).get_config() == config
    y = torch.as_tensor(
        RNG.integers(0, 3, (4, 3))
        if loss.name != "sparse_categorical_crossentropy"
        else RNG.integers(0, 3, 4)
    )
    if loss.name == "bce":
        y = y.clamp(0, 1)
    p = _t(_softmax(RNG.normal(size=(4, 3))))
    torch.testing.assert_close(again(y, p), loss(y, p))


def test_fused_batch_mean_equals_the_general_path():
    """The unweighted fast path (one F.cross_entropy) gives the weighted path's value."""
    rng = np.random.default_rng(7)
    logits = torch.as_tensor(rng.normal(size=(16, 5)) * 3)
    labels = torch.as_tensor(rng.integers(0, 5, 16))
    onehot = torch.nn.functional.one_hot(labels, 5).double()
    ones = torch.ones(16, dtype=torch.float64)
    for loss, y in (
        (losses.CategoricalCrossentropy(from_logits=True), onehot),
        (losses.SparseCategoricalCrossentropy(from_logits=True), labels),
    ):
        assert loss._fused_mean(y, logits) is not None
        np.testing.assert_allclose(
            loss(y, logits).item(), loss(y, logits, sample_weight=ones).item(), rtol=1e-12
        )
        expected = -np.log(np.exp(logits.numpy()) / np.exp(logits.numpy()).sum(1, keepdims=True))[
            np.arange(16), labels.numpy()
        ].mean()
        np.testing.assert_allclose(loss(y, logits).item(), expected, rtol=1e-10)
