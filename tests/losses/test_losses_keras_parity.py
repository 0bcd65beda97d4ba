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
}
PARAMS = [
    pytest.param(name, kwargs, gen, shape, id=f"{name}-{i}")
    for name, cases in sorted(CASES.items())
    for i, (kwargs, gen, shape) in enumerate(cases)
]


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


@pytest.mark.parametrize("name,kwargs,gen,shape", PARAMS)
def test_values_match_keras(name, kwargs, gen, shape):
    rng = np.random.default_rng(abs(hash((name, str(kwargs), shape))) % 2**32)
    y, p = gen(rng, shape or (N, C))
    ours_cls, theirs_cls = getattr(losses, name), getattr(keras.losses, name)
    # Per-sample weights, spelled out over the per-sample losses' shape: Keras does not
    # broadcast (N,) weights over (N, T) sequence losses.
    values_shape = ours_cls(reduction="none", **kwargs)(
        torch.as_tensor(y), torch.as_tensor(p)
    ).shape
    weights = rng.uniform(0.0, 2.0, N).astype(np.float32)
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
            np.testing.assert_allclose(
                got.detach().numpy(), want, rtol=2e-5, atol=2e-6, err_msg=f"{reduction} {sw}"
            )


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
