"""Keras 3 itself as the reference, where installed: same config, same weights, same outputs.

Each case builds the Lamina layer and the Keras layer with the same arguments,
copies Keras's (random) weights into Lamina, and compares outputs, weight
shapes and (for BatchNormalization) the moving statistics after a training call.
"""

from __future__ import annotations

import os
import re

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")

from lamina import layers  # noqa: E402

CASES = [
    ("Conv2D", {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"}, (2, 6, 7, 2)),
    ("Conv2D", {"filters": 2, "kernel_size": 4, "strides": 3, "padding": "same"}, (1, 7, 8, 3)),
    ("Conv2D", {"filters": 4, "kernel_size": 2, "dilation_rate": 2, "groups": 2}, (1, 6, 6, 2)),
    (
        "Conv1D",
        {"filters": 3, "kernel_size": 3, "dilation_rate": 2, "padding": "causal"},
        (2, 9, 2),
    ),
    ("Conv1D", {"filters": 3, "kernel_size": 4, "strides": 2, "padding": "same"}, (2, 9, 2)),
    (
        "Conv2DTranspose",
        {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"},
        (1, 3, 4, 3),
    ),
    (
        "Conv2DTranspose",
        {"filters": 2, "kernel_size": 4, "strides": 3, "padding": "valid"},
        (1, 3, 4, 3),
    ),
    (
        "Conv2DTranspose",
        {"filters": 2, "kernel_size": 4, "strides": 3, "padding": "same", "output_padding": 1},
        (1, 3, 4, 3),
    ),
    ("MaxPooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 6, 7, 2)),
    # Symmetric 'same' padding only: for asymmetric padding Keras's torch backend averages
    # replicated edge pixels, while TensorFlow and JAX (and Lamina) exclude the padding;
    # test_layers_pooling.py checks that case against TensorFlow's rule.
    ("AveragePooling2D", {"pool_size": 3, "strides": 1, "padding": "same"}, (2, 6, 7, 2)),
    ("AveragePooling1D", {"pool_size": 2, "padding": "same"}, (2, 7, 2)),
    ("GlobalMaxPooling2D", {"keepdims": True}, (2, 3, 4, 2)),
    ("BatchNormalization", {}, (4, 3, 3, 2)),
    ("LayerNormalization", {"axis": [2, 3]}, (2, 3, 4, 2)),
    ("PReLU", {"shared_axes": [1, 2]}, (2, 3, 4, 2)),
    ("ReLU", {"max_value": 1.0, "negative_slope": 0.2, "threshold": 0.5}, (2, 6)),
    ("LeakyReLU", {}, (2, 6)),
    ("Softmax", {"axis": 1}, (2, 3, 4)),
    ("Flatten", {}, (2, 3, 4, 2)),
    ("ZeroPadding2D", {"padding": ((1, 0), (2, 1))}, (1, 3, 3, 2)),
    ("UpSampling2D", {"size": (2, 3), "interpolation": "bilinear"}, (1, 3, 3, 2)),
    ("Resizing", {"height": 4, "width": 5}, (2, 9, 12, 3)),
    ("Resizing", {"height": 13, "width": 7, "interpolation": "nearest"}, (2, 9, 12, 3)),
    ("Resizing", {"height": 5, "width": 5, "crop_to_aspect_ratio": True}, (2, 9, 12, 3)),
    ("CenterCrop", {"height": 10, "width": 10}, (2, 9, 12, 3)),
]


# tools/api_coverage.py reads this: each layer name compared with Keras here.
LAYERS_PARITY = {f"layers.{name}": [c for c in CASES if c[0] == name] for name, _, _ in CASES} | {
    "layers.Normalization": "test_normalization_adapt_matches_keras"
}


@pytest.mark.parametrize(
    "name,kwargs,shape", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_layer_matches_keras(name, kwargs, shape):
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape).astype(np.float32)
    k_layer = getattr(keras.layers, name)(**kwargs)
    k_layer.build(shape)
    weights = [
        rng.uniform(0.5, 1.5, size=w.shape).astype(np.float32) for w in k_layer.get_weights()
    ]
    if weights:
        k_layer.set_weights(weights)
    expected = keras.ops.convert_to_numpy(k_layer(x, training=False))

    l_layer = getattr(layers, name)(**kwargs)
    l_layer(torch.from_numpy(x))
    assert [w.shape for w in l_layer.get_weights()] == [w.shape for w in weights]
    if weights:
        l_layer.set_weights(weights)
    with torch.no_grad():
        got = l_layer(torch.from_numpy(x), training=False).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)
    assert l_layer.count_params() == k_layer.count_params()


def test_batch_norm_training_step_matches_keras():
    rng = np.random.default_rng(1)
    x = (rng.normal(size=(6, 3)) * 3 + 1).astype(np.float32)
    k_layer, l_layer = keras.layers.BatchNormalization(), layers.BatchNormalization()
    k_out = keras.ops.convert_to_numpy(k_layer(x, training=True))
    l_out = l_layer(torch.from_numpy(x), training=True).detach().numpy()
    np.testing.assert_allclose(l_out, k_out, rtol=1e-5, atol=1e-5)
    for got, want in zip(l_layer.get_weights(), k_layer.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_normalization_adapt_matches_keras():
    x = np.random.default_rng(2).normal(size=(20, 3)).astype(np.float32) * 2 + 1
    k_layer, l_layer = keras.layers.Normalization(), layers.Normalization()
    k_layer.adapt(x)
    l_layer.adapt(x)
    for got, want in zip(l_layer.get_weights(), k_layer.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-5)
    np.testing.assert_allclose(
        l_layer(torch.from_numpy(x)).numpy(),
        keras.ops.convert_to_numpy(k_layer(x)),
        rtol=1e-5,
        atol=1e-5,
    )


@pytest.mark.parametrize(
    "name", ["Conv2D", "MaxPooling2D", "Conv2DTranspose", "GlobalAveragePooling2D", "Dense"]
)
def test_automatic_names_match_keras(name):
    args = {"Conv2D": (1, 1), "Conv2DTranspose": (1, 1), "Dense": (1,)}.get(name, ())
    base = re.compile(r"_\d+$")  # drop the uniquifying counter: conv2d_3 -> conv2d
    k_name = base.sub("", getattr(keras.layers, name)(*args).name)
    assert base.sub("", getattr(layers, name)(*args).name) == k_name
