"""Keras 3's augmentation layers: the layer contract, identity at inference, directions against
NumPy (np.rot90, np.flip, shifted slices), draw ranges, per-image randomness, seeding, and
training inside Sequential models (eager and jit_compile=True) on real MNIST digits."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.layers import (
    GaussianNoise,
    RandomBrightness,
    RandomContrast,
    RandomCrop,
    RandomFlip,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
)
from tests.layer_harness import run_layer_test

SHAPE_PRESERVING = [
    (RandomFlip, {"mode": "horizontal", "seed": 1}),
    (RandomRotation, {"factor": 0.2, "fill_mode": "constant", "fill_value": 0.5, "seed": 2}),
    (RandomTranslation, {"height_factor": 0.2, "width_factor": (-0.1, 0.3), "seed": 3}),
    (RandomZoom, {"height_factor": (-0.3, 0.2), "width_factor": 0.1, "interpolation": "nearest"}),
    (RandomContrast, {"factor": 0.4, "value_range": (0, 1), "seed": 5}),
    (RandomBrightness, {"factor": (-0.2, 0.5), "value_range": [0, 1]}),
]
ALL = [*SHAPE_PRESERVING, (RandomCrop, {"height": 3, "width": 4, "seed": 7})]


def _images(b=4, h=6, w=8, c=3, low=0.0, high=1.0, seed=0):
    return np.random.default_rng(seed).uniform(low, high, size=(b, h, w, c)).astype(np.float32)


def _train(layer, x):
    out = layer(torch.as_tensor(x), training=True)
    return out.detach().numpy()


# ----------------------------------------------------------------------------- contract
@pytest.mark.parametrize("cls, kwargs", SHAPE_PRESERVING)
def test_layer_contract_identity_at_inference(cls, kwargs):
    run_layer_test(
        cls,
        kwargs,
        input_shape=(2, 6, 8, 3),
        expected_output_shape=(2, 6, 8, 3),
        expected_num_params=0,
        reference=lambda x, w: x,
        rtol=0,
        atol=0,
    )


def test_random_crop_contract_resizes_at_inference():
    # 6x8 -> 3x4 keeps the aspect ratio: a bilinear half-pixel resize by 2 = 2x2 block means.
    run_layer_test(
        RandomCrop,
        {"height": 3, "width": 4, "seed": 7},
        input_shape=(2, 6, 8, 3),
        expected_output_shape=(2, 3, 4, 3),
        expected_num_params=0,
        reference=lambda x, w: x.reshape(2, 3, 2, 4, 2, 3).mean(axis=(2, 4)),
    )


def test_random_crop_inference_crops_the_centre_to_the_aspect_ratio():
    x = _images(b=2, h=6, w=8)
    out = RandomCrop(6, 4)(torch.from_numpy(x)).numpy()
    np.testing.assert_array_equal(out, x[:, :, 2:6])  # no resize needed
    single = RandomCrop(6, 4)(torch.from_numpy(x[0]), training=False).numpy()
    np.testing.assert_array_equal(single, x[0, :, 2:6])


@pytest.mark.parametrize("cls, kwargs", SHAPE_PRESERVING)
def test_identity_when_not_training(cls, kwargs):
    x = torch.from_numpy(_images())
    layer = cls(**kwargs)
    assert torch.equal(layer(x), x)
    assert torch.equal(layer(x, training=False), x)
    assert torch.equal(layer(x[0], training=False), x[0])  # a single HWC image


@pytest.mark.parametrize("cls, kwargs", ALL)
def test_config_is_the_constructor_arguments(cls, kwargs):
    config = cls(**kwargs).get_config()
    for key, value in kwargs.items():
        assert config[key] == value
    assert lamina.registry.get("layer", cls.__name__) is cls
    clone = cls.from_config(config)
    assert clone.get_config() == config
    assert not list(clone.parameters()) and not list(clone.buffers())


# ----------------------------------------------------------------------------- directions
@pytest.mark.parametrize(
    "mode, axes", [("horizontal", (1,)), ("vertical", (0,)), ("horizontal_and_vertical", (0, 1))]
)
def test_random_flip_directions(mode, axes):
    x = _images(b=32, h=5, w=7, c=2)
    out = _train(RandomFlip(mode, seed=0), x)
    flipped = [np.array_equal(o, np.flip(i, axis=axes)) for o, i in zip(out, x)]
    kept = [np.array_equal(o, i) for o, i in zip(out, x)]
    assert all(f or k for f, k in zip(flipped, kept))
    assert 4 <= sum(flipped) <= 28  # about half of 32, each image drawn independently


@pytest.mark.parametrize("turn, k", [(0.25, 1), (-0.25, -1), (0.5, 2)])
def test_random_rotation_turns_counter_clockwise(turn, k):
    x = _images(b=3, h=6, w=6)
    out = _train(RandomRotation((turn, turn)), x)
    np.testing.assert_allclose(out, np.rot90(x, k=k, axes=(1, 2)), atol=1e-5)
    single = _train(RandomRotation((turn, turn)), x[0])  # one HWC image
    np.testing.assert_allclose(single, np.rot90(x[0], k=k), atol=1e-5)


def test_random_translation_moves_right_and_down_with_reflect_fill():
    x = _images(b=2, h=10, w=20)
    right = _train(RandomTranslation(0.0, (0.1, 0.1)), x)  # 10% of 20 = 2 pixels right
    np.testing.assert_allclose(right[:, :, 2:], x[:, :, :-2], atol=1e-6)
    np.testing.assert_allclose(right[:, :, :2], x[:, :, 1::-1], atol=1e-6)  # b a | a b ...
    down = _train(RandomTranslation((0.3, 0.3), 0.0, fill_mode="constant", fill_value=-1.0), x)
    np.testing.assert_allclose(down[:, 3:], x[:, :-3], atol=1e-6)
    np.testing.assert_array_equal(down[:, :3], -1.0)
    up_left = _train(RandomTranslation((-0.1, -0.1), (-0.05, -0.05), fill_mode="wrap"), x)
    np.testing.assert_allclose(up_left, np.roll(x, (-1, -1), axis=(1, 2)), atol=1e-6)


def test_random_zoom_positive_zooms_out_negative_zooms_in():
    x = _images(b=1, h=9, w=9, c=1)
    out = _train(RandomZoom((1.0, 1.0), fill_mode="constant"), x)  # zoom 2: half size
    np.testing.assert_allclose(out[0, 4, 4:7, 0], x[0, 4, [4, 6, 8], 0], atol=1e-6)
    np.testing.assert_allclose(out[0, 2:7, 4, 0], x[0, [0, 2, 4, 6, 8], 4, 0], atol=1e-6)
    assert (out[0, 0] == 0).all()
    zoom_in = _train(RandomZoom((-0.5, -0.5)), x)  # zoom 0.5: content twice the size
    np.testing.assert_allclose(zoom_in[0, 4, 5, 0], x[0, 4, 4:6, 0].mean(), rtol=1e-6)
    np.testing.assert_allclose(zoom_in[0, 5, 4, 0], x[0, 4:6, 4, 0].mean(), rtol=1e-6)
    rows_only = _train(RandomZoom((1.0, 1.0), width_factor=(0.0, 0.0)), x)
    np.testing.assert_allclose(rows_only[0, 4], x[0, 4], atol=1e-6)  # columns untouched
    np.testing.assert_allclose(rows_only[0, 5], x[0, 6], atol=1e-6)


def test_random_contrast_per_image_per_channel_mean():
    x = _images(b=64, h=5, w=6, c=3, low=100, high=150)
    out = _train(RandomContrast(0.5, seed=0), x)
    mean = x.mean(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(out.mean(axis=(1, 2), keepdims=True), mean, rtol=1e-5)
    # one factor per image, shared by its channels: recover it from channel 0
    c = (out[:, 0, 0, 0] - mean[:, 0, 0, 0]) / (x[:, 0, 0, 0] - mean[:, 0, 0, 0])
    np.testing.assert_allclose(out, (x - mean) * c[:, None, None, None] + mean, atol=1e-3)
    assert c.min() >= 0.5 - 1e-4 and c.max() <= 1.5 + 1e-4
    assert c.min() < 0.8 and c.max() > 1.2  # a float factor f draws from [1 - f, 1 + f]
    clipped = _train(RandomContrast((0.0, 1.0), value_range=(0, 1)), _images(b=8))
    assert clipped.min() >= 0.0 and clipped.max() <= 1.0


def test_random_brightness_deltas_and_clipping():
    x = _images(b=64, low=60, high=190)
    out = _train(RandomBrightness(0.2, seed=0), x)
    delta = out - x
    np.testing.assert_allclose(delta, delta[:, :1, :1, :1] + 0 * delta, atol=1e-4)  # one per image
    d = delta[:, 0, 0, 0]
    assert d.min() >= -51.0 - 1e-3 and d.max() <= 51.0 + 1e-3  # 20% of the 255 range
    assert d.min() < -20 and d.max() > 20
    np.testing.assert_array_equal(_train(RandomBrightness((1.0, 1.0)), x), 255.0)
    np.testing.assert_array_equal(_train(RandomBrightness((-1.0, -1.0)), x), 0.0)
    unit = _images(b=2)
    half = _train(RandomBrightness((0.5, 0.5), value_range=(0, 1)), unit)
    np.testing.assert_allclose(half, np.minimum(unit + 0.5, 1.0), rtol=1e-6)


def test_random_crop_training_windows():
    h, w = 10, 12
    rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    x = np.stack([rows * 100 + cols + b * 10_000 for b in range(3)])[..., None].astype(np.float32)
    layer = RandomCrop(4, 5, seed=0)
    tops, lefts = set(), set()
    for _ in range(150):
        out = _train(layer, x)
        assert out.shape == (3, 4, 5, 1)
        top, left = int(out[0, 0, 0, 0]) // 100, int(out[0, 0, 0, 0]) % 100
        np.testing.assert_array_equal(out[:, :, :, 0], x[:, top : top + 4, left : left + 5, 0])
        tops.add(top)
        lefts.add(left)
    assert tops == set(range(7)) and lefts == set(range(8))  # every valid offset occurs
    small = _train(RandomCrop(4, 5), x[:, :3, :3])  # too small: crop to aspect, resize
    assert small.shape == (3, 4, 5, 1)


# ----------------------------------------------------------------------------- ranges
def _centroid(img):
    ys, xs = np.mgrid[: img.shape[0], : img.shape[1]]
    return (img * xs).sum() / img.sum(), (img * ys).sum() / img.sum()


def test_draws_stay_within_the_factor_ranges():
    x = np.zeros((64, 21, 21, 1), np.float32)
    x[:, 10, 16] = 1.0  # a dot 6 pixels right of the centre
    shifted = _train(RandomTranslation((-0.2, 0.1), 0.0, fill_mode="constant", seed=0), x)
    dys = np.array([_centroid(o[..., 0])[1] - 10 for o in shifted])
    assert dys.min() >= -0.2 * 21 - 1e-3 and dys.max() <= 0.1 * 21 + 1e-3
    assert dys.min() < -2 and dys.max() > 1
    turned = _train(RandomRotation(0.1, fill_mode="constant", seed=0), x)
    angles = []
    for o in turned:
        cx, cy = _centroid(o[..., 0])
        angles.append(math.degrees(math.atan2(-(cy - 10), cx - 10)))  # y grows downward
    assert max(abs(a) for a in angles) <= 36 + 1.0 and min(angles) < -15 and max(angles) > 15


@pytest.mark.parametrize(
    "cls, kwargs, needle",
    [
        (RandomRotation, {"factor": 1.5}, "factor=1.5"),
        (RandomRotation, {"factor": (0.1, 0.2, 0.3)}, "factor=(0.1, 0.2, 0.3)"),
        (RandomRotation, {"factor": 0.1, "fill_mode": "mirror"}, "fill_mode='mirror'"),
        (RandomRotation, {"factor": 0.1, "interpolation": "bicubic"}, "interpolation='bicubic'"),
        (RandomTranslation, {"height_factor": 0.1, "width_factor": "x"}, "width_factor='x'"),
        (RandomZoom, {"height_factor": -1.0}, "height_factor=-1.0"),
        (RandomZoom, {"height_factor": 0.1, "width_factor": (0.1, 2)}, "width_factor=(0.1, 2)"),
        (RandomContrast, {"factor": -0.1}, "factor=-0.1"),
        (RandomContrast, {"factor": 1.5}, "factor=1.5"),
        (RandomContrast, {"factor": 0.1, "value_range": (0,)}, "value_range=(0,)"),
        (RandomBrightness, {"factor": 1.5}, "factor=1.5"),
        (RandomFlip, {"mode": "diagonal"}, "mode='diagonal'"),
        (RandomFlip, {"seed": "1"}, "seed='1'"),
        (RandomCrop, {"height": 0, "width": 3}, "height=0"),
        (RandomFlip, {"data_format": "channels_first"}, "data_format='channels_first'"),
    ],
)
def test_clear_config_errors(cls, kwargs, needle):
    with pytest.raises(ValueError, match="expected") as info:
        cls(name="aug", **kwargs)
    assert "'aug'" in str(info.value) and cls.__name__ in str(info.value)
    assert f"received: {needle}" in str(info.value)


def test_bad_rank_is_a_clear_error():
    with pytest.raises(ValueError, match=r"received: inputs_shape=\(2, 3\)"):
        RandomFlip()(torch.zeros(2, 3), training=True)


# ----------------------------------------------------------------------------- randomness
@pytest.mark.parametrize("cls, kwargs", SHAPE_PRESERVING)
def test_each_image_of_a_batch_draws_its_own_transform(cls, kwargs):
    x = np.repeat(_images(b=1, h=24, w=24, low=0.2, high=0.8), 16, axis=0)
    out = _train(cls(**kwargs), x)
    distinct = {o.tobytes() for o in out}
    assert len(distinct) >= (2 if cls is RandomFlip else 8)


@pytest.mark.parametrize("cls, kwargs", ALL)
def test_seed_makes_draws_reproducible(cls, kwargs):
    x = _images(b=8, h=8, w=8, low=0.2, high=0.8)
    kwargs = {**kwargs, "seed": 11}
    a, b = cls(**kwargs), cls(**kwargs)
    first = [_train(a, x) for _ in range(3)]
    second = [_train(b, x) for _ in range(3)]
    for f, s in zip(first, second):
        np.testing.assert_array_equal(f, s)
    assert any(not np.array_equal(first[0], f) for f in first[1:])  # calls differ
    other = _train(cls(**{**kwargs, "seed": 12}), x)
    assert not np.array_equal(first[0], other)


def test_unseeded_layers_follow_the_global_generator():
    x = _images(b=8)
    layer = RandomRotation(0.3)
    torch.manual_seed(5)
    a = _train(layer, x)
    torch.manual_seed(5)
    np.testing.assert_array_equal(_train(layer, x), a)


def test_gaussian_noise_is_exported_alongside():
    assert layers.GaussianNoise is GaussianNoise
    assert {"RandomFlip", "RandomCrop", "GaussianNoise"} <= set(layers.__all__)


# ----------------------------------------------------------------------------- in models
def _digits(n=256):
    from lamina.datasets import mnist

    (x, y), _ = mnist.load_data()
    return x[:n, :, :, None].astype(np.float32), y[:n].astype(np.int64)


def _augmented_model(jit: bool) -> lamina.Sequential:
    """A small MLP behind every augmentation layer (mild settings: digits must stay digits)."""
    lamina.utils.set_random_seed(0)
    model = lamina.Sequential(
        [
            layers.Input((28, 28, 1)),
            RandomRotation(0.03, seed=1),
            RandomZoom(0.05, seed=2),
            RandomTranslation(0.05, 0.05, seed=3),
            RandomContrast(0.1, seed=4),
            RandomBrightness(0.05, seed=5),
            RandomCrop(26, 26, seed=6),
            RandomFlip("vertical", seed=7) if jit else GaussianNoise(2.0, seed=8),
            layers.Rescaling(1 / 255),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=jit,
        device="cpu",
    )
    return model


def test_sequential_with_augmentation_trains_on_mnist():
    x, y = _digits(512)
    model = _augmented_model(jit=False)
    hist = model.fit(x, y, batch_size=32, epochs=3, verbose=0)
    assert hist.history["loss"][-1] < 0.8 * hist.history["loss"][0]
    assert hist.history["accuracy"][-1] > 0.4  # chance is 0.1
    p1, p2 = model.predict(x[:16], verbose=0), model.predict(x[:16], verbose=0)
    np.testing.assert_array_equal(p1, p2)  # inference is deterministic (a centre crop only)
    assert p1.shape == (16, 10)


def test_layers_trace_without_graph_breaks():
    x = torch.from_numpy(_images(b=4, h=8, w=8, low=0, high=255))
    for cls, kwargs in ALL:
        layer = cls(**kwargs)
        torch._dynamo.reset()
        fn = torch.compile(
            lambda t, layer=layer: layer(t, training=True), fullgraph=True, backend="eager"
        )
        assert fn(x).shape[0] == 4


def test_jit_compiled_fit_with_augmentation():
    x, y = _digits(256)
    model = _augmented_model(jit=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no fallback to eager training
        hist = model.fit(x, y, batch_size=32, epochs=3, verbose=0)
    assert all(np.isfinite(hist.history["loss"]))
    assert hist.history["loss"][-1] < 0.9 * hist.history["loss"][0]
