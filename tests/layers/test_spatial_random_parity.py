"""Keras 3 (torch backend) as the oracle for Lamina's random regularization layers.

Their training outputs are random, so each layer is compared on what is defined:
the config, the identity at inference (training=False, exact), output shapes, and
over many draws the statistics of training outputs (keep rate and the scale of kept
units, noise mean and standard deviation, AlphaDropout's affine values and preserved
moments) against the formula and against Keras's own draws, plus which axes share
one keep/drop decision and that `seed=` reproduces a draw.
"""

from __future__ import annotations

import math
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")

from lamina import layers  # noqa: E402

# name -> (constructor arguments, input shape, spatial axes that share one decision)
RANDOM_PARITY: dict[str, tuple[dict, tuple, tuple]] = {
    "layers.Dropout": ({"rate": 0.3}, (64, 50, 40), ()),
    "layers.SpatialDropout1D": ({"rate": 0.4}, (400, 6, 50), (1,)),
    "layers.SpatialDropout2D": ({"rate": 0.25}, (400, 3, 4, 50), (1, 2)),
    "layers.SpatialDropout3D": ({"rate": 0.35}, (400, 2, 3, 2, 50), (1, 2, 3)),
    "layers.GaussianNoise": ({"stddev": 0.7}, (64, 50, 40), ()),
    "layers.GaussianDropout": ({"rate": 0.2}, (64, 50, 40), ()),
    "layers.AlphaDropout": ({"rate": 0.2}, (64, 50, 40), ()),
}

SELU_ALPHA_P = -1.6732632423543772848170429916717 * 1.0507009873554804934193349852946


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _inputs(name: str, shape: tuple) -> np.ndarray:
    rng = np.random.default_rng(0)
    if name == "AlphaDropout":  # standardized (SELU-normalized) activations
        return rng.normal(size=shape).astype(np.float32)
    return rng.uniform(1.0, 2.0, size=shape).astype(np.float32)  # no zeros: drops are visible


def _stats(name: str, kwargs: dict, x: np.ndarray, out: np.ndarray) -> dict[str, float]:
    """The training output's defining statistics, checking its exact structure on the way."""
    if name in ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D"):
        keep = out != 0
        rate = kwargs["rate"]
        np.testing.assert_allclose(out[keep], x[keep] / (1 - rate), rtol=1e-6)
        return {"keep": keep.mean()}
    if name == "GaussianNoise":
        noise = (out - x).astype(np.float64)
        return {"mean": noise.mean(), "std": noise.std()}
    if name == "GaussianDropout":
        factor = (out / x).astype(np.float64)
        return {"mean": factor.mean(), "std": factor.std()}
    rate = kwargs["rate"]
    a = ((1 - rate) * (1 + rate * SELU_ALPHA_P**2)) ** -0.5
    b = -a * SELU_ALPHA_P * rate
    dropped = np.isclose(out, a * SELU_ALPHA_P + b, rtol=0, atol=1e-6)
    np.testing.assert_allclose(out[~dropped], a * x[~dropped] + b, rtol=1e-5, atol=1e-5)
    return {"keep": 1 - dropped.mean(), "mean": out.mean(), "var": out.var()}


def _formula(name: str, kwargs: dict) -> dict[str, float]:
    if name == "GaussianNoise":
        return {"mean": 0.0, "std": kwargs["stddev"]}
    if name == "GaussianDropout":
        return {"mean": 1.0, "std": math.sqrt(kwargs["rate"] / (1 - kwargs["rate"]))}
    if name == "AlphaDropout":
        return {"keep": 1 - kwargs["rate"], "mean": 0.0, "var": 1.0}
    return {"keep": 1 - kwargs["rate"]}


def _check_shared_axes(out: np.ndarray, axes: tuple) -> None:
    """Every cell along `axes` makes the same keep/drop decision."""
    keep = out != 0
    for axis in axes:
        first = np.take(keep, [0], axis=axis)
        assert (keep == first).all(), f"decisions differ along axis {axis}"


