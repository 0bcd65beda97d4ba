"""The shared layer harness (tests/layer_harness.py) on the new spatial layers: 3D and
transposed convolutions, depthwise/separable convolutions, 3D and adaptive pooling, 3D
reshaping, SpatialDropout3D and AlphaDropout; each with config round trips, weights,
gradients and a `fit` step. Values come from torch.nn/NumPy references here and from
Keras in test_spatial_parity.py.

Compiling a model costs seconds, so only Conv3D, SeparableConv2D (the depthwise and
pointwise path) and AlphaDropout (random in a compiled step) compile their fit.
"""

import numpy as np
import pytest
import torch
from layer_harness import run_layer_test

from lamina.layers import (
    AdaptiveAveragePooling1D,
    AdaptiveAveragePooling2D,
    AdaptiveAveragePooling3D,
    AdaptiveMaxPooling1D,
    AdaptiveMaxPooling2D,
    AdaptiveMaxPooling3D,
    AlphaDropout,
    AveragePooling3D,
    Conv1DTranspose,
    Conv3D,
    Conv3DTranspose,
    Cropping3D,
    DepthwiseConv1D,
    DepthwiseConv2D,
    GlobalAveragePooling3D,
    GlobalMaxPooling3D,
    MaxPooling3D,
    SeparableConv1D,
    SeparableConv2D,
    SpatialDropout3D,
    UpSampling3D,
    ZeroPadding3D,
)


def _cf(x):
    return torch.from_numpy(x).movedim(-1, 1)


def _cl(t):
    return t.movedim(1, -1).numpy()


def conv3d_reference(groups=1, stride=1, dilation=1):
    def reference(x, w):
        kernel = torch.from_numpy(w[0]).permute(4, 3, 0, 1, 2)
        bias = torch.from_numpy(w[1]) if len(w) > 1 else None
        return _cl(torch.nn.functional.conv3d(_cf(x), kernel, bias, stride, 0, dilation, groups))

    return reference


def test_conv3d_valid_matches_torch_conv3d():
    run_layer_test(
        Conv3D,
        {"filters": 4, "kernel_size": (2, 3, 2), "groups": 2},
        input_shape=(2, 4, 5, 3, 2),
        expected_output_shape=(2, 3, 3, 2, 4),
        expected_num_params=2 * 3 * 2 * 1 * 4 + 4,
        reference=conv3d_reference(groups=2),
    )


