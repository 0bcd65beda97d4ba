"""Every public loss class of lamina.losses against Keras 3's same-named class (the oracle).

Each class must be written out with a `class` statement in lamina/losses/, take Keras 3's
constructor arguments in Keras's order with Keras's defaults, return exactly them from
`get_config` (a config that `from_config` and Keras accept), and give Keras's values on
random inputs for every reduction, with and without sample weights.
"""

from __future__ import annotations

import inspect
import os
import re
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

import lamina  # noqa: E402
from lamina import losses  # noqa: E402

N, C = 9, 4
LOSSES_DIR = Path(lamina.__file__).parent / "losses"
LAMINA_ONLY = {"SumSquaredError"}  # the courses' SSE: no Keras class

PUBLIC = sorted(
    name
    for name, obj in vars(losses).items()
    if not name.startswith("_")
    and inspect.isclass(obj)
    and issubclass(obj, losses.Loss)
    and obj not in (losses.Loss, losses.LossFunctionWrapper)
)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _f32(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    return tuple(np.asarray(a, dtype=np.float32) for a in arrays)


def _regression(rng, shape=(N, C)):
    return _f32(rng.normal(size=shape), rng.normal(size=shape))


def _positive(rng, shape=(N, C)):
    return _f32(rng.uniform(0.0, 3.0, shape), rng.uniform(0.1, 3.0, shape))


def _percentage(rng, shape=(N, C)):
    t = rng.uniform(0.5, 2.0, shape) * rng.choice([-1, 1], shape)
    return _f32(t, rng.normal(size=shape))


def _binary(rng, shape=(N, C)):
    return _f32(rng.integers(0, 2, shape), rng.uniform(0.02, 0.98, shape))


def _binary_logits(rng, shape=(N, C)):
    return _f32(rng.integers(0, 2, shape), 3 * rng.normal(size=shape))


def _onehot(rng, shape=(N, C)):
    labels = rng.integers(0, shape[-1], shape[:-1])
    return _f32(np.eye(shape[-1])[labels], _softmax(2 * rng.normal(size=shape)))


def _onehot_logits(rng, shape=(N, C)):
    labels = rng.integers(0, shape[-1], shape[:-1])
    return _f32(np.eye(shape[-1])[labels], 3 * rng.normal(size=shape))


def _sparse(rng, shape=(N, C)):
    return rng.integers(0, shape[-1], shape[:-1]), _f32(_softmax(2 * rng.normal(size=shape)))[0]


def _sparse_logits(rng, shape=(N, C)):
    return rng.integers(0, shape[-1], shape[:-1]), _f32(3 * rng.normal(size=shape))[0]


def _sparse_ignored(rng, shape=(N, C)):
    y, p = _sparse(rng, shape)
    y[::3] = -1
    return y, p


def _signs(rng, shape=(N, C)):
    return _f32(rng.choice([-1.0, 1.0], shape), rng.normal(size=shape))


def _zero_one(rng, shape=(N, C)):
    return _f32(rng.integers(0, 2, shape), rng.normal(size=shape))


def _distributions(rng, shape=(N, C)):
    return _f32(_softmax(rng.normal(size=shape)), _softmax(rng.normal(size=shape)))


def _counts(rng, shape=(N, C)):
    return _f32(rng.poisson(2.0, shape), rng.uniform(0.2, 4.0, shape))


def _huber_errors(rng, shape=(N, C)):
    return _f32(rng.normal(size=shape), 2 * rng.normal(size=shape))


def _masks(rng, shape=(N, C)):
    return _f32(rng.integers(0, 2, shape), rng.uniform(0.0, 1.0, shape))


def _ctc(rng, shape=None):
    """Labels 1..5 padded with the blank 0 at the end, and logits over 6 classes."""
    labels = np.zeros((N, 5), dtype=np.int64)
    for i in range(N):
        n = rng.integers(1, 6)
        labels[i, :n] = rng.integers(1, 6, n)
    return labels, _f32(rng.normal(size=(N, 12, 6)))[0]


def _embeddings(rng, shape=None):
    """Integer labels and L2-normalized embeddings (N, 5)."""
    e = rng.normal(size=(N, 5))
    return rng.integers(0, 3, N), _f32(e / np.linalg.norm(e, axis=1, keepdims=True))[0]


# class name -> [(constructor kwargs, data generator, sequence shape or None)]
Case = tuple[dict, Callable, tuple | None]
CASES: dict[str, list[Case]] = {
    "MeanSquaredError": [({}, _regression, (N, 3, C))],
    "MeanAbsoluteError": [({}, _regression, (N, 3, C))],
    "MeanAbsolutePercentageError": [({}, _percentage, None)],
    "MeanSquaredLogarithmicError": [({}, _positive, None)],
    "CosineSimilarity": [({}, _regression, None), ({"axis": 1}, _regression, (N, 3, C))],
    "Huber": [({}, _huber_errors, None), ({"delta": 0.4}, _huber_errors, (N, 3, C))],
    "LogCosh": [({}, _regression, None)],
    "Hinge": [({}, _signs, None), ({}, _zero_one, None)],
    "SquaredHinge": [({}, _signs, None), ({}, _zero_one, None)],
    "CategoricalHinge": [({}, _onehot, None)],
    "KLDivergence": [({}, _distributions, None)],
    "Poisson": [({}, _counts, None)],
    "BinaryCrossentropy": [
        ({}, _binary, None),
        ({"label_smoothing": 0.2}, _binary, (N, 3, C)),
        ({"from_logits": True, "label_smoothing": 0.1}, _binary_logits, None),
        ({"axis": 1}, _binary, (N, 3, C)),
    ],
    "CategoricalCrossentropy": [
        ({}, _onehot, None),
        ({"label_smoothing": 0.2}, _onehot, (N, 3, C)),
        ({"from_logits": True}, _onehot_logits, None),
        ({"from_logits": True, "label_smoothing": 0.1}, _onehot_logits, (N, 3, C)),
    ],
    "SparseCategoricalCrossentropy": [
        ({}, _sparse, None),
        ({"from_logits": True}, _sparse_logits, None),
        ({"from_logits": True}, _sparse_logits, (N, 3, C)),
        ({"ignore_class": -1}, _sparse_ignored, None),
    ],
    "BinaryFocalCrossentropy": [
        ({}, _binary, None),
        ({"apply_class_balancing": True, "alpha": 0.4, "gamma": 1.5}, _binary, (N, 3, C)),
        ({"from_logits": True, "label_smoothing": 0.1}, _binary_logits, None),
        ({"axis": 1, "apply_class_balancing": True}, _binary, (N, 3, C)),
    ],
    "CategoricalFocalCrossentropy": [
        ({}, _onehot, None),
        ({"alpha": [0.1, 0.2, 0.3, 0.4], "gamma": 1.0}, _onehot, None),
        ({"from_logits": True, "label_smoothing": 0.1}, _onehot_logits, (N, 3, C)),
    ],
    "CategoricalGeneralizedCrossEntropy": [({}, _sparse, None), ({"q": 0.2}, _sparse, None)],
    "Dice": [({}, _masks, None), ({"axis": (1, 2)}, _masks, (N, 3, C))],
    "Tversky": [
        ({}, _masks, None),
        ({"alpha": 0.3, "beta": 0.7, "axis": (1, 2)}, _masks, (N, 3, C)),
    ],
    "CTC": [({}, _ctc, None)],
    "Circle": [
        ({}, _embeddings, None),
        ({"gamma": 10.0, "margin": 0.25, "remove_diagonal": False}, _embeddings, None),
    ],
}
# Keras's public loss functions and the class whose cases (options included) they share.
FUNCTIONS = {
    "binary_crossentropy": "BinaryCrossentropy",
    "binary_focal_crossentropy": "BinaryFocalCrossentropy",
    "categorical_crossentropy": "CategoricalCrossentropy",
    "categorical_focal_crossentropy": "CategoricalFocalCrossentropy",
    "categorical_hinge": "CategoricalHinge",
    "circle": "Circle",
    "cosine_similarity": "CosineSimilarity",
    "ctc": "CTC",
    "dice": "Dice",
    "hinge": "Hinge",
    "huber": "Huber",
    "kl_divergence": "KLDivergence",
    "log_cosh": "LogCosh",
    "mean_absolute_error": "MeanAbsoluteError",
    "mean_absolute_percentage_error": "MeanAbsolutePercentageError",
    "mean_squared_error": "MeanSquaredError",
    "mean_squared_logarithmic_error": "MeanSquaredLogarithmicError",
    "poisson": "Poisson",
    "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
    "squared_hinge": "SquaredHinge",
    "tversky": "Tversky",
}
FUNCTION_CASES: dict[str, list[Case]] = {fn: list(CASES[cls]) for fn, cls in FUNCTIONS.items()} | {
    # q has no default in the function
    "categorical_generalized_cross_entropy": [
        ({"q": 0.5}, _sparse, None),
        ({"q": 0.8}, _sparse, None),
    ],
}
# the reference set of the function only (the class always uses the batch itself)
FUNCTION_CASES["circle"] = [*FUNCTION_CASES["circle"], ({"refs": True}, _embeddings, None)]

# Every Keras loss name Lamina has -> its cases (the key's kind decides the comparison).
LOSSES_PARITY: dict[str, object] = {
    **{f"losses.{name}": cases for name, cases in CASES.items()},
    **{f"losses.{name}": cases for name, cases in FUNCTION_CASES.items()},
    "losses.Loss": "a custom subclass, every reduction, with and without weights",
    "losses.get": ["mse", "huber", "Dice", "CategoricalFocalCrossentropy", "config"],
    "losses.serialize": ["Dice", "Tversky", "BinaryFocalCrossentropy", "Huber"],
    "losses.deserialize": ["Dice", "Tversky", "BinaryFocalCrossentropy", "Huber"],
}


def _numpy(value) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(value), dtype=np.float64)


