"""Initializers against Keras 3 (the oracle): written-out classes, Keras's constructors and
configs, Keras's fan/scale/distribution rule, and samples with Keras's statistics."""

from __future__ import annotations

import inspect
import math
import os
import re

import numpy as np
import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

from keras.src.initializers.random_initializers import compute_fans  # noqa: E402

from lamina import initializers, registry  # noqa: E402

PUBLIC = sorted(
    name
    for name, obj in vars(initializers).items()
    if not name.startswith("_")
    and inspect.isclass(obj)
    and issubclass(obj, initializers.Initializer)
    and obj is not initializers.Initializer
    and obj.__name__ == name  # the lowercase and compatibility aliases are the same classes
)
FAMILY = ["GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "LecunNormal", "LecunUniform"]
SHAPES = [(300, 200), (3, 3, 32, 64), (4000,)]
TRUNCATION = 0.87962566103423978  # stddev of a unit normal truncated at +-2


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def test_variance_scaling_family_is_public():
    assert set(FAMILY) <= set(PUBLIC)


@pytest.mark.parametrize("name", PUBLIC)
def test_initializer_is_a_class_statement_with_its_registry_names(name):
    cls = getattr(initializers, name)
    assert cls.__module__.startswith("lamina.initializers.")
    lines, _ = inspect.getsourcelines(cls)
    assert re.search(rf"^class {name}\(", "".join(lines), re.MULTILINE)
    assert registry.get("initializer", name) is cls
    assert registry.get("initializer", _snake(name)) is cls
    assert isinstance(initializers.get(_snake(name)), cls)


@pytest.mark.parametrize("name", PUBLIC)
def test_constructor_and_config_are_keras_3s(name):
    ours_cls, theirs_cls = getattr(initializers, name), getattr(keras.initializers, name)
    ours = [(p.name, p.default) for p in inspect.signature(ours_cls.__init__).parameters.values()][
        1:
    ]
    theirs_params = list(inspect.signature(theirs_cls.__init__).parameters.values())[1:]
    if all(p.kind is p.POSITIONAL_OR_KEYWORD for p in theirs_params):  # Zeros/Ones take *args
        assert ours == [(p.name, p.default) for p in theirs_params]
    config = ours_cls().get_config()
    if name == "Identity":  # Keras 3 leaves `gain` out of its config (and loses it)
        assert config == {"gain": 1.0}
    else:
        assert config == theirs_cls().get_config()
    again = initializers.get(initializers.serialize(ours_cls(**config)))
    assert type(again) is ours_cls and again.get_config() == config


@pytest.mark.parametrize("name", [*FAMILY, "VarianceScaling"])
def test_scale_mode_and_distribution_are_keras_3s(name):
    ours, theirs = getattr(initializers, name)(), getattr(keras.initializers, name)()
    for attr in ("scale", "mode", "distribution", "input_axes", "output_axes"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr


@pytest.mark.parametrize(
    "shape,axes",
    [((5,), None), ((7, 3), None), ((3, 3, 8, 16), None), ((2, 5, 3, 4, 6), None)]
    + [((4, 5, 6), ([0], [1, 2])), ((3, 3, 8, 16), ([0, 1, 2], [3]))],
)
def test_fans_are_keras_3s(shape, axes):
    kwargs = {} if axes is None else {"input_axes": axes[0], "output_axes": axes[1]}
    want = compute_fans(shape, **kwargs)
    assert initializers._fans(shape, *(axes or (None, None))) == tuple(map(float, want))


def _check_samples(w: np.ndarray, distribution: str, var: float, outliers: float = 0.0) -> None:
    """Mean, stddev and range of `w` against Keras's formula; `outliers` is the fraction
    allowed past the truncation bound (Keras's torch backend keeps the 4th of 4 draws even
    when all fall outside, about 4e-6 of the values)."""
    std = math.sqrt(var)
    assert abs(w.mean()) < 5 * std / math.sqrt(w.size)
    assert w.std() == pytest.approx(std, rel=0.04)
    top = np.abs(w).max()
    if distribution == "uniform":
        limit = math.sqrt(3 * var)
        assert 0.98 * limit < top <= limit * (1 + 1e-6)
    elif distribution == "truncated_normal":
        bound = 2 * std / TRUNCATION * (1 + 1e-6)
        assert np.quantile(np.abs(w), 0.999) > 0.95 * bound
        assert (np.abs(w) > bound).mean() <= outliers
    else:
        assert top > 2.5 * std / TRUNCATION


CASES = [(name, {}) for name in FAMILY] + [
    ("VarianceScaling", {"scale": 0.5, "mode": "fan_out", "distribution": "untruncated_normal"}),
    ("VarianceScaling", {"scale": 3.0, "mode": "fan_avg", "distribution": "uniform"}),
    ("VarianceScaling", {"scale": 2.0, "mode": "fan_in", "distribution": "normal"}),
    ("HeNormal", {"input_axes": [0, 1, 2], "output_axes": [3]}),
    ("GlorotUniform", {"input_axes": [3], "output_axes": [0, 1, 2]}),
]


SAMPLE_CASES = [
    pytest.param(name, kwargs, shape, id=f"{name}-{kwargs}-{shape}")
    for name, kwargs in CASES
    for shape in SHAPES
    if "input_axes" not in kwargs or len(shape) == 4  # the axes name a 4-d kernel's dims
]


@pytest.mark.parametrize("name,kwargs,shape", SAMPLE_CASES)
def test_samples_have_keras_3s_statistics(name, kwargs, shape):
    theirs_init = getattr(keras.initializers, name)(seed=3, **kwargs)
    fan_in, fan_out = compute_fans(
        shape, input_axes=theirs_init.input_axes, output_axes=theirs_init.output_axes
    )
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}
    var = theirs_init.scale / max(1.0, n[theirs_init.mode])
    ours = getattr(initializers, name)(seed=3, **kwargs)(shape).numpy().astype(np.float64)
    theirs = keras.ops.convert_to_numpy(theirs_init(shape)).astype(np.float64)
    assert ours.shape == theirs.shape == shape
    _check_samples(theirs, theirs_init.distribution, var, 1e-4)  # the rule is Keras's ...
    _check_samples(ours, theirs_init.distribution, var)  # ... and Lamina draws by it


def test_normal_distribution_means_truncated_as_in_keras():
    init = initializers.VarianceScaling(distribution="Normal", seed=0)
    assert init.get_config()["distribution"] == "truncated_normal"
    w = init((200, 300)).numpy()
    assert np.abs(w).max() <= 2 * math.sqrt(1 / 200) / TRUNCATION * (1 + 1e-6)


@pytest.mark.parametrize("scale", [0.0, -1.0])
def test_scale_must_be_positive(scale):
    with pytest.raises(ValueError, match=rf"Expected a positive scale, received: scale={scale}"):
        initializers.VarianceScaling(scale=scale)


@pytest.mark.parametrize("name", FAMILY)
def test_seeds_repeat_and_dtypes(name):
    cls = getattr(initializers, name)
    a, b, c = cls(seed=1)((20, 30)), cls(seed=1)((20, 30)), cls(seed=2)((20, 30))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.dtype == torch.float32 and cls(seed=1)((20, 30), "float64").dtype == torch.float64


@pytest.mark.parametrize(
    "name,kwargs,check",
    [
        ("RandomNormal", {"mean": 0.5, "stddev": 0.2}, lambda w: (w.mean(), w.std())),
        ("TruncatedNormal", {"mean": -0.1, "stddev": 0.3}, lambda w: _spread(w)),
        ("RandomUniform", {"minval": -0.2, "maxval": 0.6}, lambda w: (w.mean(), w.min(), w.max())),
        ("Orthogonal", {"gain": 1.5}, lambda w: tuple((w.T @ w).ravel())),
        ("Identity", {"gain": 2.0}, lambda w: tuple(w.ravel())),
        ("Constant", {"value": 0.7}, lambda w: tuple(w.ravel())),
        ("Zeros", {}, lambda w: tuple(w.ravel())),
        ("Ones", {}, lambda w: tuple(w.ravel())),
    ],
)
def test_other_initializers_have_keras_3s_statistics(name, kwargs, check):
    """Keras's torch TruncatedNormal leaves a few values past 2 stddev: compare quantiles,
    and check Lamina's bound exactly."""
    shape = (400, 300) if name in ("RandomNormal", "TruncatedNormal", "RandomUniform") else (6, 4)
    ours = getattr(initializers, name)(**kwargs)(shape).numpy().astype(np.float64)
    theirs = keras.ops.convert_to_numpy(getattr(keras.initializers, name)(**kwargs)(shape))
    np.testing.assert_allclose(check(ours), check(theirs.astype(np.float64)), rtol=0.02, atol=0.01)
    if name == "TruncatedNormal":
        assert -0.7 - 1e-6 <= ours.min() and ours.max() <= 0.5 + 1e-6


def _spread(w: np.ndarray) -> tuple[float, ...]:
    return (w.mean(), w.std(), *np.quantile(w, [0.001, 0.5, 0.999]))


@pytest.mark.parametrize("name", ["uniform", "normal"])
def test_keras_short_names_resolve_as_in_keras(name):
    """keras.initializers.get("uniform") is RandomUniform (Embedding's default), "normal"
    RandomNormal: the same class and config as Keras 3's."""
    ours, theirs = initializers.get(name), keras.initializers.get(name)
    assert type(ours).__name__ == type(theirs).__name__
    assert ours.get_config() == {k: theirs.get_config()[k] for k in ours.get_config()}


def test_skip_initialization_allocates_weights_without_drawing():
    """Inside the scope a layer's weights are allocated, and no random generator moves;
    outside (and after the scope, even one left by an exception) they are drawn again."""
    from lamina import layers
    from lamina.initializers.skipping import initialization_skipped, skip_initialization

    torch.manual_seed(0)
    before = torch.random.get_rng_state()
    with skip_initialization():
        assert initialization_skipped()
        dense = layers.Dense(64, kernel_initializer="he_normal")
        dense.build((None, 32))
    assert torch.equal(torch.random.get_rng_state(), before)
    assert dense.get_weights()[0].shape == (32, 64) and dense.kernel.dtype == torch.float32
    with pytest.raises(RuntimeError, match="inside"):
        with skip_initialization():
            raise RuntimeError("inside")
    assert not initialization_skipped()
    drawn = layers.Dense(64, kernel_initializer="he_normal")
    drawn.build((None, 32))
    assert not torch.equal(torch.random.get_rng_state(), before)
    assert 0.15 < float(np.std(drawn.get_weights()[0])) < 0.35  # he_normal: sqrt(2 / 32) = 0.25
