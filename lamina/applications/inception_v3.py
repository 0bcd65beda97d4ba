"""Inception v3 (Szegedy et al., 2016), built layer for layer as Keras builds it.

Keras names most of this network automatically ('conv2d_7', 'batch_normalization_7',
'activation_7', 'average_pooling2d', 'concatenate', ...); only the 'mixedN' merges,
'avg_pool' and 'predictions' are named. The layers are therefore created here in
exactly Keras's order, so that in a fresh session (`lamina.backend.clear_session()`)
every automatic name is Keras's too: a legacy `.h5` saved by Keras then loads by layer
name, and Keras 3's `.weights.h5` (matched by class and order) loads in any session.
"""

from __future__ import annotations

from typing import Any

from lamina import layers
from lamina.applications import app_builder, imagenet_utils
from lamina.applications.app_builder import ImagenetFiles
from lamina.models import Functional

FILES = ImagenetFiles(
    "inception_v3",
    "inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
    "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
)


def conv2d_bn(
    x: Any,
    filters: int,
    num_row: int,
    num_col: int,
    padding: str = "same",
    strides: tuple[int, int] = (1, 1),
    name: str | None = None,
) -> Any:
    """Convolution without bias, batch norm without scale, ReLU ('{name}_conv', '{name}_bn', name)."""
    x = layers.Conv2D(
        filters,
        (num_row, num_col),
        strides=strides,
        padding=padding,
        use_bias=False,
        name=None if name is None else f"{name}_conv",
    )(x)
    x = layers.BatchNormalization(axis=3, scale=False, name=None if name is None else f"{name}_bn")(
        x
    )
    return layers.Activation("relu", name=name)(x)


def _chain(x: Any, specs: tuple[tuple[int, int, int], ...]) -> Any:
    """Stride-1 'same' conv2d_bn layers, one per (filters, rows, cols)."""
    for filters, rows, cols in specs:
        x = conv2d_bn(x, filters, rows, cols)
    return x


def _avg_pool_branch(x: Any, filters: int) -> Any:
    x = layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same")(x)
    return conv2d_bn(x, filters, 1, 1)


def _concat(branches: list[Any], name: str | None = None) -> Any:
    return layers.Concatenate(axis=3, name=name)(branches)


def block_35(x: Any, pool_filters: int, name: str) -> Any:
    """mixed0-2: 1x1, 5x5, double 3x3 and average-pool branches at 35x35."""
    branch1x1 = conv2d_bn(x, 64, 1, 1)
    branch5x5 = _chain(x, ((48, 1, 1), (64, 5, 5)))
    branch3x3dbl = _chain(x, ((64, 1, 1), (96, 3, 3), (96, 3, 3)))
    return _concat([branch1x1, branch5x5, branch3x3dbl, _avg_pool_branch(x, pool_filters)], name)


def reduction_35(x: Any) -> Any:
    """mixed3: 35x35 -> 17x17."""
    branch3x3 = conv2d_bn(x, 384, 3, 3, strides=(2, 2), padding="valid")
    branch3x3dbl = _chain(x, ((64, 1, 1), (96, 3, 3)))
    branch3x3dbl = conv2d_bn(branch3x3dbl, 96, 3, 3, strides=(2, 2), padding="valid")
    branch_pool = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    return _concat([branch3x3, branch3x3dbl, branch_pool], "mixed3")


def block_17(x: Any, c7: int, name: str) -> Any:
    """mixed4-7: factorized 7x7 branches with `c7` inner channels at 17x17."""
    branch1x1 = conv2d_bn(x, 192, 1, 1)
    branch7x7 = _chain(x, ((c7, 1, 1), (c7, 1, 7), (192, 7, 1)))
    branch7x7dbl = _chain(x, ((c7, 1, 1), (c7, 7, 1), (c7, 1, 7), (c7, 7, 1), (192, 1, 7)))
    return _concat([branch1x1, branch7x7, branch7x7dbl, _avg_pool_branch(x, 192)], name)


def reduction_17(x: Any) -> Any:
    """mixed8: 17x17 -> 8x8."""
    branch3x3 = conv2d_bn(x, 192, 1, 1)
    branch3x3 = conv2d_bn(branch3x3, 320, 3, 3, strides=(2, 2), padding="valid")
    branch7x7x3 = _chain(x, ((192, 1, 1), (192, 1, 7), (192, 7, 1)))
    branch7x7x3 = conv2d_bn(branch7x7x3, 192, 3, 3, strides=(2, 2), padding="valid")
    branch_pool = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    return _concat([branch3x3, branch7x7x3, branch_pool], "mixed8")


def block_8(x: Any, index: int) -> Any:
    """mixed9 and mixed10: expanded 1x3/3x1 branches at 8x8."""
    branch1x1 = conv2d_bn(x, 320, 1, 1)
    branch3x3 = conv2d_bn(x, 384, 1, 1)
    branch3x3 = _concat(
        [conv2d_bn(branch3x3, 384, 1, 3), conv2d_bn(branch3x3, 384, 3, 1)], f"mixed9_{index}"
    )
    branch3x3dbl = _chain(x, ((448, 1, 1), (384, 3, 3)))
    branch3x3dbl = _concat([conv2d_bn(branch3x3dbl, 384, 1, 3), conv2d_bn(branch3x3dbl, 384, 3, 1)])
    branch_pool = _avg_pool_branch(x, 192)
    return _concat([branch1x1, branch3x3, branch3x3dbl, branch_pool], f"mixed{9 + index}")


@app_builder.loads_all_weights
def InceptionV3(
    include_top: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "inception_v3",
) -> Functional:
    """Inception v3 for 299x299 images (at least 75x75); 23.9M parameters with the top."""
    app_builder.check_arguments(name, weights, include_top, classes, pooling)
    x, inputs = app_builder.image_input(input_shape, input_tensor, 299, 75, include_top, weights)
    x = conv2d_bn(x, 32, 3, 3, strides=(2, 2), padding="valid")
    x = conv2d_bn(x, 32, 3, 3, padding="valid")
    x = conv2d_bn(x, 64, 3, 3)
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = conv2d_bn(x, 80, 1, 1, padding="valid")
    x = conv2d_bn(x, 192, 3, 3, padding="valid")
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    for i, pool_filters in enumerate((32, 64, 64)):
        x = block_35(x, pool_filters, f"mixed{i}")
    x = reduction_35(x)
    for i, c7 in enumerate((128, 160, 160, 192), start=4):
        x = block_17(x, c7, f"mixed{i}")
    x = reduction_17(x)
    for i in range(2):
        x = block_8(x, i)
    if include_top:
        x = app_builder.classifier(x, classes, classifier_activation, weights)
    else:
        x = app_builder.pooled(x, pooling)
    return app_builder.finish(inputs, x, name, weights, include_top, FILES)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """Inception v3's ImageNet scaling: 'tf' (pixels to [-1, 1])."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


decode_predictions = imagenet_utils.decode_predictions
