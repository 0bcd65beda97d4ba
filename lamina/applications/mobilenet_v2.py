"""MobileNetV2 (Sandler et al., 2018), built layer for layer as Keras builds it.

A strided 3x3 convolution, then 17 inverted residual blocks: a 1x1 expansion (all but
the first block), a 3x3 depthwise convolution and a linear 1x1 projection, with a
residual Add where the shape allows. Layers carry Keras's names ('block_1_expand',
'block_1_depthwise', ..., 'expanded_conv_' for block 0), so Keras's ImageNet files load.
"""

from __future__ import annotations

from typing import Any

from lamina import layers
from lamina.applications import app_builder, imagenet_utils
from lamina.applications.app_builder import ImagenetFiles
from lamina.applications.mobilenet import (
    default_size,
    imagenet_rows,
    model_input,
    spatial,
)
from lamina.config import image_data_format
from lamina.models import Functional

# (filters, stride, expansion) of blocks 0..16
_BLOCKS = (
    (16, 1, 1),
    (24, 2, 6),
    (24, 1, 6),
    (32, 2, 6),
    *((32, 1, 6),) * 2,
    (64, 2, 6),
    *((64, 1, 6),) * 3,
    *((96, 1, 6),) * 3,
    (160, 2, 6),
    *((160, 1, 6),) * 2,
    (320, 1, 6),
)
IMAGENET_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
IMAGENET_SIZES = (96, 128, 160, 192, 224)


def make_divisible(value: float, divisor: int = 8) -> int:
    """The multiple of `divisor` nearest `value` (at least `divisor`), never 10% below it."""
    found = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return found + divisor if found < 0.9 * value else found


def imagenet_files(alpha: float, rows: int) -> ImagenetFiles:
    """Keras's MobileNetV2 files for one width and input size."""
    stem = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}"
    return ImagenetFiles("mobilenet_v2", f"{stem}.h5", f"{stem}_no_top.h5")


def given_size(input_shape: Any, input_tensor: Any) -> tuple[Any, Any] | None:
    """The (rows, cols) the caller gave, by `input_shape` or else by `input_tensor`.

    Both given, they must agree on the width (Keras's check).
    """
    if input_tensor is not None:
        app_builder.check_input_tensor(input_tensor)
    if input_shape is None:
        return None if input_tensor is None else spatial(tuple(input_tensor.shape[1:]))
    if input_tensor is not None:
        width = spatial(tuple(input_tensor.shape[1:]))[1]
        if width != spatial(input_shape)[1]:
            raise ValueError(
                "Expected input_shape to agree with input_tensor's width, received: "
                f"input_shape={tuple(input_shape)}, input_tensor.shape={tuple(input_tensor.shape)}"
            )
    return spatial(input_shape)


def bn(x: Any, name: str) -> Any:
    """Batch norm with the statistics MobileNetV2 and V3 use (epsilon 1e-3, momentum 0.999)."""
    return layers.BatchNormalization(epsilon=1e-3, momentum=0.999, name=name)(x)


def _inverted_res_block(
    inputs: Any, filters: int, alpha: float, stride: int, expansion: int, block_id: int
) -> Any:
    """Expand (1x1), depthwise 3x3, project (1x1, linear), plus the input when shapes agree."""
    in_channels = inputs.shape[-1]
    out_channels = make_divisible(int(filters * alpha), 8)
    x = inputs
    if block_id:
        prefix = f"block_{block_id}_"
        x = layers.Conv2D(
            expansion * in_channels, 1, padding="same", use_bias=False, name=f"{prefix}expand"
        )(x)
        x = layers.ReLU(6.0, name=f"{prefix}expand_relu")(bn(x, f"{prefix}expand_BN"))
    else:
        prefix = "expanded_conv_"
    if stride == 2:
        x = layers.ZeroPadding2D(imagenet_utils.correct_pad(x, 3), name=f"{prefix}pad")(x)
    x = layers.DepthwiseConv2D(
        3,
        strides=stride,
        use_bias=False,
        padding="same" if stride == 1 else "valid",
        name=f"{prefix}depthwise",
    )(x)
    x = layers.ReLU(6.0, name=f"{prefix}depthwise_relu")(bn(x, f"{prefix}depthwise_BN"))
    x = layers.Conv2D(out_channels, 1, padding="same", use_bias=False, name=f"{prefix}project")(x)
    x = bn(x, f"{prefix}project_BN")
    if in_channels == out_channels and stride == 1:
        return layers.Add(name=f"{prefix}add")([inputs, x])
    return x


@app_builder.loads_all_weights
def MobileNetV2(
    input_shape: Any = None,
    alpha: float = 1.0,
    include_top: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str | None = None,
) -> Functional:
    """MobileNetV2; `alpha` scales the widths (3.5M parameters with the top at alpha=1)."""
    app_builder.check_arguments("MobileNetV2", weights, include_top, classes, pooling)
    shape = imagenet_utils.obtain_input_shape(
        input_shape,
        default_size=default_size(given_size(input_shape, input_tensor), IMAGENET_SIZES),
        min_size=32,
        data_format=image_data_format(),
        require_flatten=include_top,
        weights=weights,
    )
    rows, cols = spatial(shape)
    if weights == "imagenet":
        if alpha not in IMAGENET_ALPHAS:
            raise ValueError(
                "MobileNetV2: expected alpha 0.35, 0.5, 0.75, 1.0, 1.3 or 1.4 with "
                f"weights='imagenet', received: alpha={alpha}"
            )
        rows = imagenet_rows(rows, cols, IMAGENET_SIZES)
    x, inputs = model_input(shape, input_tensor)

    x = layers.Conv2D(
        make_divisible(32 * alpha, 8),
        3,
        strides=(2, 2),
        padding="same",
        use_bias=False,
        name="Conv1",
    )(x)
    x = layers.ReLU(6.0, name="Conv1_relu")(bn(x, "bn_Conv1"))
    for block_id, (filters, stride, expansion) in enumerate(_BLOCKS):
        x = _inverted_res_block(x, filters, alpha, stride, expansion, block_id)
    # The last convolution widens with alpha > 1 only (the paper keeps 1280 otherwise).
    last = make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
    x = layers.Conv2D(last, 1, use_bias=False, name="Conv_1")(x)
    x = layers.ReLU(6.0, name="out_relu")(bn(x, "Conv_1_bn"))

    if include_top:
        x = layers.GlobalAveragePooling2D()(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = app_builder.pooled(x, pooling)
    model = Functional(
        inputs, x, name=name if name is not None else f"mobilenetv2_{alpha:0.2f}_{rows}"
    )
    files = imagenet_files(alpha, rows) if weights == "imagenet" else None
    return app_builder.load(model, "MobileNetV2", weights, include_top, files)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """MobileNetV2's ImageNet scaling: 'tf' (pixels scaled to [-1, 1])."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


decode_predictions = imagenet_utils.decode_predictions
