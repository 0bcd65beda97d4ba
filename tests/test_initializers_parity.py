"""Every keras.initializers name against Keras 3 (torch backend): the same objects under
the same aliases, moments of 10**6 draws against the formula, shapes and dtypes,
deterministic values, and the get_config/from_config/serialize/deserialize round trip."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

from lamina import initializers, random  # noqa: E402

T = 0.87962566103423978  # stddev of a unit normal truncated at +-2
FAMILY_SHAPE = (500, 2000)  # fan_in 500, fan_out 2000, fan_avg 1250

# class name -> (constructor kwargs, shape of 10**6 values, mean formula, variance formula)
CASES = {
    "Constant": ({"value": 0.7}, (1000, 1000), 0.7, 0.0),
    "Zeros": ({}, (1000, 1000), 0.0, 0.0),
    "Ones": ({}, (1000, 1000), 1.0, 0.0),
    "Identity": ({"gain": 2.0}, (1000, 1000), 2.0 / 1000, 4.0 / 1000 - (2.0 / 1000) ** 2),
    "RandomNormal": ({"mean": 0.5, "stddev": 0.2}, (1000, 1000), 0.5, 0.04),
    "RandomUniform": ({"minval": -0.2, "maxval": 0.6}, (1000, 1000), 0.2, 0.64 / 12),
    "TruncatedNormal": ({"mean": -0.1, "stddev": 0.3}, (1000, 1000), -0.1, (0.3 * T) ** 2),
    "VarianceScaling": (
        {"scale": 2.0, "mode": "fan_out", "distribution": "untruncated_normal"},
        FAMILY_SHAPE,
        0.0,
        2.0 / 2000,
    ),
    "GlorotUniform": ({}, FAMILY_SHAPE, 0.0, 1.0 / 1250),
    "GlorotNormal": ({}, FAMILY_SHAPE, 0.0, 1.0 / 1250),
    "HeNormal": ({}, FAMILY_SHAPE, 0.0, 2.0 / 500),
    "HeUniform": ({}, FAMILY_SHAPE, 0.0, 2.0 / 500),
    "LecunNormal": ({}, FAMILY_SHAPE, 0.0, 1.0 / 500),
    "LecunUniform": ({}, FAMILY_SHAPE, 0.0, 1.0 / 500),
    "Orthogonal": ({"gain": 1.5}, (1000, 1000), 0.0, 2.25 / 1000),
    "STFT": (
        {"side": "imag", "window": "hamming", "scaling": "spectrum"},
        (400, 1, 2500),
        None,
        None,
    ),
}
ALIASES = {
    "constant": "Constant",
    "glorot_normal": "GlorotNormal",
    "glorot_uniform": "GlorotUniform",
    "he_normal": "HeNormal",
    "he_uniform": "HeUniform",
    "identity": "Identity",
    "IdentityInitializer": "Identity",
    "lecun_normal": "LecunNormal",
    "lecun_uniform": "LecunUniform",
    "ones": "Ones",
    "orthogonal": "Orthogonal",
    "OrthogonalInitializer": "Orthogonal",
    "random_normal": "RandomNormal",
    "random_uniform": "RandomUniform",
    "stft": "STFT",
    "STFTInitializer": "STFT",
    "truncated_normal": "TruncatedNormal",
    "variance_scaling": "VarianceScaling",
    "zeros": "Zeros",
}
FUNCTIONS = ("Initializer", "deserialize", "get", "serialize")
INITIALIZERS_PARITY = {
    **{f"initializers.{name}": name for name in CASES},
    **{f"initializers.{alias}": cls for alias, cls in ALIASES.items()},
    **{f"initializers.{name}": name for name in FUNCTIONS},
}


def test_every_keras_name_is_covered():
    public = {n for n in dir(keras.initializers) if not n.startswith("_")}
    assert {key.split(".", 1)[1] for key in INITIALIZERS_PARITY} == public


def _np(x) -> np.ndarray:
    return x.numpy() if isinstance(x, torch.Tensor) else keras.ops.convert_to_numpy(x)


def _check_class(name: str) -> None:
    """Moments, shape/dtype and the config round trip of one initializer class."""
    kwargs, shape, mean, var = CASES[name]
    ours_cls, theirs_cls = getattr(initializers, name), getattr(keras.initializers, name)
    ours, theirs = ours_cls(**kwargs), theirs_cls(**kwargs)
    for dtype in (None, "float64"):
        small = (4, 1, 9) if name == "STFT" else (6, 5)
        a, b = ours(small, dtype=dtype), theirs(small, dtype=dtype)
        assert tuple(a.shape) == tuple(b.shape) == small
        assert keras.backend.standardize_dtype(a.dtype) == keras.backend.standardize_dtype(b.dtype)
    values = ours(shape).double()
    if mean is None:  # deterministic: Keras's own values
        np.testing.assert_allclose(values.numpy(), _np(theirs(shape)), rtol=1e-5, atol=1e-5)
    else:
        assert values.numel() == 10**6
        assert values.mean().item() == pytest.approx(mean, abs=6 * math.sqrt(var / 1e6) + 1e-6)
        assert values.var(correction=0).item() == pytest.approx(var, rel=0.01, abs=1e-12)
    if name in ("Constant", "Zeros", "Ones", "Identity"):
        np.testing.assert_allclose(values.numpy(), _np(theirs(shape)), rtol=1e-6)
    if name == "Orthogonal":
        for q in (values.numpy(), _np(theirs(shape)).astype(np.float64)):
            np.testing.assert_allclose(q.T @ q, 2.25 * np.eye(1000), atol=1e-4)
    config = ours.get_config()
    want = theirs.get_config()
    if name == "Identity":  # Keras 3 leaves `gain` out of Identity's config (and loses it)
        assert config == {"gain": 2.0} and want == {}
    else:
        assert config == want
    again = ours_cls.from_config(config)
    assert type(again) is ours_cls and again.get_config() == config
    serialized = initializers.serialize(ours)
    keras_serialized = keras.initializers.serialize(theirs)
    assert serialized["class_name"] == keras_serialized["class_name"]
    assert serialized["config"] == config
    from_keras = initializers.deserialize(keras_serialized)
    assert type(from_keras) is ours_cls
    if name != "Identity":
        assert from_keras.get_config() == config
    assert initializers.get(serialized).get_config() == config


@pytest.mark.parametrize("key", sorted(INITIALIZERS_PARITY))
def test_initializer_matches_keras(key):
    name = key.split(".", 1)[1]
    target = INITIALIZERS_PARITY[key]
    ours, theirs = getattr(initializers, name), getattr(keras.initializers, name)
    if name in ALIASES:  # an alias is the class itself, in Keras as here
        assert theirs is getattr(keras.initializers, target)
        assert ours is getattr(initializers, target)
        assert initializers.get(name).__class__ is ours
        _check_class(target)
    elif name in CASES:
        assert ours.__name__ == theirs.__name__ == name
        assert issubclass(ours, initializers.Initializer)
        _check_class(name)
    elif name == "Initializer":
        with pytest.raises(NotImplementedError):
            ours()((2, 2))
        assert ours().get_config() == theirs().get_config() == {}
    elif name == "serialize":
        init = initializers.RandomNormal(mean=1.0, seed=3)
        out = ours(init)
        want = theirs(keras.initializers.RandomNormal(mean=1.0, seed=3))
        assert out == {k: want[k] for k in ("class_name", "config")}
    elif name == "deserialize":
        for keras_init in (keras.initializers.HeUniform(seed=2), keras.initializers.Constant(3.0)):
            made = ours(keras.initializers.serialize(keras_init))
            assert type(made).__name__ == type(keras_init).__name__
            assert made.get_config() == keras_init.get_config()
        assert isinstance(ours("glorot_uniform"), initializers.GlorotUniform)
        assert isinstance(
            ours({"class_name": "Mine", "config": {}}, custom_objects={"Mine": initializers.Ones}),
            initializers.Ones,
        )
        with pytest.raises(ValueError, match="class_name"):
            ours({"config": {}})
    elif name == "get":
        for ident in (
            "he_normal",
            "Ones",
            "uniform",
            "normal",
            {"class_name": "Zeros", "config": {}},
        ):
            assert type(ours(ident)).__name__ == type(theirs(ident)).__name__
        assert isinstance(ours(initializers.Orthogonal), initializers.Orthogonal)
        array = np.arange(6.0).reshape(2, 3)
        np.testing.assert_array_equal(ours(array)((2, 3)).numpy(), _np(theirs(array)((2, 3))))
        with pytest.raises(ValueError, match="shape"):
            ours(array)((3, 2))
    else:  # pragma: no cover - every key is one of the above
        raise AssertionError(key)


@pytest.mark.parametrize("side", ["real", "imag"])
@pytest.mark.parametrize("window", ["hann", "hamming", None, "array"])
@pytest.mark.parametrize("scaling", ["density", "spectrum", None])
@pytest.mark.parametrize("periodic", [False, True])
def test_stft_kernels_equal_keras(side, window, scaling, periodic):
    if window == "array":
        window = np.linspace(0.1, 1.0, 16)
    kwargs = {"side": side, "window": window, "scaling": scaling, "periodic": periodic}
    ours = initializers.STFT(**kwargs)((16, 1, 9))
    theirs = keras.initializers.STFT(**kwargs)((16, 1, 9))
    np.testing.assert_allclose(ours.numpy(), _np(theirs), rtol=1e-5, atol=1e-5)


def test_stft_rejects_bad_arguments():
    with pytest.raises(ValueError, match="side"):
        initializers.STFT(side="both")
    with pytest.raises(ValueError, match="scaling"):
        initializers.STFT(scaling="l3")
    with pytest.raises(ValueError, match="window"):
        initializers.STFT(window=np.ones(5))((8, 1, 5))


def test_orthogonal_needs_rank_two_like_keras():
    for init in (initializers.Orthogonal(), keras.initializers.Orthogonal()):
        with pytest.raises(ValueError, match="rank"):
            init((5,))
    q = initializers.Orthogonal(seed=1)((2, 3, 4)).reshape(6, 4).double()
    np.testing.assert_allclose((q.T @ q).numpy(), np.eye(4), atol=1e-5)


def test_seed_generator_seeds_draw_anew_each_call():
    gen = random.SeedGenerator(4)
    init = initializers.RandomNormal(seed=gen)
    first, second = init((3, 3)), init((3, 3))
    assert not torch.equal(first, second)
    again = initializers.RandomNormal(seed=random.SeedGenerator(4))
    assert torch.equal(again((3, 3)), first)
    config = init.get_config()
    assert config["seed"]["class_name"] == "SeedGenerator"
    assert isinstance(initializers.RandomNormal.from_config(config).seed, random.SeedGenerator)
    fixed = initializers.GlorotUniform(seed=9)
    assert torch.equal(fixed((4, 4)), fixed((4, 4)))
