"""Keras 3 (torch backend) as the oracle for Lamina's spatial layers: convolutions, pooling,
adaptive pooling and reshaping, in 1D, 2D and 3D.

Each case builds the Keras layer and the Lamina layer with the same arguments, gives
Keras's layer random weights and copies them into Lamina, and compares: outputs on the
same seeded input, output shapes (eager, `compute_output_shape` and symbolic), weight
names, shapes and parameter counts, and the config (initializers compared without
Keras's 'module' / 'registered_name' bookkeeping).
"""

from __future__ import annotations

import os
import warnings

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")

from lamina import layers  # noqa: E402

Case = tuple[dict, tuple]

CONV_PARITY: dict[str, list[Case]] = {
    "layers.Conv1D": [
        ({"filters": 3, "kernel_size": 3}, (2, 9, 2)),
        ({"filters": 3, "kernel_size": 3, "dilation_rate": 2, "padding": "causal"}, (2, 9, 2)),
        ({"filters": 4, "kernel_size": 4, "strides": 2, "padding": "same", "groups": 2}, (2, 9, 4)),
        ({"filters": 2, "kernel_size": 2, "use_bias": False, "activation": "relu"}, (2, 5, 3)),
    ],
    "layers.Conv2D": [
        ({"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"}, (2, 6, 7, 2)),
        ({"filters": 4, "kernel_size": (2, 3), "dilation_rate": (2, 1), "groups": 2}, (1, 6, 6, 2)),
        ({"filters": 2, "kernel_size": 1, "activation": "tanh"}, (2, 3, 4, 5)),
    ],
    "layers.Conv3D": [
        ({"filters": 2, "kernel_size": 3}, (2, 5, 6, 7, 2)),
        ({"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"}, (2, 5, 6, 7, 2)),
        (
            {"filters": 4, "kernel_size": (2, 3, 2), "padding": "same", "dilation_rate": 2},
            (1, 5, 6, 5, 2),
        ),
        ({"filters": 4, "kernel_size": 2, "groups": 2, "use_bias": False}, (1, 3, 4, 3, 4)),
        (
            {"filters": 2, "kernel_size": (4, 2, 3), "strides": (3, 1, 2), "padding": "same"},
            (1, 7, 4, 5, 2),
        ),
        ({"filters": 2, "kernel_size": 1, "data_format": "channels_last"}, (1, 2, 3, 2, 3)),
    ],
    "layers.Conv1DTranspose": [
        ({"filters": 2, "kernel_size": 3}, (2, 5, 3)),
        ({"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}, (2, 5, 3)),
        ({"filters": 2, "kernel_size": 4, "strides": 3, "padding": "same"}, (2, 5, 3)),
        ({"filters": 2, "kernel_size": 2, "strides": 3, "padding": "valid"}, (2, 5, 3)),
        ({"filters": 2, "kernel_size": 3, "strides": 3, "output_padding": 2}, (2, 5, 3)),
        (
            {"filters": 2, "kernel_size": 5, "strides": 2, "padding": "same", "output_padding": 1},
            (2, 5, 3),
        ),
        ({"filters": 3, "kernel_size": 3, "dilation_rate": 2, "padding": "same"}, (2, 5, 3)),
    ],
    "layers.Conv2DTranspose": [
        ({"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}, (1, 3, 4, 3)),
        (
            {"filters": 2, "kernel_size": (4, 3), "strides": (3, 2), "padding": "valid"},
            (1, 3, 4, 3),
        ),
        (
            {"filters": 2, "kernel_size": 4, "strides": 3, "padding": "same", "output_padding": 1},
            (1, 3, 4, 3),
        ),
        ({"filters": 2, "kernel_size": 3, "dilation_rate": 2}, (1, 3, 4, 3)),
    ],
    "layers.Conv3DTranspose": [
        ({"filters": 2, "kernel_size": 3}, (1, 3, 4, 3, 2)),
        (
            {"filters": 2, "kernel_size": (3, 2, 4), "strides": (2, 1, 3), "padding": "same"},
            (2, 3, 4, 3, 2),
        ),
        (
            {"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": (1, 0, 1)},
            (1, 3, 2, 3, 2),
        ),
    ],
    "layers.DepthwiseConv1D": [
        ({"kernel_size": 3}, (2, 7, 3)),
        ({"kernel_size": 3, "strides": 2, "padding": "same", "depth_multiplier": 2}, (2, 8, 3)),
        ({"kernel_size": 2, "dilation_rate": 2, "use_bias": False}, (2, 7, 3)),
    ],
    "layers.DepthwiseConv2D": [
        ({"kernel_size": 3}, (2, 7, 6, 3)),
        ({"kernel_size": (4, 3), "strides": (1, 2), "padding": "same"}, (2, 7, 6, 3)),
        ({"kernel_size": 3, "strides": 2, "padding": "same", "depth_multiplier": 2}, (2, 7, 6, 3)),
        (
            {
                "kernel_size": (2, 3),
                "dilation_rate": 2,
                "depth_multiplier": 3,
                "activation": "relu",
            },
            (1, 7, 6, 2),
        ),
    ],
    "layers.SeparableConv1D": [
        ({"filters": 4, "kernel_size": 3}, (2, 7, 3)),
        ({"filters": 2, "kernel_size": 2, "dilation_rate": 3, "padding": "same"}, (2, 7, 3)),
        (
            {
                "filters": 4,
                "kernel_size": 3,
                "strides": 2,
                "padding": "same",
                "depth_multiplier": 2,
            },
            (2, 8, 3),
        ),
    ],
    "layers.SeparableConv2D": [
        ({"filters": 4, "kernel_size": 3}, (2, 7, 6, 3)),
        (
            {
                "filters": 5,
                "kernel_size": 3,
                "strides": 2,
                "padding": "same",
                "depth_multiplier": 2,
            },
            (2, 7, 6, 3),
        ),
        (
            {"filters": 2, "kernel_size": (2, 3), "dilation_rate": 2, "use_bias": False},
            (1, 7, 6, 2),
        ),
    ],
}

# Keras's average pooling on the torch backend pads an asymmetric 'same' window with
# replicated edge cells (TensorFlow, JAX and Lamina count only real cells), so the
# average cases here use 'valid' or symmetric 'same' windows; see
# test_average_pooling_3d_same_padding_follows_tensorflow.
POOLING_PARITY: dict[str, list[Case]] = {
    "layers.MaxPooling1D": [
        ({}, (2, 7, 3)),
        ({"pool_size": 3, "strides": 2, "padding": "same"}, (2, 8, 3)),
    ],
    "layers.MaxPooling2D": [
        ({}, (2, 5, 6, 3)),
        ({"pool_size": (3, 2), "strides": (2, 1), "padding": "same"}, (2, 6, 7, 2)),
    ],
    "layers.MaxPooling3D": [
        ({}, (2, 5, 6, 7, 2)),
        ({"pool_size": 3, "strides": 2, "padding": "same"}, (2, 5, 6, 7, 2)),
        ({"pool_size": (2, 3, 1), "strides": (1, 2, 1)}, (1, 4, 5, 3, 2)),
        ({"pool_size": 2, "strides": 1, "padding": "same"}, (1, 4, 5, 3, 2)),
    ],
    "layers.AveragePooling1D": [
        ({"pool_size": 2}, (2, 7, 3)),
        ({"pool_size": 3, "strides": 1, "padding": "same"}, (2, 8, 3)),
    ],
    "layers.AveragePooling2D": [
        ({"pool_size": (2, 3), "strides": (1, 2)}, (2, 5, 7, 3)),
        ({"pool_size": 3, "strides": 1, "padding": "same"}, (2, 6, 7, 2)),
    ],
    "layers.AveragePooling3D": [
        ({"pool_size": 2}, (2, 5, 6, 7, 2)),
        ({"pool_size": (2, 3, 2), "strides": (1, 2, 3)}, (2, 5, 6, 7, 2)),
        ({"pool_size": 3, "strides": 1, "padding": "same"}, (1, 4, 5, 3, 2)),
    ],
    "layers.GlobalAveragePooling1D": [({}, (2, 7, 3)), ({"keepdims": True}, (2, 7, 3))],
    "layers.GlobalAveragePooling2D": [({}, (2, 5, 6, 3)), ({"keepdims": True}, (2, 5, 6, 3))],
    "layers.GlobalAveragePooling3D": [({}, (2, 3, 4, 5, 3)), ({"keepdims": True}, (2, 3, 4, 5, 3))],
    "layers.GlobalMaxPooling1D": [({}, (2, 7, 3)), ({"keepdims": True}, (2, 7, 3))],
    "layers.GlobalMaxPooling2D": [({}, (2, 5, 6, 3)), ({"keepdims": True}, (2, 5, 6, 3))],
    "layers.GlobalMaxPooling3D": [({}, (2, 3, 4, 5, 3)), ({"keepdims": True}, (2, 3, 4, 5, 3))],
    # Output sizes that divide the input, that don't (overlapping windows) and larger ones.
    "layers.AdaptiveAveragePooling1D": [
        ({"output_size": 3}, (2, 9, 3)),
        ({"output_size": 4}, (2, 7, 3)),
        ({"output_size": 10}, (2, 7, 3)),
    ],
    "layers.AdaptiveAveragePooling2D": [
        ({"output_size": 3}, (2, 9, 6, 3)),
        ({"output_size": (4, 5)}, (2, 7, 11, 2)),
    ],
    "layers.AdaptiveAveragePooling3D": [
        ({"output_size": 2}, (2, 4, 6, 4, 2)),
        ({"output_size": (3, 2, 4)}, (1, 7, 5, 6, 2)),
    ],
    "layers.AdaptiveMaxPooling1D": [
        ({"output_size": 3}, (2, 9, 3)),
        ({"output_size": 4}, (2, 7, 3)),
        ({"output_size": 10}, (2, 7, 3)),
    ],
    "layers.AdaptiveMaxPooling2D": [
        ({"output_size": 3}, (2, 9, 6, 3)),
        ({"output_size": (4, 5)}, (2, 7, 11, 2)),
    ],
    "layers.AdaptiveMaxPooling3D": [
        ({"output_size": 2}, (2, 4, 6, 4, 2)),
        ({"output_size": (3, 2, 4)}, (1, 7, 5, 6, 2)),
    ],
}
# Keras's second names of the pooling layers: the same cases through the other name.
_SHORT = {
    "MaxPool1D": "MaxPooling1D",
    "MaxPool2D": "MaxPooling2D",
    "MaxPool3D": "MaxPooling3D",
    "AvgPool1D": "AveragePooling1D",
    "AvgPool2D": "AveragePooling2D",
    "AvgPool3D": "AveragePooling3D",
    "GlobalAvgPool1D": "GlobalAveragePooling1D",
    "GlobalAvgPool2D": "GlobalAveragePooling2D",
    "GlobalAvgPool3D": "GlobalAveragePooling3D",
    "GlobalMaxPool1D": "GlobalMaxPooling1D",
    "GlobalMaxPool2D": "GlobalMaxPooling2D",
    "GlobalMaxPool3D": "GlobalMaxPooling3D",
}
POOLING_PARITY.update({f"layers.{s}": POOLING_PARITY[f"layers.{f}"] for s, f in _SHORT.items()})
# Second names of the convolutions (keras.layers.Convolution3D is keras.layers.Conv3D).
CONV_PARITY.update(
    {
        f"layers.{alias}": CONV_PARITY[f"layers.{full}"]
        for alias, full in {
            "Convolution1DTranspose": "Conv1DTranspose",
            "Convolution2DTranspose": "Conv2DTranspose",
            "Convolution3D": "Conv3D",
            "Convolution3DTranspose": "Conv3DTranspose",
            "SeparableConvolution1D": "SeparableConv1D",
            "SeparableConvolution2D": "SeparableConv2D",
        }.items()
    }
)

RESHAPING_PARITY: dict[str, list[Case]] = {
    "layers.Cropping1D": [({}, (2, 7, 3)), ({"cropping": (2, 0)}, (2, 7, 3))],
    "layers.Cropping2D": [
        ({}, (2, 5, 6, 3)),
        ({"cropping": ((1, 0), (2, 1))}, (2, 5, 6, 3)),
        ({"cropping": (1, 2)}, (2, 5, 6, 3)),
    ],
    "layers.Cropping3D": [
        ({}, (2, 4, 5, 6, 2)),
        ({"cropping": 1}, (2, 4, 5, 6, 2)),
        ({"cropping": ((1, 0), 2, (0, 3))}, (2, 4, 5, 6, 2)),
    ],
    "layers.UpSampling1D": [({}, (2, 4, 3)), ({"size": 3}, (2, 4, 3))],
    "layers.UpSampling2D": [
        ({}, (2, 3, 4, 2)),
        ({"size": (2, 3), "interpolation": "bilinear"}, (1, 3, 3, 2)),
    ],
    "layers.UpSampling3D": [({}, (2, 2, 3, 4, 2)), ({"size": (1, 2, 3)}, (2, 2, 3, 4, 2))],
    "layers.ZeroPadding1D": [({}, (2, 4, 3)), ({"padding": (2, 0)}, (2, 4, 3))],
    "layers.ZeroPadding2D": [({}, (2, 3, 4, 2)), ({"padding": ((1, 0), (2, 1))}, (2, 3, 4, 2))],
    "layers.ZeroPadding3D": [
        ({}, (2, 2, 3, 4, 2)),
        ({"padding": 2}, (1, 2, 3, 4, 2)),
        ({"padding": ((1, 0), 2, (0, 3))}, (2, 2, 3, 4, 2)),
    ],
    "layers.Flatten": [({}, (2, 3, 4, 2)), ({}, (3, 5))],
    "layers.Permute": [({"dims": (2, 1)}, (2, 3, 4)), ({"dims": (3, 1, 2)}, (2, 3, 4, 5))],
    "layers.RepeatVector": [({"n": 3}, (2, 4))],
    "layers.Reshape": [
        ({"target_shape": (4, 6)}, (2, 3, 8)),
        ({"target_shape": (-1, 2)}, (2, 3, 4)),
        ({"target_shape": (2, 3, 4)}, (2, 24)),
    ],
}


def _plain(value):
    """Config values without Keras's serialization bookkeeping; tuples as lists."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k not in ("module", "registered_name")}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _keras_weight_names(k_layer) -> list[str]:
    return [w.path.split("/")[-1] for w in k_layer.weights]


def _compare(name: str, kwargs: dict, shape: tuple, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape).astype(np.float32)
    k_layer = getattr(keras.layers, name)(**kwargs)
    k_layer(x)
    weights = [rng.normal(0.0, 0.5, size=w.shape).astype(np.float32) for w in k_layer.get_weights()]
    if weights:
        k_layer.set_weights(weights)
    expected = keras.ops.convert_to_numpy(k_layer(x, training=False))

    l_layer = getattr(layers, name)(**kwargs)
    l_layer(torch.from_numpy(x))
    assert [w.shape for w in l_layer.get_weights()] == [w.shape for w in weights]
    assert [s.name for s in l_layer._weight_specs] == _keras_weight_names(k_layer)
    if weights:
        l_layer.set_weights(weights)
    with torch.no_grad():
        got = l_layer(torch.from_numpy(x), training=False).numpy()
    assert got.shape == expected.shape, (got.shape, expected.shape)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert l_layer.count_params() == k_layer.count_params()

    per_sample = (None, *shape[1:])
    assert tuple(l_layer.compute_output_shape(per_sample)) == tuple(
        k_layer.compute_output_shape(per_sample)
    )
    k_sym = getattr(keras.layers, name)(**kwargs)(keras.Input(shape[1:]))
    l_sym = getattr(layers, name)(**kwargs)(layers.Input(shape=shape[1:]))
    assert tuple(l_sym.shape) == tuple(k_sym.shape)

    ignore = ("name", "dtype", "trainable")
    k_config = {k: v for k, v in k_layer.get_config().items() if k not in ignore}
    l_config = {k: v for k, v in l_layer.get_config().items() if k not in ignore}
    assert _plain(l_config) == _plain(k_config)


@pytest.mark.parametrize("name", sorted(CONV_PARITY))
def test_convolution_matches_keras(name):
    for kwargs, shape in CONV_PARITY[name]:
        _compare(name.removeprefix("layers."), kwargs, shape)


@pytest.mark.parametrize("name", sorted(POOLING_PARITY))
def test_pooling_matches_keras(name):
    for kwargs, shape in POOLING_PARITY[name]:
        _compare(name.removeprefix("layers."), kwargs, shape)


@pytest.mark.parametrize("name", sorted(RESHAPING_PARITY))
def test_reshaping_matches_keras(name):
    for kwargs, shape in RESHAPING_PARITY[name]:
        _compare(name.removeprefix("layers."), kwargs, shape)


def test_second_names_are_the_same_classes():
    for alias, full in {
        "Convolution1DTranspose": "Conv1DTranspose",
        "Convolution2DTranspose": "Conv2DTranspose",
        "Convolution3D": "Conv3D",
        "Convolution3DTranspose": "Conv3DTranspose",
        "SeparableConvolution1D": "SeparableConv1D",
        "SeparableConvolution2D": "SeparableConv2D",
        **_SHORT,
    }.items():
        assert getattr(keras.layers, alias) is getattr(keras.layers, full)
        assert getattr(layers, alias) is getattr(layers, full), alias


def test_global_average_pooling_1d_mask_matches_keras():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3, 6, 2)).astype(np.float32)
    mask = np.array([[1, 1, 1, 0, 0, 0], [1, 0, 1, 0, 1, 1], [1] * 6], dtype=bool)
    expected = keras.ops.convert_to_numpy(keras.layers.GlobalAveragePooling1D()(x, mask=mask))
    got = layers.GlobalAveragePooling1D()(torch.from_numpy(x), mask=torch.from_numpy(mask))
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6, atol=1e-6)


def np_avg_pool3d_same(x, pool, strides):
    """TensorFlow's 'same' average pooling of NDHWC `x`: the odd padded cell goes after and
    only real cells are averaged."""
    sizes = x.shape[1:4]
    outs = [-(-n // s) for n, s in zip(sizes, strides)]
    before = [max((o - 1) * s + p - n, 0) // 2 for o, s, p, n in zip(outs, strides, pool, sizes)]
    out = np.zeros((x.shape[0], *outs, x.shape[4]))
    for idx in np.ndindex(*outs):
        lo = [i * s - b for i, s, b in zip(idx, strides, before)]
        window = x[
            :,
            max(lo[0], 0) : lo[0] + pool[0],
            max(lo[1], 0) : lo[1] + pool[1],
            max(lo[2], 0) : lo[2] + pool[2],
        ]
        out[(slice(None), *idx)] = window.mean(axis=(1, 2, 3))
    return out


def test_average_pooling_3d_same_padding_follows_tensorflow():
    """Asymmetric 'same' windows: Lamina averages the real cells (TensorFlow's and JAX's rule);
    Keras's torch backend averages replicated edge cells too, so it differs here."""
    x = np.random.default_rng(4).normal(size=(2, 5, 4, 7, 2)).astype(np.float32)
    got = layers.AveragePooling3D(3, strides=2, padding="same")(torch.from_numpy(x)).numpy()
    want = np_avg_pool3d_same(x, (3, 3, 3), (2, 2, 2))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        keras_out = keras.ops.convert_to_numpy(
            keras.layers.AveragePooling3D(3, strides=2, padding="same")(x)
        )
    assert not np.allclose(keras_out, want, atol=1e-3)  # the torch backend's known quirk


def np_adaptive(x, out_size, op):
    """Adaptive pooling of (N, L, C) by the bin rule [floor(i L / n), ceil((i + 1) L / n))."""
    length = x.shape[1]
    cells = []
    for i in range(out_size):
        start, end = (i * length) // out_size, -(-((i + 1) * length) // out_size)
        cells.append(op(x[:, start:end], axis=1))
    return np.stack(cells, axis=1)


@pytest.mark.parametrize("length,out_size", [(7, 3), (10, 4), (5, 5), (3, 5), (9, 2)])
def test_adaptive_pooling_bins_follow_the_floor_ceil_rule(length, out_size):
    """The bin rule Keras's JAX/TF backends implement and PyTorch (its torch backend) uses."""
    x = np.random.default_rng(length).normal(size=(2, length, 3)).astype(np.float32)
    avg = layers.AdaptiveAveragePooling1D(out_size)(torch.from_numpy(x)).numpy()
    mx = layers.AdaptiveMaxPooling1D(out_size)(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(avg, np_adaptive(x, out_size, np.mean), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(mx, np_adaptive(x, out_size, np.max))


def test_activity_regularization_matches_keras():
    x = np.random.default_rng(5).normal(size=(4, 3, 2)).astype(np.float32)
    k_layer = keras.layers.ActivityRegularization(l1=0.1, l2=0.03)
    l_layer = layers.ActivityRegularization(l1=0.1, l2=0.03)
    k_out = keras.ops.convert_to_numpy(k_layer(x))
    l_out = l_layer(torch.from_numpy(x)).numpy()
    np.testing.assert_array_equal(l_out, k_out)
    k_loss = sum(float(keras.ops.convert_to_numpy(v)) for v in k_layer.losses)
    l_loss = sum(float(v) for v in l_layer.losses)
    np.testing.assert_allclose(l_loss, k_loss, rtol=1e-5)
    assert l_layer.get_config()["l1"] == k_layer.get_config()["l1"]
    assert l_layer.get_config()["l2"] == k_layer.get_config()["l2"]
    assert l_layer.compute_output_shape((None, 3, 2)) == (None, 3, 2)


# ActivityRegularization's case is its own test above.
OTHER_PARITY = {"layers.ActivityRegularization": "test_activity_regularization_matches_keras"}


@pytest.mark.parametrize("name", sorted(OTHER_PARITY))
def test_other_parity_names_have_a_test(name):
    assert OTHER_PARITY[name] in globals()
    assert hasattr(layers, name.removeprefix("layers."))


@pytest.mark.parametrize("strides", [1, 2, 3])
def test_conv1d_transpose_sizes_and_values_sweep_matches_keras(strides):
    """Every kernel size 1-5, both paddings and every output_padding (None, 0..strides-1):
    the cropping of PyTorch's full transposed convolution reproduces Keras's outputs."""
    for kernel in range(1, 6):
        for padding in ("valid", "same"):
            for output_padding in [None, *range(strides)]:
                kwargs = {
                    "filters": 2,
                    "kernel_size": kernel,
                    "strides": strides,
                    "padding": padding,
                    "output_padding": output_padding,
                }
                _compare_outputs("Conv1DTranspose", kwargs, (2, 4, 3))


def _compare_outputs(name: str, kwargs: dict, shape: tuple) -> None:
    """The cheap part of `_compare`: outputs and compute_output_shape on Keras's weights."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=shape).astype(np.float32)
    k_layer = getattr(keras.layers, name)(**kwargs)
    k_layer.build(shape)
    weights = [rng.normal(0.0, 0.5, size=w.shape).astype(np.float32) for w in k_layer.get_weights()]
    k_layer.set_weights(weights)
    expected = keras.ops.convert_to_numpy(k_layer(x))
    l_layer = getattr(layers, name)(**kwargs)
    l_layer.build(shape)
    l_layer.set_weights(weights)
    with torch.no_grad():
        got = l_layer(torch.from_numpy(x)).numpy()
    assert got.shape == expected.shape, (kwargs, got.shape, expected.shape)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    per_sample = (None, *shape[1:])
    assert tuple(l_layer.compute_output_shape(per_sample)) == tuple(
        k_layer.compute_output_shape(per_sample)
    )
