"""Inception-ResNet v2 (Szegedy et al., 2017), built layer for layer as Keras builds it.

Inception stem and reductions around three stacks of residual Inception blocks
(10 x block35, 20 x block17, 10 x block8); each block adds its branches' 1x1 projection
to its input, scaled down (`CustomScaleLayer`) to keep the deep residual stack stable.
Stem and reduction layers are named automatically, as in Keras, so they are created here
in Keras's order; the blocks are named `block35_1_mixed`, `block35_1_conv`, ...
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import layers, registry
from lamina.applications import app_builder, imagenet_utils
from lamina.applications.app_builder import ImagenetFiles
from lamina.layers.base import Layer
from lamina.models import Functional

FILES = ImagenetFiles(
    "inception_resnet_v2",
    "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels.h5",
    "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels_notop.h5",
)


@registry.register("layer", "CustomScaleLayer")
class CustomScaleLayer(Layer):
    """`inputs[0] + inputs[1] * scale`: a residual connection with a scaled-down branch.

    Keras's class name, so Keras's weight files and configs name it `custom_scale_layer`.
    """

    def __init__(self, scale: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(scale, bool) or not isinstance(scale, (int, float)):
            raise ValueError(
                f"Layer '{self.name}' (CustomScaleLayer) expected a number for scale, "
                f"received: scale={scale!r}"
            )
        self.scale = scale

    def call(self, inputs: Any, training: bool | None = None) -> torch.Tensor:
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError(
                f"Layer '{self.name}' (CustomScaleLayer) expected a list of 2 tensors "
                f"[shortcut, branch], received: inputs={type(inputs).__name__}"
            )
        return inputs[0] + inputs[1] * self.scale

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape[0])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scale": self.scale}


def conv2d_bn(
    x: Any,
    filters: int,
    kernel_size: int | tuple[int, int],
    strides: int = 1,
    padding: str = "same",
    activation: str | None = "relu",
    use_bias: bool = False,
    name: str | None = None,
) -> Any:
    """Convolution, then batch norm without scale (when there is no bias), then activation."""
    x = layers.Conv2D(
        filters, kernel_size, strides=strides, padding=padding, use_bias=use_bias, name=name
    )(x)
    if not use_bias:
        bn_name = None if name is None else f"{name}_bn"
        x = layers.BatchNormalization(axis=3, scale=False, name=bn_name)(x)
    if activation is not None:
        x = layers.Activation(activation, name=None if name is None else f"{name}_ac")(x)
    return x


def _chain(x: Any, specs: tuple[tuple[int, Any], ...]) -> Any:
    """Stride-1 'same' conv2d_bn layers, one per (filters, kernel_size)."""
    for filters, kernel_size in specs:
        x = conv2d_bn(x, filters, kernel_size)
    return x


# Each residual block type's branches, as (filters, kernel_size) chains.
_BRANCHES = {
    "block35": (((32, 1),), ((32, 1), (32, 3)), ((32, 1), (48, 3), (64, 3))),
    "block17": (((192, 1),), ((128, 1), (160, (1, 7)), (192, (7, 1)))),
    "block8": (((192, 1),), ((192, 1), (224, (1, 3)), (256, (3, 1)))),
}


def inception_resnet_block(
    x: Any, scale: float, block_type: str, block_idx: int, activation: str | None = "relu"
) -> Any:
    """x + scale * (1x1 projection of the concatenated branches), then `activation`."""
    if block_type not in _BRANCHES:
        raise ValueError(
            "Expected block_type 'block35', 'block17' or 'block8', "
            f"received: block_type={block_type!r}"
        )
    block_name = f"{block_type}_{block_idx}"
    branches = [_chain(x, chain) for chain in _BRANCHES[block_type]]
    mixed = layers.Concatenate(axis=3, name=f"{block_name}_mixed")(branches)
    up = conv2d_bn(mixed, x.shape[3], 1, activation=None, use_bias=True, name=f"{block_name}_conv")
    x = CustomScaleLayer(scale)([x, up])
    if activation is not None:
        x = layers.Activation(activation, name=f"{block_name}_ac")(x)
    return x


def _stem(x: Any) -> Any:
    x = conv2d_bn(x, 32, 3, strides=2, padding="valid")
    x = conv2d_bn(x, 32, 3, padding="valid")
    x = conv2d_bn(x, 64, 3)
    x = layers.MaxPooling2D(3, strides=2)(x)
    x = conv2d_bn(x, 80, 1, padding="valid")
    x = conv2d_bn(x, 192, 3, padding="valid")
    x = layers.MaxPooling2D(3, strides=2)(x)
    branches = [conv2d_bn(x, 96, 1), _chain(x, ((48, 1), (64, 5)))]
    branches.append(_chain(x, ((64, 1), (96, 3), (96, 3))))
    pool = layers.AveragePooling2D(3, strides=1, padding="same")(x)
    branches.append(conv2d_bn(pool, 64, 1))
    return layers.Concatenate(axis=3, name="mixed_5b")(branches)


def _reduction_a(x: Any) -> Any:
    """mixed_6a: 35x35 -> 17x17."""
    branches = [conv2d_bn(x, 384, 3, strides=2, padding="valid")]
    branch = _chain(x, ((256, 1), (256, 3)))
    branches.append(conv2d_bn(branch, 384, 3, strides=2, padding="valid"))
    branches.append(layers.MaxPooling2D(3, strides=2, padding="valid")(x))
    return layers.Concatenate(axis=3, name="mixed_6a")(branches)


def _reduction_b(x: Any) -> Any:
    """mixed_7a: 17x17 -> 8x8."""
    branches = []
    for chain, filters in ((((256, 1),), 384), (((256, 1),), 288), (((256, 1), (288, 3)), 320)):
        branch = _chain(x, chain)
        branches.append(conv2d_bn(branch, filters, 3, strides=2, padding="valid"))
    branches.append(layers.MaxPooling2D(3, strides=2, padding="valid")(x))
    return layers.Concatenate(axis=3, name="mixed_7a")(branches)


@app_builder.loads_all_weights
def InceptionResNetV2(
    include_top: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "inception_resnet_v2",
) -> Functional:
    """Inception-ResNet v2 for 299x299 images (at least 75x75); 55.9M parameters with the top."""
    app_builder.check_arguments(name, weights, include_top, classes, pooling)
    x, inputs = app_builder.image_input(input_shape, input_tensor, 299, 75, include_top, weights)
    x = _stem(x)
    for block_idx in range(1, 11):
        x = inception_resnet_block(x, scale=0.17, block_type="block35", block_idx=block_idx)
    x = _reduction_a(x)
    for block_idx in range(1, 21):
        x = inception_resnet_block(x, scale=0.1, block_type="block17", block_idx=block_idx)
    x = _reduction_b(x)
    for block_idx in range(1, 10):
        x = inception_resnet_block(x, scale=0.2, block_type="block8", block_idx=block_idx)
    x = inception_resnet_block(x, scale=1.0, activation=None, block_type="block8", block_idx=10)
    x = conv2d_bn(x, 1536, 1, name="conv_7b")
    if include_top:
        x = app_builder.classifier(x, classes, classifier_activation, weights)
    else:
        x = app_builder.pooled(x, pooling)
    return app_builder.finish(inputs, x, name, weights, include_top, FILES)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """Inception-ResNet v2's ImageNet scaling: 'tf' (pixels to [-1, 1])."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


decode_predictions = imagenet_utils.decode_predictions
