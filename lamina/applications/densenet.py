"""DenseNet (Huang et al., 2017), built layer for layer as Keras builds it.

Four dense blocks, each a run of conv blocks (batch norm, ReLU, 1x1 then 3x3
convolution) whose 32 new channels are concatenated to their input; between blocks a
transition halves the channels and the resolution. `DenseNet(blocks)` builds any depth;
DenseNet121/169/201 are Keras's three ImageNet variants.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lamina import layers
from lamina.applications import app_builder, imagenet_utils
from lamina.applications.app_builder import ImagenetFiles
from lamina.models import Functional

_EPSILON = 1.001e-5
_GROWTH_RATE = 32


def _files(variant: str) -> ImagenetFiles:
    stem = f"densenet{variant}_weights_tf_dim_ordering_tf_kernels"
    return ImagenetFiles("densenet", f"{stem}.h5", f"{stem}_notop.h5")


# Keras's ImageNet files, by block depths (the only configurations Keras publishes).
FILES = {
    (6, 12, 24, 16): _files("121"),
    (6, 12, 32, 32): _files("169"),
    (6, 12, 48, 32): _files("201"),
}


def _bn_relu(x: Any, name: str) -> Any:
    x = layers.BatchNormalization(axis=3, epsilon=_EPSILON, name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


def conv_block(x: Any, growth_rate: int, name: str) -> Any:
    """One building block: `growth_rate` new channels concatenated to `x`."""
    y = _bn_relu(x, f"{name}_0")
    y = layers.Conv2D(4 * growth_rate, 1, use_bias=False, name=f"{name}_1_conv")(y)
    y = _bn_relu(y, f"{name}_1")
    y = layers.Conv2D(growth_rate, 3, padding="same", use_bias=False, name=f"{name}_2_conv")(y)
    return layers.Concatenate(axis=3, name=f"{name}_concat")([x, y])


def dense_block(x: Any, blocks: int, name: str) -> Any:
    """`blocks` conv blocks, named `{name}_block1`, `{name}_block2`, ..."""
    for i in range(1, blocks + 1):
        x = conv_block(x, _GROWTH_RATE, name=f"{name}_block{i}")
    return x


def transition_block(x: Any, reduction: float, name: str) -> Any:
    """Batch norm, ReLU, a 1x1 convolution to `reduction` of the channels, 2x2 average pooling."""
    x = _bn_relu(x, name)
    x = layers.Conv2D(int(x.shape[3] * reduction), 1, use_bias=False, name=f"{name}_conv")(x)
    return layers.AveragePooling2D(2, strides=2, name=f"{name}_pool")(x)


@app_builder.loads_all_weights
def DenseNet(
    blocks: Sequence[int],
    include_top: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "densenet",
) -> Functional:
    """A DenseNet whose four dense blocks hold `blocks[i]` conv blocks each."""
    if len(blocks) != 4:
        raise ValueError(
            f"Expected blocks to be 4 block counts, one per dense block, received: blocks={blocks!r}"
        )
    app_builder.check_arguments(name, weights, include_top, classes, pooling)
    x, inputs = app_builder.image_input(input_shape, input_tensor, 224, 32, include_top, weights)
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)))(x)
    x = layers.Conv2D(64, 7, strides=2, use_bias=False, name="conv1_conv")(x)
    x = _bn_relu(x, "conv1")
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)))(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    for stage in range(2, 6):
        x = dense_block(x, blocks[stage - 2], name=f"conv{stage}")
        if stage < 5:
            x = transition_block(x, 0.5, name=f"pool{stage}")
    x = layers.BatchNormalization(axis=3, epsilon=_EPSILON, name="bn")(x)
    x = layers.Activation("relu", name="relu")(x)
    if include_top:
        x = app_builder.classifier(x, classes, classifier_activation, weights)
    else:
        x = app_builder.pooled(x, pooling, named=True)
    files = FILES.get(tuple(blocks))
    return app_builder.finish(inputs, x, name, weights, include_top, files)


def DenseNet121(
    include_top: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "densenet121",
) -> Functional:
    """DenseNet121: dense blocks of 6, 12, 24, 16 conv blocks (8.1M parameters with the top)."""
    return DenseNet(
        [6, 12, 24, 16],
        include_top,
        weights,
        input_tensor,
        input_shape,
        pooling,
        classes,
        classifier_activation,
        name,
    )


def DenseNet169(
    include_top: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "densenet169",
) -> Functional:
    """DenseNet169: dense blocks of 6, 12, 32, 32 conv blocks (14.3M parameters with the top)."""
    return DenseNet(
        [6, 12, 32, 32],
        include_top,
        weights,
        input_tensor,
        input_shape,
        pooling,
        classes,
        classifier_activation,
        name,
    )


def DenseNet201(
    include_top: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "densenet201",
) -> Functional:
    """DenseNet201: dense blocks of 6, 12, 48, 32 conv blocks (20.2M parameters with the top)."""
    return DenseNet(
        [6, 12, 48, 32],
        include_top,
        weights,
        input_tensor,
        input_shape,
        pooling,
        classes,
        classifier_activation,
        name,
    )


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """DenseNet's ImageNet scaling: 'torch' (to [0, 1], then ImageNet's mean and std)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="torch")


decode_predictions = imagenet_utils.decode_predictions