def test_conv3d_same_strided():
    run_layer_test(
        Conv3D,
        {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same", "use_bias": False},
        input_shape=(2, 5, 4, 3, 2),
        expected_output_shape=(2, 3, 2, 2, 2),
        expected_num_params=27 * 2 * 2,
        compiled_fit=False,
    )


def test_conv1d_transpose_valid_matches_torch():
    def reference(x, w):
        kernel = torch.from_numpy(w[0]).permute(2, 1, 0)  # (k, out, in) -> (in, out, k)
        out = torch.nn.functional.conv_transpose1d(_cf(x), kernel, torch.from_numpy(w[1]), 2)
        return _cl(out)

    run_layer_test(
        Conv1DTranspose,
        {"filters": 3, "kernel_size": 3, "strides": 2},
        input_shape=(2, 5, 2),
        expected_output_shape=(2, 11, 3),
        expected_num_params=3 * 3 * 2 + 3,
        reference=reference,
        compiled_fit=False,
    )


@pytest.mark.parametrize(
    "kwargs,out",
    [({"strides": 2, "padding": "same"}, (4, 6, 4)), ({"output_padding": 0}, (2, 5, 3))],
)
def test_conv3d_transpose_shapes(kwargs, out):
    run_layer_test(
        Conv3DTranspose,
        {"filters": 2, "kernel_size": (1, 3, 2), **kwargs},
        input_shape=(2, 2, 3, 2, 3),
        expected_output_shape=(2, *out, 2),
        expected_num_params=1 * 3 * 2 * 2 * 3 + 2,
        compiled_fit=False,
    )


def depthwise_reference(stride=1):
    def reference(x, w):
        kernel = torch.from_numpy(w[0])  # (*k, in, multiplier)
        rank = kernel.dim() - 2
        weight = kernel.permute(rank, rank + 1, *range(rank)).reshape(-1, 1, *kernel.shape[:rank])
        conv = torch.nn.functional.conv1d if rank == 1 else torch.nn.functional.conv2d
        out = conv(_cf(x), weight, torch.from_numpy(w[1]), stride, groups=kernel.shape[rank])
        return _cl(out)

    return reference


def test_depthwise_conv2d_matches_grouped_torch_conv():
    run_layer_test(
        DepthwiseConv2D,
        {"kernel_size": (2, 3), "strides": 2, "depth_multiplier": 2},
        input_shape=(2, 5, 7, 3),
        expected_output_shape=(2, 2, 3, 6),
        expected_num_params=2 * 3 * 3 * 2 + 6,
        reference=depthwise_reference(stride=2),
        compiled_fit=False,
    )


def test_depthwise_conv1d_matches_grouped_torch_conv():
    run_layer_test(
        DepthwiseConv1D,
        {"kernel_size": 3, "depth_multiplier": 3},
        input_shape=(2, 6, 2),
        expected_output_shape=(2, 4, 6),
        expected_num_params=3 * 2 * 3 + 6,
        reference=depthwise_reference(),
        compiled_fit=False,
    )


def separable_reference(x, w):
    depthwise = depthwise_reference()(x, [w[0], np.zeros(w[1].shape[-2], np.float32)])
    return depthwise @ w[1].reshape(w[1].shape[-2:]) + w[2]


@pytest.mark.parametrize(
    "cls,shape,out",
    [(SeparableConv2D, (2, 5, 4, 3), (2, 3, 2, 4)), (SeparableConv1D, (2, 6, 3), (2, 4, 4))],
)
def test_separable_conv_is_depthwise_then_pointwise(cls, shape, out):
    rank = len(shape) - 2
    run_layer_test(
        cls,
        {"filters": 4, "kernel_size": 3, "depth_multiplier": 2},
        input_shape=shape,
        expected_output_shape=out,
        expected_num_params=3**rank * 3 * 2 + 6 * 4 + 4,
        expected_num_trainable_weights=3,
        reference=separable_reference,
        compiled_fit=cls is SeparableConv2D,
    )


def test_separable_conv_regularizers_and_weight_names():
    layer = SeparableConv2D(
        2, 3, depthwise_regularizer="l2", pointwise_regularizer="l1", bias_regularizer="l2"
    )
    layer(torch.randn(1, 4, 4, 3))
    assert [s.name for s in layer._weight_specs] == ["depthwise_kernel", "pointwise_kernel", "bias"]
    assert len(layer.losses) == 3
    assert layer.get_weights()[0].shape == (3, 3, 3, 1)
    with pytest.raises(ValueError, match="depth_multiplier"):
        DepthwiseConv2D(3, depth_multiplier=0)


@pytest.mark.parametrize("cls,kind", [(MaxPooling3D, np.max), (AveragePooling3D, np.mean)])
def test_pooling_3d_valid_matches_numpy_windows(cls, kind):
    def reference(x, w):
        n, d, h, wd, c = x.shape
        blocks = x[:, : d // 2 * 2, : h // 2 * 2, : wd // 2 * 2]
        blocks = blocks.reshape(n, d // 2, 2, h // 2, 2, wd // 2, 2, c)
        return kind(blocks, axis=(2, 4, 6))

    run_layer_test(
        cls,
        {"pool_size": 2},
        input_shape=(2, 4, 5, 4, 3),
        expected_output_shape=(2, 2, 2, 2, 3),
        expected_num_params=0,
        reference=reference,
        compiled_fit=False,
    )


@pytest.mark.parametrize(
    "cls,kind", [(GlobalAveragePooling3D, np.mean), (GlobalMaxPooling3D, np.max)]
)
def test_global_pooling_3d(cls, kind):
    run_layer_test(
        cls,
        {},
        input_shape=(2, 3, 2, 4, 3),
        expected_output_shape=(2, 3),
        expected_num_params=0,
        reference=lambda x, w: kind(x, axis=(1, 2, 3)),
        compiled_fit=False,
    )


@pytest.mark.parametrize(
    "cls,kwargs,shape,out",
    [
        (AdaptiveMaxPooling1D, {"output_size": 3}, (2, 7, 2), (2, 3, 2)),
        (AdaptiveAveragePooling2D, {"output_size": (2, 3)}, (2, 5, 7, 2), (2, 2, 3, 2)),
        (AdaptiveMaxPooling3D, {"output_size": 2}, (2, 3, 4, 5, 2), (2, 2, 2, 2, 2)),
        (AdaptiveAveragePooling1D, {"output_size": 4}, (2, 7, 2), (2, 4, 2)),
        (AdaptiveMaxPooling2D, {"output_size": (3, 2)}, (2, 5, 7, 2), (2, 3, 2, 2)),
        (AdaptiveAveragePooling3D, {"output_size": (1, 2, 3)}, (2, 3, 4, 5, 2), (2, 1, 2, 3, 2)),
    ],
)
def test_adaptive_pooling(cls, kwargs, shape, out):
    run_layer_test(cls, kwargs, shape, out, expected_num_params=0, compiled_fit=False)


def test_zero_padding_cropping_upsampling_3d_references():
    pads = ((1, 0), (2, 1), (0, 2))
    run_layer_test(
        ZeroPadding3D,
        {"padding": pads},
        (2, 2, 3, 2, 2),
        (2, 3, 6, 4, 2),
        expected_num_params=0,
        reference=lambda x, w: np.pad(x, ((0, 0), *pads, (0, 0))),
        compiled_fit=False,
    )
    run_layer_test(
        Cropping3D,
        {"cropping": pads},
        (2, 3, 5, 4, 2),
        (2, 2, 2, 2, 2),
        expected_num_params=0,
        reference=lambda x, w: x[:, 1:, 2:4, 0:2],
        compiled_fit=False,
    )
    run_layer_test(
        UpSampling3D,
        {"size": (1, 2, 3)},
        (2, 2, 3, 2, 2),
        (2, 2, 6, 6, 2),
        expected_num_params=0,
        reference=lambda x, w: x.repeat(2, axis=2).repeat(3, axis=3),
        compiled_fit=False,
    )
    with pytest.raises(ValueError, match="cropping"):
        Cropping3D(2)(torch.zeros(1, 4, 4, 4, 1))


@pytest.mark.parametrize(
    "cls,kwargs", [(SpatialDropout3D, {"rate": 0.3}), (AlphaDropout, {"rate": 0.2})]
)
def test_random_layers_are_identity_at_inference_and_train(cls, kwargs):
    shape = (4, 2, 3, 2, 3)
    run_layer_test(
        cls,
        kwargs,
        shape,
        shape,
        expected_num_params=0,
        reference=lambda x, w: x,
        compiled_fit=cls is AlphaDropout,
    )


def test_transposed_conv_argument_errors_name_the_layer():
    with pytest.raises(ValueError, match="output_padding"):
        Conv3DTranspose(2, 3, strides=2, output_padding=2, name="up")
    with pytest.raises(ValueError, match="dilation_rate"):
        Conv1DTranspose(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="padding"):
        Conv1DTranspose(2, 3, padding="causal")
    with pytest.raises(ValueError, match="data_format"):
        Conv3D(2, 3, data_format="channels_first")
