"""EfficientNet B0-B7 (Tan & Le, 2019), built layer for layer as Keras builds them.

One network scaled in width (channels), depth (block repeats) and input size. The
input scaling is inside the model: Rescaling(1/255), then a Normalization layer whose
mean and variance are weights (ImageNet's, in Keras's files), and with ImageNet
weights a further per-channel Rescaling that reproduces the original TensorFlow
models' division by the variance (tensorflow/tensorflow#49930). So the models take
pixels in [0, 255] and `preprocess_input` passes its input through.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lamina import layers
from lamina.applications import app_builder, imagenet_utils
from lamina.applications.app_builder import ImagenetFiles
from lamina.applications.efficientnet_blocks import conv_bn, head, mbconv
from lamina.models import Functional

BASE_WEIGHTS_URL = "https://storage.googleapis.com/keras-applications/"
IMAGENET_STDDEV_RGB = (0.229, 0.224, 0.225)

BLOCK_DEFAULTS = {
    "kernel_size": 3,
    "strides": 1,
    "expand_ratio": 1,
    "se_ratio": 0.0,
    "id_skip": True,
}
# Keras's DEFAULT_BLOCKS_ARGS, one dict per stage (every stage: se_ratio 0.25, id_skip).
DEFAULT_BLOCKS_ARGS = tuple(
    {
        "kernel_size": kernel_size,
        "repeats": repeats,
        "filters_in": filters_in,
        "filters_out": filters_out,
        "expand_ratio": expand_ratio,
        "id_skip": True,
        "strides": strides,
        "se_ratio": 0.25,
    }
    for kernel_size, repeats, filters_in, filters_out, expand_ratio, strides in (
        (3, 1, 32, 16, 1, 1),
        (3, 2, 16, 24, 6, 2),
        (5, 2, 24, 40, 6, 2),
        (3, 3, 40, 80, 6, 2),
        (5, 3, 80, 112, 6, 1),
        (5, 4, 112, 192, 6, 2),
        (3, 1, 192, 320, 6, 1),
    )
)

# Per variant: width and depth coefficients, default input size, top dropout rate.
VARIANTS = {
    "b0": (1.0, 1.0, 224, 0.2),
    "b1": (1.0, 1.1, 240, 0.2),
    "b2": (1.1, 1.2, 260, 0.3),
    "b3": (1.2, 1.4, 300, 0.3),
    "b4": (1.4, 1.8, 380, 0.4),
    "b5": (1.6, 2.2, 456, 0.4),
    "b6": (1.8, 2.6, 528, 0.5),
    "b7": (2.0, 3.1, 600, 0.5),
}


def round_filters(filters: float, width: float, divisor: int = 8) -> int:
    """Scale a channel count by `width`, to a multiple of `divisor`, never 10% below."""
    filters *= width
    rounded = max(divisor, int(filters + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * filters:
        rounded += divisor
    return int(rounded)


def round_repeats(repeats: int, depth: float) -> int:
    return int(math.ceil(depth * repeats))


@app_builder.loads_all_weights
def EfficientNet(
    width_coefficient: float,
    depth_coefficient: float,
    default_size: int,
    dropout_rate: float = 0.2,
    drop_connect_rate: float = 0.2,
    depth_divisor: int = 8,
    activation: Any = "swish",
    blocks_args: Any = "default",
    name: str = "efficientnet",
    include_top: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    weights_name: str | None = None,
) -> Functional:
    """An EfficientNet of any width and depth (Keras's generic builder, same arguments).

    `blocks_args` is 'default' or one dict per stage with Keras's keys (repeats,
    filters_in, filters_out, kernel_size, strides, expand_ratio, se_ratio, id_skip).
    With ImageNet weights the file is `efficientnet{weights_name}.h5` (`{name}.h5`
    without a weights_name), `_notop.h5` without the top.
    """
    stages = DEFAULT_BLOCKS_ARGS if blocks_args == "default" else blocks_args
    app_builder.check_arguments(name, weights, include_top, classes, pooling)
    x, inputs = app_builder.image_input(
        input_shape, input_tensor, default_size, 32, include_top, weights
    )
    x = layers.Rescaling(1.0 / 255.0)(x)
    x = layers.Normalization(axis=3)(x)
    if weights == "imagenet":
        x = layers.Rescaling([1.0 / math.sqrt(s) for s in IMAGENET_STDDEV_RGB])(x)
    x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, 3), name="stem_conv_pad")(x)

    def width(filters: int) -> int:
        return round_filters(filters, width_coefficient, depth_divisor)

    x = conv_bn(x, width(32), 3, "stem_", 0.99, 2, activation, padding="valid")
    for args in stages:
        if args["repeats"] <= 0:
            raise ValueError(
                f"{name}: expected block repeats > 0, received: repeats={args['repeats']}"
            )
    total = float(sum(round_repeats(args["repeats"], depth_coefficient) for args in stages))
    b = 0
    for i, args in enumerate(stages):
        args = {**BLOCK_DEFAULTS, **args}
        f_in, f_out = width(args["filters_in"]), width(args["filters_out"])
        for j in range(round_repeats(args["repeats"], depth_coefficient)):
            x = mbconv(
                x,
                f_in if j == 0 else f_out,
                f_out,
                args["expand_ratio"],
                args["kernel_size"],
                args["strides"] if j == 0 else 1,
                args["se_ratio"],
                drop_connect_rate * b / total,
                activation,
                f"block{i + 1}{chr(j + 97)}_",
                momentum=0.99,
                v2=False,
                id_skip=args["id_skip"],
            )
            b += 1
    x = head(
        x,
        width(1280),
        activation,
        0.99,
        include_top,
        pooling,
        dropout_rate,
        classes,
        classifier_activation,
        weights,
    )
    if weights == "imagenet":
        stem = name if weights_name is None else f"efficientnet{weights_name}"
        weights = imagenet_file(name, stem, include_top)
    return app_builder.finish(inputs, x, name, weights, include_top, None)


def imagenet_file(name: str, stem: str, include_top: bool) -> Path:
    """Keras's ImageNet file (`stem`.h5 or `stem`_notop.h5) from a weights cache; else a clear error."""
    files = ImagenetFiles("", f"{stem}.h5", f"{stem}_notop.h5", base_url=BASE_WEIGHTS_URL)
    return app_builder.find_imagenet_file(name, include_top, files)