def test_every_public_loss_has_a_parity_case():
    assert sorted(set(PUBLIC) - LAMINA_ONLY) == sorted(CASES)
    assert {n for n in PUBLIC if hasattr(keras.losses, n)} == set(CASES)


@pytest.mark.parametrize("name", PUBLIC)
def test_loss_is_a_class_statement_in_the_losses_package(name):
    cls = getattr(losses, name)
    source_file = Path(inspect.getsourcefile(cls)).resolve()
    assert source_file.parent == LOSSES_DIR.resolve(), source_file
    assert cls.__module__ == f"lamina.losses.{source_file.stem}"
    lines, _ = inspect.getsourcelines(cls)
    body = "".join(lines)
    assert re.search(rf"^class {name}\(", body, re.MULTILINE), body[:200]
    assert "__init__" in vars(cls), f"{name} writes out its own __init__"


@pytest.mark.parametrize("name", PUBLIC)
def test_constructor_and_config_are_keras_3s(name):
    cls = getattr(losses, name)
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    ours = [(p.name, p.default) for p in params]
    if name not in LAMINA_ONLY:
        theirs = list(inspect.signature(getattr(keras.losses, name).__init__).parameters.values())
        assert ours == [(p.name, p.default) for p in theirs[1:]]
    # get_config returns exactly the constructor's arguments, and they rebuild the loss
    loss = cls()
    config = loss.get_config()
    assert config == dict(ours)
    again = cls.from_config(config)
    assert type(again) is cls and again.get_config() == config
    assert losses.deserialize(losses.serialize(loss)).get_config() == config
    if name not in LAMINA_ONLY:
        # Keras accepts Lamina's config, and Lamina accepts Keras's
        keras_loss = getattr(keras.losses, name).from_config(config)
        assert keras_loss.name == loss.name
        assert cls.from_config(keras_loss.get_config()).get_config() == config


