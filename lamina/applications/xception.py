"""Xception (Chollet, 2017), built layer for layer as Keras builds it.

Depthwise-separable convolutions throughout: an entry flow of three strided residual
blocks, a middle flow of eight 728-channel residual blocks, and an exit flow. The
shortcut convolutions, their batch norms and the `add` merges are named automatically
in Keras, so the layers are created here in Keras's order.
"""

from __future__ import annotations

from typing import Any

from lamina import layers
from lamina.applications import app_builder, imagenet_utils
from lamina.applications.app_builder import ImagenetFiles
from lamina.models import Functional

FILES = ImagenetFiles(
    "xception",
    "xception_weights_tf_dim_ordering_tf_kernels.h5",
    "xception_weights_tf_dim_ordering_tf_kernels_notop.h5",
)


def _sepconv_bn(x: Any, filters: int, name: str) -> Any:
    x = layers.SeparableConv2D(filters, (3, 3), padding="same", use_bias=False, name=name)(x)
    return layers.BatchNormalization(axis=-1, name=f"{name}_bn")(x)


def _relu(x: Any, name: str) -> Any:
    return layers.Activation("relu", name=name)(x)


def strided_block(x: Any, filters: tuple[int, int], block: int, activate_first: bool) -> Any:
    """Two separable convolutions and a strided max pool, plus a strided 1x1 shortcut."""
    residual = layers.Conv2D(filters[1], (1, 1), strides=(2, 2), padding="same", use_bias=False)(x)
    residual = layers.BatchNormalization(axis=-1)(residual)
    prefix = f"block{block}"
    if activate_first:
        x = _relu(x, f"{prefix}_sepconv1_act")
    x = _sepconv_bn(x, filters[0], f"{prefix}_sepconv1")
    x = _relu(x, f"{prefix}_sepconv2_act")
    x = _sepconv_bn(x, filters[1], f"{prefix}_sepconv2")
    x = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same", name=f"{prefix}_pool")(x)
    return layers.add([x, residual])


def middle_block(x: Any, block: int) -> Any:
    """Three ReLU-separable-convolution steps of 728 channels around an identity shortcut."""
    residual = x
    for i in (1, 2, 3):
        x = _relu(x, f"block{block}_sepconv{i}_act")
        x = _sepconv_bn(x, 728, f"block{block}_sepconv{i}")
    return layers.add([x, residual])


@app_builder.loads_all_weights
def Xception(
    include_top: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "xception",
) -> Functional:
    """Xception for 299x299 images (at least 71x71); 22.9M parameters with the top."""
    app_builder.check_arguments(name, weights, include_top, classes, pooling)
    x, inputs = app_builder.image_input(input_shape, input_tensor, 299, 71, include_top, weights)
    x = layers.Conv2D(32, (3, 3), strides=(2, 2), use_bias=False, name="block1_conv1")(x)
    x = layers.BatchNormalization(axis=-1, name="block1_conv1_bn")(x)
    x = _relu(x, "block1_conv1_act")
    x = layers.Conv2D(64, (3, 3), use_bias=False, name="block1_conv2")(x)
    x = layers.BatchNormalization(axis=-1, name="block1_conv2_bn")(x)
    x = _relu(x, "block1_conv2_act")
    # Keras's quirk: block2 starts without an activation (and names its only one 'sepconv2').
    x = strided_block(x, (128, 128), 2, activate_first=False)
    x = strided_block(x, (256, 256), 3, activate_first=True)
    x = strided_block(x, (728, 728), 4, activate_first=True)
    for block in range(5, 13):
        x = middle_block(x, block)
    x = strided_block(x, (728, 1024), 13, activate_first=True)
    x = _sepconv_bn(x, 1536, "block14_sepconv1")
    x = _relu(x, "block14_sepconv1_act")
    x = _sepconv_bn(x, 2048, "block14_sepconv2")
    x = _relu(x, "block14_sepconv2_act")
    if include_top:
        x = app_builder.classifier(x, classes, classifier_activation, weights)
    else:
        x = app_builder.pooled(x, pooling)
    return app_builder.finish(inputs, x, name, weights, include_top, FILES)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """Xception's ImageNet scaling: 'tf' (pixels to [-1, 1])."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


decode_predictions = imagenet_utils.decode_predictions
