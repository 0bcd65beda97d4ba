"""lamina.explain's outputs equal the layers' own: Lamina's Conv2D, MaxPooling2D,
AveragePooling2D and Dense with the same weights on a batch of one, and Keras 3 for a few cases."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest
import torch

from lamina import explain, layers

CONV_CASES = [
    # (height, width, channels), (kh, kw, filters), strides, padding
    ((5, 5, 1), (3, 3, 1), 1, "same"),
    ((7, 6, 3), (3, 2, 4), 2, "same"),
    ((7, 6, 3), (3, 2, 4), 2, "valid"),
    ((6, 9, 2), (4, 3, 3), (1, 2), "same"),  # 3 rows of padding: 1 above, 2 below
    ((5, 7, 1), (1, 1, 2), 1, "valid"),
    ((9, 8, 2), (5, 5, 1), (1, 2), "valid"),
    ((3, 4, 2), (5, 4, 2), 3, "same"),  # kernel larger than the image
]


def lamina_output(layer: layers.Layer, x: np.ndarray, weights: list[np.ndarray]) -> np.ndarray:
    """The layer's output for the batch of one `x[None]`, its weights set to `weights`."""
    batch = torch.from_numpy(x[None].astype(np.float32))
    layer.build(tuple(batch.shape))
    if weights:
        layer.set_weights([w.astype(np.float32) for w in weights])
    return layer(batch).detach().numpy()[0]


def float32_values(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Values both sides hold exactly: float32 numbers, as float64."""
    return rng.normal(size=shape).astype(np.float32).astype(np.float64)


@pytest.mark.parametrize(("image_shape", "kernel_shape", "strides", "padding"), CONV_CASES)
def test_conv2d_equals_lamina_conv2d(image_shape, kernel_shape, strides, padding):
    rng = np.random.default_rng(sum(image_shape + kernel_shape))
    x = float32_values(rng, image_shape)
    kh, kw, filters = kernel_shape
    kernel = float32_values(rng, (kh, kw, image_shape[2], filters))
    bias = float32_values(rng, (filters,))
    ours = explain.conv2d(x, kernel, strides, padding, bias=bias, activation="tanh", verbose=False)
    layer = layers.Conv2D(filters, (kh, kw), strides=strides, padding=padding, activation="tanh")
    np.testing.assert_allclose(ours, lamina_output(layer, x, [kernel, bias]), rtol=1e-5, atol=1e-5)


def test_conv2d_without_channel_axes_equals_the_layers_single_filter():
    rng = np.random.default_rng(3)
    x = float32_values(rng, (6, 5))
    kernel = float32_values(rng, (3, 3))
    ours = explain.conv2d(x, kernel, 2, "same", verbose=False)
    layer = layers.Conv2D(1, 3, strides=2, padding="same", use_bias=False)
    theirs = lamina_output(layer, x[..., None], [kernel[..., None, None]])
    assert ours.shape == (3, 3)
    np.testing.assert_allclose(ours, theirs[..., 0], rtol=1e-5, atol=1e-5)


POOL_CASES = [
    ((5, 5, 1), 2, None, "valid"),
    ((5, 5, 1), 2, None, "same"),
    ((7, 6, 3), 3, 2, "same"),
    ((7, 6, 3), (3, 2), (1, 2), "valid"),
    ((6, 9, 2), (2, 4), 3, "same"),
]


@pytest.mark.parametrize(("image_shape", "pool", "strides", "padding"), POOL_CASES)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling_equals_lamina_pooling(kind, image_shape, pool, strides, padding):
    rng = np.random.default_rng(sum(image_shape))
    x = float32_values(rng, image_shape)
    explained = explain.max_pool if kind == "max" else explain.avg_pool
    ours = explained(x, pool, strides, padding, verbose=False)
    layer_class = layers.MaxPooling2D if kind == "max" else layers.AveragePooling2D
    layer = layer_class(pool, strides=strides, padding=padding)
    np.testing.assert_allclose(ours, lamina_output(layer, x, []), rtol=1e-6, atol=1e-6)


ACTIVATIONS = [
    None,
    "relu",
    "sigmoid",
    "tanh",
    "softplus",
    "elu",
    "leaky_relu",
    "step",
    "sign",
    "softmax",
]


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_equals_lamina_dense(activation):
    rng = np.random.default_rng(4)
    x = float32_values(rng, (7,)) * 3
    weights = float32_values(rng, (7, 5))
    bias = float32_values(rng, (5,))
    ours = explain.dense(x, weights, bias, activation, verbose=False)
    layer = layers.Dense(5, activation=activation)
    theirs = lamina_output(layer, x, [weights, bias])
    assert ours.shape == (5,)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


def keras_output(layer, x: np.ndarray, weights: list[np.ndarray]) -> np.ndarray:
    """Keras 3's layer on the batch of one `x[None]`, its weights set to `weights`."""
    batch = x[None].astype(np.float32)
    layer.build(batch.shape)
    if weights:
        layer.set_weights([w.astype(np.float32) for w in weights])
    return np.asarray(layer(batch).detach().cpu().numpy())[0]


def test_explain_equals_keras_3():
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(5)
    x = float32_values(rng, (7, 6, 3))
    kernel = float32_values(rng, (3, 4, 3, 2))
    bias = float32_values(rng, (2,))
    ours = explain.conv2d(x, kernel, 2, "same", bias=bias, activation="relu", verbose=False)
    layer = keras.layers.Conv2D(2, (3, 4), strides=2, padding="same", activation="relu")
    np.testing.assert_allclose(ours, keras_output(layer, x, [kernel, bias]), rtol=1e-5, atol=1e-5)

    ours = explain.max_pool(x, 3, 2, "same", verbose=False)
    theirs = keras_output(keras.layers.MaxPooling2D(3, strides=2, padding="same"), x, [])
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)

    vector = float32_values(rng, (6,))
    weights = float32_values(rng, (6, 4))
    ours = explain.dense(vector, weights, bias[:1].repeat(4), "softmax", verbose=False)
    layer = keras.layers.Dense(4, activation="softmax")
    theirs = keras_output(layer, vector, [weights, bias[:1].repeat(4)])
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