def _seed(*parts) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(parts).encode()))


def _check_class(name: str, kwargs: dict, gen: Callable, shape: tuple | None) -> None:
    """Keras's values for every reduction, without and with per-sample weights."""
    rng = _seed(name, kwargs, shape)
    y, p = gen(rng, shape or (N, C))
    ours_cls, theirs_cls = getattr(losses, name), getattr(keras.losses, name)
    # Per-sample weights, spelled out over the per-sample losses' shape: Keras does not
    # broadcast (N,) weights over (N, T) sequence losses. A batch-wide loss (Dice with
    # axis=None) takes (N,) weights, as in Keras.
    values_shape = ours_cls(reduction="none", **kwargs)(
        torch.as_tensor(y), torch.as_tensor(p)
    ).shape
    weights = rng.uniform(0.0, 2.0, N).astype(np.float32)
    if len(values_shape):
        weights = np.array(
            np.broadcast_to(weights.reshape(-1, *[1] * (len(values_shape) - 1)), values_shape)
        )
    for reduction in ("sum_over_batch_size", "sum", "none", "mean_with_sample_weight"):
        ours, theirs = (
            ours_cls(reduction=reduction, **kwargs),
            theirs_cls(reduction=reduction, **kwargs),
        )
        for sw in (None, weights):
            got = ours(torch.as_tensor(y), torch.as_tensor(p), sample_weight=sw)
            want = _numpy(theirs(y, p, sample_weight=sw))
            assert got.dtype == torch.float32
            assert tuple(got.shape) == want.shape, (reduction, got.shape, want.shape)
            np.testing.assert_allclose(
                got.detach().numpy(), want, rtol=2e-5, atol=2e-6, err_msg=f"{reduction} {sw}"
            )


