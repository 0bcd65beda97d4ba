"""lamina.random against keras.random (torch backend): seeded values, shapes, dtypes,
moments against the formulas, and Keras's seed semantics."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

import lamina  # noqa: E402
from lamina import random as lr  # noqa: E402

N = 10**6

# name -> (call with a module `m`, a seed and a shape; mean, variance formula of the result)
RANDOM_PARITY = {
    "random.normal": (lambda m, s, sh: m.normal(sh, mean=1.5, stddev=2.0, seed=s), 1.5, 4.0),
    "random.uniform": (
        lambda m, s, sh: m.uniform(sh, minval=-1.0, maxval=3.0, seed=s),
        1.0,
        16 / 12,
    ),
    "random.randint": (lambda m, s, sh: m.randint(sh, 2, 12, seed=s), 6.5, (10**2 - 1) / 12),
    "random.truncated_normal": (
        lambda m, s, sh: m.truncated_normal(sh, mean=0.5, stddev=2.0, seed=s),
        0.5,
        4.0 * 0.87962566103423978**2,
    ),
    "random.gamma": (lambda m, s, sh: m.gamma(sh, alpha=2.5, seed=s), 2.5, 2.5),
    "random.binomial": (
        lambda m, s, sh: m.binomial(sh, counts=10, probabilities=0.3, seed=s),
        3.0,
        10 * 0.3 * 0.7,
    ),
    "random.beta": (
        lambda m, s, sh: m.beta(sh, alpha=2.0, beta=3.0, seed=s),
        0.4,
        6.0 / (25 * 6),
    ),
    "random.categorical": (
        lambda m, s, sh: m.categorical(
            torch.log(torch.tensor([[0.2, 0.3, 0.5]])), sh[0] * sh[1], seed=s
        ),
        0.3 + 1.0,
        0.3 + 4 * 0.5 - 1.3**2,
    ),
    "random.dropout": (
        lambda m, s, sh: m.dropout(torch.ones(sh), rate=0.25, seed=s),
        1.0,
        (1 / 0.75) ** 2 * 0.75 - 1.0,
    ),
    "random.shuffle": (
        lambda m, s, sh: m.shuffle(torch.arange(sh[0] * sh[1]).reshape(sh), seed=s),
        None,
        None,
    ),
    "random.SeedGenerator": (
        lambda m, s, sh: m.normal(sh, seed=s),
        0.0,
        1.0,
    ),
}
EXACT = set(RANDOM_PARITY) - {"random.truncated_normal"}  # torch's sampler, not Keras's 4-draw rule


def _keras_seed(name: str, seed: int):
    return keras.random.SeedGenerator(seed) if name == "random.SeedGenerator" else seed


def _ours_seed(name: str, seed: int):
    return lr.SeedGenerator(seed) if name == "random.SeedGenerator" else seed


def _np(x) -> np.ndarray:
    return keras.ops.convert_to_numpy(x) if not isinstance(x, torch.Tensor) else x.numpy()


@pytest.mark.parametrize("name", sorted(RANDOM_PARITY))
def test_shape_dtype_and_seeded_values_match_keras(name):
    call = RANDOM_PARITY[name][0]
    ours = call(lr, _ours_seed(name, 7), (3, 4))
    theirs = call(keras.random, _keras_seed(name, 7), (3, 4))
    assert isinstance(ours, torch.Tensor)
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert keras.backend.standardize_dtype(ours.dtype) == keras.backend.standardize_dtype(
        theirs.dtype
    )
    if name in EXACT:
        np.testing.assert_allclose(_np(ours), _np(theirs), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", sorted(RANDOM_PARITY))
def test_moments_match_the_formula(name):
    call, mean, var = RANDOM_PARITY[name]
    sample = call(lr, _ours_seed(name, 3), (1000, 1000)).double()
    if mean is None:  # a permutation: every value once
        assert torch.equal(sample.flatten().sort().values, torch.arange(N, dtype=torch.float64))
        assert not torch.equal(sample.flatten(), torch.arange(N, dtype=torch.float64))
        return
    assert sample.mean().item() == pytest.approx(mean, abs=6 * (var / N) ** 0.5)
    assert sample.var().item() == pytest.approx(var, rel=0.01)


@pytest.mark.parametrize("name", sorted(RANDOM_PARITY))
def test_int_seed_repeats_and_different_seeds_differ(name):
    call = RANDOM_PARITY[name][0]
    a = call(lr, 11, (50, 40))
    b = call(lr, 11, (50, 40))
    c = call(lr, 12, (50, 40))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


@pytest.mark.parametrize("name", sorted(RANDOM_PARITY))
def test_seed_generator_advances_reproducibly(name):
    call = RANDOM_PARITY[name][0]
    gen1, gen2 = lr.SeedGenerator(5), lr.SeedGenerator(5)
    first, second = call(lr, gen1, (50, 40)), call(lr, gen1, (50, 40))
    assert not torch.equal(first, second)
    assert torch.equal(first, call(lr, gen2, (50, 40)))
    assert torch.equal(second, call(lr, gen2, (50, 40)))
    kgen = keras.random.SeedGenerator(5)
    call(keras.random, kgen, (50, 40))
    if name in EXACT:
        np.testing.assert_allclose(_np(second), _np(call(keras.random, kgen, (50, 40))), atol=1e-6)


@pytest.mark.parametrize("name", sorted(RANDOM_PARITY))
def test_none_seed_uses_the_global_generator(name):
    call = RANDOM_PARITY[name][0]
    lamina.utils.set_random_seed(1)
    a = call(lr, None, (50, 40))
    b = call(lr, None, (50, 40))
    lamina.utils.set_random_seed(1)
    assert torch.equal(a, call(lr, None, (50, 40)))
    assert not torch.equal(a, b)


def test_seed_generator_config_and_state_match_keras():
    ours, theirs = lr.SeedGenerator(3, name="g"), keras.random.SeedGenerator(3, name="g")
    assert ours.get_config() == theirs.get_config()
    assert ours.state.tolist() == _np(theirs.state).tolist()
    ours.next()
    theirs.next()
    assert ours.state.tolist() == _np(theirs.state).tolist()
    again = lr.SeedGenerator.from_config(ours.get_config())
    assert again.state.tolist() == [3, 0]
    with pytest.raises(ValueError, match="seed"):
        lr.SeedGenerator(1.5)
    with pytest.raises(ValueError, match="seed"):
        lr.normal((2,), seed="x")


def test_uniform_scalar_shape_and_dtype_checks_match_keras():
    assert lr.uniform((), seed=1).shape == keras.random.uniform((), seed=1).shape
    for fn, bad in ((lr.uniform, "int32"), (lr.randint, "float32")):
        with pytest.raises(ValueError, match="dtype"):
            if fn is lr.uniform:
                fn((2,), dtype=bad)
            else:
                fn((2,), 0, 3, dtype=bad)
    with pytest.raises(ValueError, match="logits"):
        lr.categorical(torch.zeros(3), 2)


def test_dropout_noise_shape_and_extremes_match_keras():
    x = torch.arange(1.0, 25.0).reshape(2, 3, 4)
    ours = lr.dropout(x, 0.5, noise_shape=(None, 1, 4), seed=2)
    theirs = keras.random.dropout(x, 0.5, noise_shape=(None, 1, 4), seed=2)
    np.testing.assert_allclose(ours.numpy(), _np(theirs))
    kept = ours != 0
    assert torch.equal(kept, kept[:, :1, :].expand_as(kept))
    assert torch.equal(lr.dropout(x, 0.0), x)
    assert torch.equal(lr.dropout(x, 1.0), torch.zeros_like(x))


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_shuffle_along_an_axis_matches_keras(axis):
    x = torch.arange(60.0).reshape(3, 4, 5)
    ours = lr.shuffle(x, axis=axis, seed=9)
    theirs = keras.random.shuffle(x, axis=axis % 3, seed=9)
    np.testing.assert_array_equal(ours.numpy(), _np(theirs))
    assert torch.equal(ours.sort(dim=axis).values, x)


def test_dtypes_follow_keras():
    for dtype in ("float16", "float64", "bfloat16"):
        assert lr.normal((2,), dtype=dtype).dtype == getattr(torch, dtype)
    assert lr.randint((2,), 0, 4, dtype="int64").dtype == torch.int64
    assert lr.categorical(torch.zeros(1, 3), 2, dtype="int64").dtype == torch.int64


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float64"])
def test_float_dtypes_draw_keras_values(dtype):
    for fn, kwargs in (
        ("normal", {"mean": 1.0, "stddev": 0.5}),
        ("uniform", {"minval": -2.0, "maxval": 2.0}),
        ("gamma", {"alpha": 1.5}),
        ("beta", {"alpha": 2.0, "beta": 0.5}),
    ):
        ours = getattr(lr, fn)((5, 6), dtype=dtype, seed=4, **kwargs)
        theirs = getattr(keras.random, fn)((5, 6), dtype=dtype, seed=4, **kwargs)
        assert ours.dtype == theirs.dtype == getattr(torch, dtype)
        torch.testing.assert_close(ours, theirs, rtol=0, atol=0)
    ints = lr.randint((5, 6), -3, 9, dtype="int64", seed=4)
    assert torch.equal(ints, keras.random.randint((5, 6), -3, 9, dtype="int64", seed=4))
