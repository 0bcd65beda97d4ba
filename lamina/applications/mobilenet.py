"""MobileNet (Howard et al., 2017), built layer for layer as Keras builds it.

A strided 3x3 convolution, then 13 depthwise-separable blocks (3x3 depthwise
convolution and 1x1 pointwise convolution, each with batch norm and ReLU6). `alpha`
scales every width; `depth_multiplier` multiplies the depthwise channels. The top is a
1x1 convolution ('conv_preds') on the pooled features, as in Keras's (and the paper's)
network, so Keras's ImageNet files load into it.
"""

from __future__ import annotations

import warnings
from typing import Any

from lamina import layers
from lamina.applications import app_builder, imagenet_utils
from lamina.applications.app_builder import ImagenetFiles
from lamina.config import image_data_format
from lamina.models import Functional
from lamina.utils.symbolic_utils import get_source_inputs

# (pointwise filters, stride) of blocks 1..13
_BLOCKS = (
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    *((512, 1),) * 5,
    (1024, 2),
    (1024, 1),
)
# Keras publishes ImageNet weights for these widths and square input sizes.
IMAGENET_ALPHAS = {1.0: "1_0", 0.75: "7_5", 0.5: "5_0", 0.25: "2_5"}
IMAGENET_SIZES = (128, 160, 192, 224)


def imagenet_files(alpha: float, rows: int) -> ImagenetFiles:
    """Keras's MobileNet files for one width and input size."""
    stem = f"mobilenet_{IMAGENET_ALPHAS[alpha]}_{rows}_tf"
    return ImagenetFiles("mobilenet", f"{stem}.h5", f"{stem}_no_top.h5")


def spatial(shape: Any) -> tuple[Any, Any]:
    """(rows, cols) of an image shape without its batch axis."""
    if image_data_format() == "channels_first":
        return shape[1], shape[2]
    return shape[0], shape[1]


def default_size(size: tuple[Any, Any] | None, sizes: tuple[int, ...]) -> int:
    """The default input size: a square input of a published size keeps its size, others 224."""
    if size is not None and size[0] == size[1] and size[0] in sizes:
        return size[0]
    return 224


def imagenet_rows(rows: Any, cols: Any, sizes: tuple[int, ...]) -> int:
    """The input size whose ImageNet file loads: the input's own, or 224 (with Keras's warning)."""
    if rows == cols and rows in sizes:
        return rows
    warnings.warn(
        "`input_shape` is undefined or non-square, or `rows` is not in "
        f"{list(sizes)}. Weights for input shape (224, 224) will be loaded as the default.",
        stacklevel=3,
    )
    return 224


def model_input(shape: Any, input_tensor: Any) -> tuple[Any, Any]:
    """(the tensor the network starts from, the model's inputs), for an already checked shape."""
    if input_tensor is None:
        x = layers.Input(shape=tuple(shape))
        return x, x
    app_builder.check_input_tensor(input_tensor)
    return input_tensor, get_source_inputs(input_tensor)


def _conv_bn_relu6(x: Any, layer: Any, name: str) -> Any:
    """`layer`, then batch norm ('<name>_bn') and ReLU6 ('<name>_relu')."""
    x = layer(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(6.0, name=f"{name}_relu")(x)


def _separable_block(
    x: Any, filters: int, alpha: float, depth_multiplier: int, stride: int, block_id: int
) -> Any:
    """Depthwise 3x3 (stride 2 pads bottom and right, as TensorFlow's 'same' does) and 1x1."""
    if stride == 2:
        x = layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"conv_pad_{block_id}")(x)
    depthwise = layers.DepthwiseConv2D(
        (3, 3),
        padding="same" if stride == 1 else "valid",
        depth_multiplier=depth_multiplier,
        strides=(stride, stride),
        use_bias=False,
        name=f"conv_dw_{block_id}",
    )
    x = _conv_bn_relu6(x, depthwise, f"conv_dw_{block_id}")
    pointwise = layers.Conv2D(
        int(filters * alpha), (1, 1), padding="same", use_bias=False, name=f"conv_pw_{block_id}"
    )
    return _conv_bn_relu6(x, pointwise, f"conv_pw_{block_id}")


@app_builder.loads_all_weights
def MobileNet(
    input_shape: Any = None,
    alpha: float = 1.0,
    depth_multiplier: int = 1,
    dropout: float = 1e-3,
    include_top: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str | None = None,
) -> Functional:
    """MobileNet; `alpha` scales the widths (4.2M parameters with the top at alpha=1)."""
    app_builder.check_arguments("MobileNet", weights, include_top, classes, pooling)
    size = spatial(input_shape) if input_shape is not None else None
    shape = imagenet_utils.obtain_input_shape(
        input_shape,
        default_size=default_size(size, IMAGENET_SIZES),
        min_size=32,
        data_format=image_data_format(),
        require_flatten=include_top,
        weights=weights,
    )
    rows, cols = spatial(shape)
    if weights == "imagenet":
        if depth_multiplier != 1:
            raise ValueError(
                "MobileNet: expected depth_multiplier=1 with weights='imagenet', "
                f"received: depth_multiplier={depth_multiplier}"
            )
        if alpha not in IMAGENET_ALPHAS:
            raise ValueError(
                "MobileNet: expected alpha 0.25, 0.5, 0.75 or 1.0 with weights='imagenet', "
                f"received: alpha={alpha}"
            )
        rows = imagenet_rows(rows, cols, IMAGENET_SIZES)
    x, inputs = model_input(shape, input_tensor)

    stem = layers.Conv2D(
        int(32 * alpha), (3, 3), padding="same", use_bias=False, strides=(2, 2), name="conv1"
    )
    x = _conv_bn_relu6(x, stem, "conv1")
    for block_id, (filters, stride) in enumerate(_BLOCKS, start=1):
        x = _separable_block(x, filters, alpha, depth_multiplier, stride, block_id)

    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Dropout(dropout, name="dropout")(x)
        x = layers.Conv2D(classes, (1, 1), padding="same", name="conv_preds")(x)
        x = layers.Reshape((classes,), name="reshape_2")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Activation(classifier_activation, name="predictions")(x)
    else:
        x = app_builder.pooled(x, pooling)
    model = Functional(
        inputs, x, name=name if name is not None else f"mobilenet_{alpha:0.2f}_{rows}"
    )
    files = imagenet_files(alpha, rows) if weights == "imagenet" else None
    return app_builder.load(model, "MobileNet", weights, include_top, files)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """MobileNet's ImageNet scaling: 'tf' (pixels scaled to [-1, 1])."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


decode_predictions = imagenet_utils.decode_predictions