def _check_function(name: str, kwargs: dict, gen: Callable, shape: tuple | None) -> None:
    """The per-sample function: Keras's values, shape and dtype."""
    rng = _seed(name, kwargs, shape)
    y, p = gen(rng, shape or (N, C))
    kwargs = dict(kwargs)
    if kwargs.pop("refs", False):  # circle against a separate reference set
        ref_y, ref_p = gen(rng)
        kwargs = {"ref_labels": ref_y, "ref_embeddings": ref_p}
    ours_kwargs = {
        k: torch.as_tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()
    }
    got = getattr(losses, name)(torch.as_tensor(y), torch.as_tensor(p), **ours_kwargs)
    # (Keras's categorical_generalized_cross_entropy needs tensors, not arrays)
    y_k, p_k = keras.ops.convert_to_tensor(y), keras.ops.convert_to_tensor(p)
    want = keras.ops.convert_to_tensor(getattr(keras.losses, name)(y_k, p_k, **kwargs))
    assert keras.backend.standardize_dtype(want.dtype) == "float32" == str(got.dtype)[6:]
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.numpy(), _numpy(want), rtol=2e-5, atol=2e-6)


def _check_loss_base() -> None:
    """A user's Loss subclass: the same call gives Keras's reductions and weighting."""

    class OursLoss(losses.Loss):
        def call(self, y_true, y_pred):
            return (y_pred - y_true).abs().pow(1.5).mean(-1)

    class TheirsLoss(keras.losses.Loss):
        def call(self, y_true, y_pred):
            return keras.ops.mean(keras.ops.power(keras.ops.abs(y_pred - y_true), 1.5), -1)

    rng = _seed("Loss")
    y, p = _regression(rng)
    weights = rng.uniform(0.0, 2.0, N).astype(np.float32)
    for reduction in ("sum_over_batch_size", "sum", "none", "mean", "mean_with_sample_weight"):
        ours, theirs = (
            OursLoss(reduction=reduction, name="l"),
            TheirsLoss(reduction=reduction, name="l"),
        )
        assert ours.name == theirs.name and ours.reduction == theirs.reduction
        for sw in (None, weights):
            got = ours(torch.as_tensor(y), torch.as_tensor(p), sample_weight=sw)
            np.testing.assert_allclose(
                got.numpy(), _numpy(theirs(y, p, sample_weight=sw)), rtol=2e-5
            )
    assert OursLoss().name == "OursLoss" and TheirsLoss().name.startswith("theirs_loss")
    with pytest.raises(ValueError, match="reduction"):
        OursLoss(reduction="avg")
    with pytest.raises(ValueError):
        TheirsLoss(reduction="avg")


def _check_get() -> None:
    """`get` resolves names and configs to the loss Keras resolves them to (same values).

    Keras returns the bare function for a function name; Lamina returns the Loss that
    wraps it, whose default reduction is the mean of the function's values.
    """
    rng = _seed("get")
    y, p = _binary(rng)
    identifiers = [
        "mse",
        "huber",
        "Dice",
        "CategoricalFocalCrossentropy",
        {"class_name": "Tversky", "config": {"alpha": 0.2, "beta": 0.8, "axis": None}},
    ]
    for identifier in identifiers:
        ours, theirs = losses.get(identifier), keras.losses.get(identifier)
        want = _numpy(theirs(y, p))
        if not isinstance(theirs, keras.losses.Loss):
            want = want.mean()
        got = ours(torch.as_tensor(y), torch.as_tensor(p))
        np.testing.assert_allclose(got.numpy(), want, rtol=2e-5, err_msg=str(identifier))
    assert losses.get(None) is None and keras.losses.get(None) is None


def _check_serialization(name: str) -> None:
    """serialize gives Keras's class_name and a config both libraries rebuild equal losses from."""
    kwargs = {"Dice": {"axis": [1, 2]}, "Tversky": {"alpha": 0.1, "beta": 0.9}}.get(name, {})
    ours, theirs = getattr(losses, name)(**kwargs), getattr(keras.losses, name)(**kwargs)
    ours_conf, theirs_conf = losses.serialize(ours), keras.losses.serialize(theirs)
    assert ours_conf["class_name"] == theirs_conf["class_name"] == name
    for key, value in theirs_conf["config"].items():
        assert ours_conf["config"][key] == value, key
    again = losses.deserialize(theirs_conf)
    assert type(again) is type(ours) and again.get_config() == ours.get_config()
    keras_again = keras.losses.deserialize({"class_name": name, "config": ours_conf["config"]})
    for key, value in theirs.get_config().items():
        assert keras_again.get_config()[key] == value, key
    y, p = _masks(_seed(name), (N, 3, C))
    np.testing.assert_allclose(
        again(torch.as_tensor(y), torch.as_tensor(p)).numpy(), _numpy(keras_again(y, p)), rtol=2e-5
    )


