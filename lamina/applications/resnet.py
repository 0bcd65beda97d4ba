"""ResNet50/101/152 (He et al., 2015), built layer for layer as Keras builds them.

A 7x7 stem, then four stacks of bottleneck blocks (1x1, 3x3, 1x1 convolutions with a
4x wider output) added to a shortcut. `ResNet` is Keras's generic builder: `preact=True`
gives the pre-activation ResNetV2 stem and head (see resnet_v2.py), `use_bias` sets the
stem convolution's bias. The block and stack functions keep Keras's names and arguments,
so the layer names (conv1_conv, conv2_block1_1_conv, ...) and order are Keras's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lamina import layers
from lamina.applications import app_builder, imagenet_utils
from lamina.applications.app_builder import ImagenetFiles
from lamina.config import image_data_format
from lamina.models import Functional

_EPSILON = 1.001e-5
# Keras's weight files exist for these `weights_name`s (ResNeXt's are not built here).
_PUBLISHED = ("resnet50", "resnet101", "resnet152", "resnet50v2", "resnet101v2", "resnet152v2")


def imagenet_files(weights_name: str | None) -> ImagenetFiles | None:
    """Keras's ImageNet files for `weights_name` ('resnet50', 'resnet101v2', ...), if any."""
    if weights_name not in _PUBLISHED:
        return None
    stem = f"{weights_name}_weights_tf_dim_ordering_tf_kernels"
    return ImagenetFiles("resnet", f"{stem}.h5", f"{stem}_notop.h5")


def _bn_axis() -> int:
    return 3 if image_data_format() == "channels_last" else 1


def _batch_norm(x: Any, name: str) -> Any:
    return layers.BatchNormalization(axis=_bn_axis(), epsilon=_EPSILON, name=name)(x)


def _conv_bn_relu(
    x: Any, filters: int, kernel_size: int, name: str, strides: int = 1, padding: str = "valid"
) -> Any:
    """Convolution `{name}_conv`, batch norm `{name}_bn`, ReLU `{name}_relu` (v1 blocks)."""
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, name=f"{name}_conv")(
        x
    )
    x = _batch_norm(x, f"{name}_bn")
    return layers.Activation("relu", name=f"{name}_relu")(x)


@app_builder.loads_all_weights
def ResNet(
    stack_fn: Callable[[Any], Any],
    preact: bool,
    use_bias: bool,
    include_top: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "resnet",
    weights_name: str | None = None,
) -> Functional:
    """A ResNet: Keras's stem, `stack_fn`'s residual stacks, then the top or the pooling.

    `weights='imagenet'` needs a `weights_name` Keras publishes files for (unlike Keras,
    which then silently leaves the weights random, this raises).
    """
    app_builder.check_arguments(name, weights, include_top, classes, pooling)
    x, inputs = app_builder.image_input(input_shape, input_tensor, 224, 32, include_top, weights)
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(x)
    x = layers.Conv2D(64, 7, strides=2, use_bias=use_bias, name="conv1_conv")(x)
    if not preact:
        x = _batch_norm(x, "conv1_bn")
        x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    x = stack_fn(x)
    if preact:
        x = _batch_norm(x, "post_bn")
        x = layers.Activation("relu", name="post_relu")(x)
    if include_top:
        x = app_builder.classifier(x, classes, classifier_activation, weights)
    else:
        x = app_builder.pooled(x, pooling, named=True)
    files = imagenet_files(weights_name)
    return app_builder.finish(inputs, x, name, weights, include_top, files)


def residual_block_v1(
    x: Any,
    filters: int,
    kernel_size: int = 3,
    stride: int = 1,
    conv_shortcut: bool = True,
    name: str | None = None,
) -> Any:
    """A post-activation bottleneck block: 1x1 (strided), kxk, 1x1 to 4*filters, add, ReLU."""
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(x)
        shortcut = _batch_norm(shortcut, f"{name}_0_bn")
    else:
        shortcut = x
    x = _conv_bn_relu(x, filters, 1, f"{name}_1", strides=stride)
    x = _conv_bn_relu(x, filters, kernel_size, f"{name}_2", padding="same")
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    x = _batch_norm(x, f"{name}_3_bn")
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def stack_residual_blocks_v1(
    x: Any, filters: int, blocks: int, stride1: int = 2, name: str | None = None
) -> Any:
    """`blocks` v1 blocks; the first projects the shortcut and strides by `stride1`."""
    x = residual_block_v1(x, filters, stride=stride1, name=f"{name}_block1")
    for i in range(2, blocks + 1):
        x = residual_block_v1(x, filters, conv_shortcut=False, name=f"{name}_block{i}")
    return x


