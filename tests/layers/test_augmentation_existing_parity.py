"""Parity of Lamina's first image layers (augmentation.py, preprocessing.py) against
keras.layers (torch backend).

The random layers draw from their own torch generators, not Keras's SeedGenerator, so:
degenerate factor ranges (a single value) and probability-one settings are compared value
for value with Keras; otherwise the draws are compared by statistics over many images
(flip rate, contrast factor range and mean, crop offsets), with shapes, dtypes and the
configs' keys. Rescaling, Resizing and CenterCrop are deterministic and compared directly.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

from lamina import layers  # noqa: E402

RNG = np.random.RandomState(31)
X = (RNG.rand(4, 9, 12, 3) * 255).astype("float32")
SQ = (RNG.rand(3, 10, 10, 3) * 255).astype("float32")


def _np(t) -> np.ndarray:
    return keras.ops.convert_to_numpy(t)


def _close(expected, got, atol: float = 2e-3) -> None:
    e, g = _np(expected), got.detach().numpy()
    assert g.shape == e.shape and g.dtype == e.dtype
    np.testing.assert_allclose(g, e, rtol=1e-5, atol=atol)


def _keys(lam, k) -> None:
    drop = {"name", "dtype", "trainable"}
    assert set(lam.get_config()) - drop == set(k.get_config()) - drop


# layer -> (kwargs, images): degenerate ranges, so Keras and Lamina make the same transform
DETERMINISTIC = {
    "layers.RandomRotation": [
        ({"factor": (0.25, 0.25)}, SQ),  # a quarter turn: exact pixels
        ({"factor": (-0.25, -0.25), "interpolation": "nearest"}, SQ),
        ({"factor": (0.1, 0.1)}, X),
        ({"factor": (0.07, 0.07), "fill_mode": "constant", "fill_value": 9.0}, X),
        ({"factor": (-0.12, -0.12), "fill_mode": "wrap", "interpolation": "nearest"}, X),
        ({"factor": (0.2, 0.2), "fill_mode": "nearest"}, X),
    ],
    "layers.RandomTranslation": [
        ({"height_factor": (0.2, 0.2), "width_factor": (-0.25, -0.25)}, X),
        ({"height_factor": (-0.15, -0.15), "width_factor": (0.1, 0.1), "fill_mode": "constant",
          "fill_value": 3.0, "interpolation": "nearest"}, X),
        ({"height_factor": (0.33, 0.33), "width_factor": (0.0, 0.0), "fill_mode": "wrap"}, X),
        ({"height_factor": (0.1, 0.1), "width_factor": (0.3, 0.3), "fill_mode": "nearest"}, X),
    ],
    "layers.RandomZoom": [
        ({"height_factor": (0.3, 0.3)}, X),
        ({"height_factor": (-0.2, -0.2), "width_factor": (0.1, 0.1), "fill_mode": "constant"}, X),
        ({"height_factor": (0.5, 0.5), "interpolation": "nearest", "fill_mode": "wrap"}, X),
        ({"height_factor": (-0.4, -0.4), "fill_mode": "nearest"}, X),
    ],
    "layers.RandomBrightness": [
        ({"factor": (0.1, 0.1)}, X),
        ({"factor": (-0.3, -0.3), "value_range": (0, 1)}, X / 255.0),
        ({"factor": (0.9, 0.9)}, X),
    ],
}  # fmt: skip

EXISTING_PARITY = {
    **DETERMINISTIC,
    "layers.RandomFlip": ["horizontal", "vertical", "horizontal_and_vertical"],
    "layers.RandomContrast": [(0.2, 0.5), (0.0, 0.3)],
    "layers.RandomCrop": [(4, 6), (9, 5)],
    "layers.Rescaling": [
        {"scale": 1 / 255.0},
        {"scale": 1 / 127.5, "offset": -1.0},
        {"scale": [0.5, 2.0, 1.0], "offset": [1.0, 0.0, -3.0]},
    ],
    "layers.Resizing": [
        {"height": 5, "width": 7},
        {"height": 14, "width": 20, "interpolation": "nearest"},
        {"height": 6, "width": 6, "crop_to_aspect_ratio": True},
        {"height": 6, "width": 6, "pad_to_aspect_ratio": True, "fill_value": 2.0},
        {"height": 4, "width": 5, "antialias": True},
    ],
    "layers.CenterCrop": [(5, 7), (9, 12), (12, 16), (3, 10)],
}


@pytest.mark.parametrize("name", sorted(EXISTING_PARITY))
def test_existing_image_layer_matches_keras(name: str) -> None:
    short = name.split(".")[-1]
    for case in EXISTING_PARITY[name]:
        if name in DETERMINISTIC:
            kwargs, images = case
            k, lam = getattr(keras.layers, short)(**kwargs), getattr(layers, short)(**kwargs)
            _close(k(images.copy(), training=True), lam(torch.from_numpy(images), training=True))
            _close(
                k(images[0].copy(), training=True), lam(torch.from_numpy(images[0]), training=True)
            )
            np.testing.assert_array_equal(lam(torch.from_numpy(images)).numpy(), images)
            _keys(lam, k)
        elif short == "RandomFlip":
            _flip_case(case)
        elif short == "RandomContrast":
            _contrast_case(case)
        elif short == "RandomCrop":
            _crop_case(*case)
        elif short == "CenterCrop":
            k, lam = keras.layers.CenterCrop(*case), layers.CenterCrop(*case)
            _close(k(X.copy()), lam(torch.from_numpy(X)), atol=1e-4)
            assert tuple(lam.compute_output_shape(X.shape)) == tuple(
                k.compute_output_shape(X.shape)
            )
            _keys(lam, k)
        else:  # Rescaling, Resizing
            k, lam = getattr(keras.layers, short)(**case), getattr(layers, short)(**case)
            _close(k(X.copy()), lam(torch.from_numpy(X)), atol=1e-4)
            x8 = X.astype("uint8")
            e8, g8 = _np(k(x8.copy())), lam(torch.from_numpy(x8)).numpy()
            if short == "Resizing":  # Keras keeps uint8 (rounded); Lamina's Resizing gives float32
                assert e8.dtype == np.uint8 and g8.dtype == np.float32
                np.testing.assert_allclose(np.round(g8), e8, atol=1)
            else:
                np.testing.assert_allclose(g8, e8, rtol=1e-5, atol=1e-4)
                assert g8.dtype == e8.dtype
            assert tuple(lam.compute_output_shape(X.shape)) == tuple(
                k.compute_output_shape(X.shape)
            )
            _keys(lam, k)


def _flip_case(mode: str) -> None:
    """Each output is the image or its flip for `mode`, about half of them flipped, in both."""
    x = (RNG.rand(200, 3, 4, 1)).astype("float32")
    axes = {"horizontal": (2,), "vertical": (1,), "horizontal_and_vertical": (1, 2)}[mode]
    flipped = np.flip(x, axes)
    k, lam = keras.layers.RandomFlip(mode, seed=3), layers.RandomFlip(mode, seed=3)
    rates = []
    for out in (_np(k(x.copy(), training=True)), lam(torch.from_numpy(x), training=True).numpy()):
        same = np.all(out == x, axis=(1, 2, 3))
        flip = np.all(out == flipped, axis=(1, 2, 3))
        assert np.all(same | flip)
        rates.append(flip.mean())
    assert 0.38 < rates[0] < 0.62 and 0.38 < rates[1] < 0.62
    _keys(lam, k)


def _contrast_case(factor: tuple) -> None:
    """The per-image contrast factor c = (y - mean) / (x - mean), recovered from the outputs,
    spans [1 - lower, 1 + upper] in both, with matching means (a pair factor means the same
    in Lamina and Keras 3.15)."""
    x = (RNG.rand(300, 4, 4, 1) * 100 + 50).astype("float32")
    mean = x.mean(axis=(1, 2), keepdims=True)
    lower, upper = factor
    kw = {"factor": factor, "value_range": (0, 1000)}
    k, lam = keras.layers.RandomContrast(seed=5, **kw), layers.RandomContrast(seed=5, **kw)
    cs = []
    for out in (_np(k(x.copy(), training=True)), lam(torch.from_numpy(x), training=True).numpy()):
        c = ((out - mean) / (x - mean)).reshape(300, -1)
        assert np.allclose(c, c[:, :1], atol=1e-3)  # one factor per image
        c = c[:, 0]
        assert c.min() >= 1 - lower - 1e-4 and c.max() <= 1 + upper + 1e-4
        assert c.max() - c.min() > 0.8 * (upper + lower)
        cs.append(c.mean())
    assert cs[1] == pytest.approx(cs[0], abs=0.04)
    assert cs[1] == pytest.approx(1 + (upper - lower) / 2, abs=0.04)
    _keys(lam, k)


def _crop_case(height: int, width: int) -> None:
    """Training crops are windows of the input (one place per batch in both) whose offsets
    cover the possible range (the central window when the image is not larger than the
    target in both dimensions); shapes and compute_output_shape match Keras."""
    k, lam = (
        keras.layers.RandomCrop(height, width, seed=2),
        layers.RandomCrop(height, width, seed=2),
    )
    offsets: list[set] = [set(), set()]
    for _ in range(12):
        for i, out in enumerate(
            (_np(k(X.copy(), training=True)), lam(torch.from_numpy(X), training=True).numpy())
        ):
            assert out.shape == (4, height, width, 3)
            found = [
                (t, left)
                for t in range(X.shape[1] - height + 1)
                for left in range(X.shape[2] - width + 1)
                if np.array_equal(out, X[:, t : t + height, left : left + width])
            ]
            assert len(found) == 1
            offsets[i].add(found[0])
    if X.shape[1] > height and X.shape[2] > width:
        assert len(offsets[0]) > 3 and len(offsets[1]) > 3
    else:  # not larger in both dimensions: the central window, in both
        assert len(offsets[0]) == 1 and offsets[0] == offsets[1]
    assert tuple(lam.compute_output_shape(X.shape)) == tuple(k.compute_output_shape(X.shape))
    _keys(lam, k)


def test_random_contrast_number_factor_is_symmetric() -> None:
    """Lamina reads factor=f as [1 - f, 1 + f] (Keras's documentation, Keras 2); Keras 3.15's
    code gives [1, 1 + f]."""
    x = (RNG.rand(300, 4, 4, 1) * 100 + 50).astype("float32")
    mean = x.mean(axis=(1, 2), keepdims=True)
    out = layers.RandomContrast(0.4, value_range=(0, 1000), seed=1)(
        torch.from_numpy(x), training=True
    )
    c = ((out.numpy() - mean) / (x - mean)).reshape(300, -1)[:, 0]
    assert c.min() < 0.7 and c.max() > 1.3 and c.min() >= 0.6 - 1e-4 and c.max() <= 1.4 + 1e-4