@pytest.mark.parametrize("name", sorted(LOSSES_PARITY))
def test_losses_parity(name):
    short = name.removeprefix("losses.")
    if short in CASES:
        for kwargs, gen, shape in CASES[short]:
            _check_class(short, kwargs, gen, shape)
    elif short in FUNCTION_CASES:
        for kwargs, gen, shape in FUNCTION_CASES[short]:
            _check_function(short, kwargs, gen, shape)
    elif short == "Loss":
        _check_loss_base()
    elif short == "get":
        _check_get()
    else:
        for cls_name in LOSSES_PARITY[name]:
            _check_serialization(cls_name)


def test_parity_dict_covers_every_keras_loss_name_lamina_has():
    shared = {n for n in dir(keras.losses) if not n.startswith("_") and hasattr(losses, n)}
    assert {f"losses.{n}" for n in shared} == set(LOSSES_PARITY)
    missing = {n for n in dir(keras.losses) if not n.startswith("_") and not hasattr(losses, n)}
    assert missing == set(), missing


def test_circle_class_averages_over_positive_losses_only():
    """Keras masks the zero losses of Circle: the mean runs over the positive ones."""
    y, p = _embeddings(_seed("circle-mask"))
    values = losses.Circle(reduction="none", margin=0.0, gamma=1.0)(
        torch.as_tensor(y), torch.as_tensor(p)
    )
    mean = losses.Circle(margin=0.0, gamma=1.0)(torch.as_tensor(y), torch.as_tensor(p))
    positive = values[values > 0]
    assert torch.allclose(mean, positive.sum() / positive.numel())


def test_ctc_rejects_wrong_ranks():
    with pytest.raises(
        ValueError, match=r"expected y_true of shape .*received: y_true.shape=\(3,\)"
    ):
        losses.ctc(torch.ones(3), torch.zeros(3, 4, 5))
    with pytest.raises(ValueError, match=r"received: y_pred.shape=\(3, 4\)"):
        losses.ctc(torch.ones(3, 2), torch.zeros(3, 4))


def test_generalized_cross_entropy_q_range():
    with pytest.raises(ValueError, match=r"expected q in the interval \(0, 1\), received: q=1"):
        losses.CategoricalGeneralizedCrossEntropy(q=1)


@pytest.mark.parametrize("name", sorted(CASES))
def test_dtype_argument_matches_keras(name):
    """dtype='float64' computes in float64 from float32 inputs. (Keras's torch backend
    returns 'sum_over_batch_size' in float32 through divide_no_nan, so compare 'sum'.)"""
    kwargs, gen, shape = CASES[name][0]
    y, p = gen(np.random.default_rng(5), shape or (N, C))
    for reduction in ("sum", "none"):
        ours = getattr(losses, name)(dtype="float64", reduction=reduction, **kwargs)
        theirs = getattr(keras.losses, name)(dtype="float64", reduction=reduction, **kwargs)
        got = ours(torch.as_tensor(y), torch.as_tensor(p))
        want = theirs(y, p)
        assert got.dtype == torch.float64 and str(want.dtype) == "torch.float64"
        np.testing.assert_allclose(got.numpy(), _numpy(want), rtol=1e-6, atol=1e-7)
        # computed in float64 all the way (Keras loses float32's digits on the way)
        exact = ours(torch.as_tensor(y).double(), torch.as_tensor(p).double())
        np.testing.assert_allclose(got.numpy(), exact.numpy(), rtol=1e-13, atol=1e-15)
    assert ours.get_config()["dtype"] == "float64"
    with pytest.raises(ValueError, match=r"expected dtype in .*received: dtype='int32'"):
        getattr(losses, name)(dtype="int32")


def test_generalized_cross_entropy_takes_column_labels():
    """(N, 1) labels are labels, as for the sparse cross-entropy. (Keras broadcasts their
    one-hot (N, 1, C) against (N, C) and returns (N, N) values: a Keras bug.)"""
    y, p = _sparse(_seed("gce-column"))
    loss = losses.CategoricalGeneralizedCrossEntropy(reduction="none")
    flat = loss(torch.as_tensor(y), torch.as_tensor(p))
    column = loss(torch.as_tensor(y)[:, None], torch.as_tensor(p))
    assert column.shape == (N,)
    torch.testing.assert_close(column, flat)