def residual_block_v2(
    x: Any,
    filters: int,
    kernel_size: int = 3,
    stride: int = 1,
    conv_shortcut: bool = False,
    name: str | None = None,
) -> Any:
    """A pre-activation bottleneck block: BN-ReLU first, the stride on the kxk convolution,
    no ReLU after the add; an identity shortcut that strides is a 1x1 max pooling."""
    preact = _batch_norm(x, f"{name}_preact_bn")
    preact = layers.Activation("relu", name=f"{name}_preact_relu")(preact)
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(preact)
    else:
        shortcut = layers.MaxPooling2D(1, strides=stride)(x) if stride > 1 else x
    x = layers.Conv2D(filters, 1, strides=1, use_bias=False, name=f"{name}_1_conv")(preact)
    x = _batch_norm(x, f"{name}_1_bn")
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name=f"{name}_2_pad")(x)
    x = layers.Conv2D(filters, kernel_size, strides=stride, use_bias=False, name=f"{name}_2_conv")(
        x
    )
    x = _batch_norm(x, f"{name}_2_bn")
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    return layers.Add(name=f"{name}_out")([shortcut, x])


def stack_residual_blocks_v2(
    x: Any, filters: int, blocks: int, stride1: int = 2, name: str | None = None
) -> Any:
    """`blocks` v2 blocks; the first projects the shortcut, the LAST strides by `stride1`."""
    x = residual_block_v2(x, filters, conv_shortcut=True, name=f"{name}_block1")
    for i in range(2, blocks):
        x = residual_block_v2(x, filters, name=f"{name}_block{i}")
    return residual_block_v2(x, filters, stride=stride1, name=f"{name}_block{blocks}")


def v1_stacks(depths: tuple[int, int, int, int]) -> Callable[[Any], Any]:
    """ResNet v1's four stacks conv2..conv5 (64..512 filters); conv2 does not stride."""

    def stack_fn(x: Any) -> Any:
        for i, (filters, blocks) in enumerate(zip((64, 128, 256, 512), depths)):
            x = stack_residual_blocks_v1(
                x, filters, blocks, stride1=1 if i == 0 else 2, name=f"conv{i + 2}"
            )
        return x

    return stack_fn


def _resnet_v1(depths: tuple[int, int, int, int], weights_name: str, **kwargs: Any) -> Functional:
    return ResNet(v1_stacks(depths), False, True, weights_name=weights_name, **kwargs)


def ResNet50(
    include_top: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "resnet50",
) -> Functional:
    """ResNet50: stacks of 3, 4, 6, 3 bottleneck blocks (25.6M parameters with the top)."""
    return _resnet_v1(
        (3, 4, 6, 3),
        "resnet50",
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        name=name,
    )


def ResNet101(
    include_top: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "resnet101",
) -> Functional:
    """ResNet101: stacks of 3, 4, 23, 3 bottleneck blocks (44.7M parameters with the top)."""
    return _resnet_v1(
        (3, 4, 23, 3),
        "resnet101",
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        name=name,
    )


def ResNet152(
    include_top: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "resnet152",
) -> Functional:
    """ResNet152: stacks of 3, 8, 36, 3 bottleneck blocks (60.4M parameters with the top)."""
    return _resnet_v1(
        (3, 8, 36, 3),
        "resnet152",
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        name=name,
    )


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """ResNet's ImageNet scaling: 'caffe' (BGR, ImageNet mean subtracted, no scaling)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


def decode_predictions(preds: Any, top: int = 5) -> list[list[tuple[str, str, float]]]:
    """The `top` ImageNet classes of each prediction, as (WordNet id, name, score)."""
    return imagenet_utils.decode_predictions(preds, top=top)