def _constructor(variant: str) -> Callable[..., Functional]:
    """The public constructor of one variant, with Keras's signature and defaults."""

    def constructor(
        include_top: bool = True,
        weights: Any = "imagenet",
        input_tensor: Any = None,
        input_shape: Any = None,
        pooling: str | None = None,
        classes: int = 1000,
        classifier_activation: Any = "softmax",
        name: str = f"efficientnet{variant}",
    ) -> Functional:
        return EfficientNet(
            width,
            depth,
            size,
            dropout_rate,
            name=name,
            include_top=include_top,
            weights=weights,
            input_tensor=input_tensor,
            input_shape=input_shape,
            pooling=pooling,
            classes=classes,
            classifier_activation=classifier_activation,
            weights_name=variant,
        )

    width, depth, size, dropout_rate = VARIANTS[variant]
    constructor.__name__ = constructor.__qualname__ = f"EfficientNet{variant.upper()}"
    constructor.__doc__ = (
        f"EfficientNet{variant.upper()}: width x{width}, depth x{depth}, {size}x{size} inputs "
        "in [0, 255] (the scaling is inside the model)."
    )
    return constructor


EfficientNetB0 = _constructor("b0")
EfficientNetB1 = _constructor("b1")
EfficientNetB2 = _constructor("b2")
EfficientNetB3 = _constructor("b3")
EfficientNetB4 = _constructor("b4")
EfficientNetB5 = _constructor("b5")
EfficientNetB6 = _constructor("b6")
EfficientNetB7 = _constructor("b7")


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """The identity, as in Keras: EfficientNet's scaling is part of the model."""
    return x


decode_predictions = imagenet_utils.decode_predictions
