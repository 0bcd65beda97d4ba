"""Keras 3 (torch backend) as the oracle for the weights of Lamina's new spatial layers:
regularization losses (kernel, depthwise/pointwise, recurrent, bias and activity
regularizers) on copied weights, and the statistics of freshly initialized weights
(Keras computes fans from its kernel shapes; Lamina initializes in those shapes too).
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")

from lamina import layers  # noqa: E402

REGULARIZED = [
    (
        "Conv3D",
        {"filters": 2, "kernel_size": 2, "kernel_regularizer": "l2", "bias_regularizer": "l1"},
        (2, 3, 3, 3, 2),
    ),
    (
        "Conv1DTranspose",
        {"filters": 2, "kernel_size": 3, "kernel_regularizer": "l1", "activity_regularizer": "l2"},
        (2, 5, 3),
    ),
    (
        "DepthwiseConv2D",
        {"kernel_size": 3, "depthwise_regularizer": "l2", "activity_regularizer": "l1"},
        (2, 5, 5, 3),
    ),
    (
        "SeparableConv2D",
        {
            "filters": 4,
            "kernel_size": 3,
            "depthwise_regularizer": "l2",
            "pointwise_regularizer": "l1",
            "bias_regularizer": "l2",
        },
        (2, 5, 5, 3),
    ),
    (
        "ConvLSTM1D",
        {
            "filters": 2,
            "kernel_size": 2,
            "kernel_regularizer": "l2",
            "recurrent_regularizer": "l1",
            "activity_regularizer": "l2",
        },
        (2, 3, 5, 2),
    ),
]


@pytest.mark.parametrize("name,kwargs,shape", REGULARIZED, ids=[c[0] for c in REGULARIZED])
def test_regularization_losses_match_keras(name, kwargs, shape):
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape).astype(np.float32)
    k_layer = getattr(keras.layers, name)(**kwargs)
    k_layer(x)
    weights = [rng.normal(0, 0.5, size=w.shape).astype(np.float32) for w in k_layer.get_weights()]
    k_layer.set_weights(weights)
    k_layer(x)
    l_layer = getattr(layers, name)(**kwargs)
    l_layer(torch.from_numpy(x))
    l_layer.set_weights(weights)
    l_layer(torch.from_numpy(x))
    k_losses = sorted(float(keras.ops.convert_to_numpy(v)) for v in k_layer.losses)
    l_losses = sorted(float(v.detach()) for v in l_layer.losses)
    assert len(l_losses) == len(k_losses)
    np.testing.assert_allclose(l_losses, k_losses, rtol=1e-5)


INITIALIZED = [
    ("Conv3D", {"filters": 16, "kernel_size": 3}, (1, 3, 3, 3, 24)),
    ("Conv3DTranspose", {"filters": 24, "kernel_size": (2, 3, 3)}, (1, 3, 3, 3, 12)),
    ("Conv1DTranspose", {"filters": 8, "kernel_size": 5}, (1, 6, 40)),
    ("DepthwiseConv2D", {"kernel_size": 5, "depth_multiplier": 4}, (1, 6, 6, 64)),
    ("DepthwiseConv1D", {"kernel_size": 3, "depthwise_initializer": "he_normal"}, (1, 6, 128)),
    ("SeparableConv2D", {"filters": 48, "kernel_size": 3, "depth_multiplier": 2}, (1, 5, 5, 32)),
    ("ConvLSTM2D", {"filters": 16, "kernel_size": 3}, (1, 2, 5, 5, 12)),
]


@pytest.mark.parametrize("name,kwargs,shape", INITIALIZED, ids=[c[0] for c in INITIALIZED])
def test_initialized_weights_have_keras_statistics(name, kwargs, shape):
    """Same shapes, same means and standard deviations (each weight holds >= 500 values),
    so the fans come from the same kernel shapes; biases (zeros, and ones for the LSTM
    forget gate) are equal exactly."""
    x = np.zeros(shape, np.float32)
    k_layer = getattr(keras.layers, name)(**kwargs)
    k_layer(x)
    l_layer = getattr(layers, name)(**kwargs)
    l_layer(torch.from_numpy(x))
    for k_w, l_w in zip(k_layer.get_weights(), l_layer.get_weights()):
        assert k_w.shape == l_w.shape
        if k_w.ndim == 1:
            np.testing.assert_array_equal(l_w, k_w)
            continue
        assert abs(l_w.mean() - k_w.mean()) < 4 * k_w.std() / np.sqrt(k_w.size)
        np.testing.assert_allclose(l_w.std(), k_w.std(), rtol=0.12)