def _keras_train(name: str, kwargs: dict, x: np.ndarray, seed: int) -> np.ndarray:
    layer = getattr(keras.layers, name)(**kwargs, seed=seed)
    return keras.ops.convert_to_numpy(layer(x, training=True))


def _lamina_train(name: str, kwargs: dict, x: np.ndarray, seed: int | None) -> np.ndarray:
    layer = getattr(layers, name)(**kwargs, seed=seed)
    with torch.no_grad():
        return layer(torch.from_numpy(x), training=True).numpy()


@pytest.mark.parametrize("name", sorted(RANDOM_PARITY))
def test_random_layer_matches_keras(name):
    kwargs, shape, shared = RANDOM_PARITY[name]
    short = name.removeprefix("layers.")
    x = _inputs(short, shape)
    k_layer, l_layer = getattr(keras.layers, short)(**kwargs), getattr(layers, short)(**kwargs)

    ignore = ("name", "dtype", "trainable")
    k_config = {k: v for k, v in k_layer.get_config().items() if k not in ignore}
    l_config = {k: v for k, v in l_layer.get_config().items() if k not in ignore}
    assert _plain(l_config) == _plain(k_config)

    np.testing.assert_array_equal(
        l_layer(torch.from_numpy(x), training=False).numpy(),
        keras.ops.convert_to_numpy(k_layer(x, training=False)),
    )
    np.testing.assert_array_equal(l_layer(torch.from_numpy(x)).numpy(), x)  # bare call: inference
    assert tuple(l_layer.compute_output_shape((None, *shape[1:]))) == tuple(
        k_layer.compute_output_shape((None, *shape[1:]))
    )

    k_out = _keras_train(short, kwargs, x, seed=1)
    l_out = _lamina_train(short, kwargs, x, seed=1)
    assert l_out.shape == k_out.shape == x.shape
    k_stats, l_stats = _stats(short, kwargs, x, k_out), _stats(short, kwargs, x, l_out)
    want = _formula(short, kwargs)
    decisions = x.size // math.prod(shape[a] for a in shared) if shared else x.size
    for key, value in want.items():
        # 6 standard errors of the statistic (keep rate: binomial; moments: ~1/sqrt(n))
        tol = 6 * (math.sqrt(0.25 / decisions) if key == "keep" else 1.5 / math.sqrt(x.size))
        assert abs(l_stats[key] - value) < tol, (key, l_stats[key], value)
        assert abs(k_stats[key] - value) < tol, (key, k_stats[key], value)  # the oracle agrees
        assert abs(l_stats[key] - k_stats[key]) < 2 * tol
    if shared:
        _check_shared_axes(k_out, shared)
        _check_shared_axes(l_out, shared)
        assert not (l_out != 0).all(), "some channels must be dropped"


@pytest.mark.parametrize("name", sorted(RANDOM_PARITY))
def test_random_layer_seed_reproduces_the_draw(name):
    kwargs, shape, _ = RANDOM_PARITY[name]
    short = name.removeprefix("layers.")
    x = _inputs(short, shape)[:8]
    first, again = _lamina_train(short, kwargs, x, 7), _lamina_train(short, kwargs, x, 7)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, _lamina_train(short, kwargs, x, 8))


@pytest.mark.parametrize("name", ["Dropout", "AlphaDropout"])
def test_noise_shape_shares_decisions_like_keras(name):
    x = _inputs("Dropout", (300, 5, 40))
    kwargs = {"rate": 0.5, "noise_shape": (None, 1, 40)}
    for out in (_keras_train(name, kwargs, x, 2), _lamina_train(name, kwargs, x, 2)):
        dropped = np.isclose(out, out.min()) if name == "AlphaDropout" else out == 0
        assert (dropped == dropped[:, :1]).all()
        assert 0.4 < dropped[:, 0].mean() < 0.6
        assert out.shape == x.shape
