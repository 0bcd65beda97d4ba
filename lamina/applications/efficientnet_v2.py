"""EfficientNetV2 B0-B3, S, M and L (Tan & Le, 2021), built layer for layer as Keras builds them.

V2 starts with fused MBConv blocks (one regular 3x3 convolution in place of the 1x1
expansion and the depthwise convolution), which run faster on early, wide feature
maps, and uses MBConv blocks with squeeze-and-excitation later. With
`include_preprocessing` (the default) the models take pixels in [0, 255]: the B
variants scale them as EfficientNet V1 does (1/255, then ImageNet's mean and standard
deviation), S, M and L to [-1, 1]. So `preprocess_input` passes its input through.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from lamina import initializers, layers
from lamina.applications import app_builder, imagenet_utils
from lamina.applications.app_builder import ImagenetFiles
from lamina.applications.efficientnet_blocks import conv_bn, head, mbconv, residual, squeeze_excite
from lamina.models import Functional

_KEYS = (
    "conv_type",
    "num_repeat",
    "input_filters",
    "output_filters",
    "expand_ratio",
    "strides",
    "se_ratio",
)


def _stages(*rows: tuple) -> list[dict[str, Any]]:
    """Keras's block dicts from rows of (conv_type, repeats, in, out, expansion, stride, SE)
    (conv_type 1: fused MBConv, 0: MBConv; every kernel is 3x3)."""
    return [{"kernel_size": 3, **dict(zip(_KEYS, row))} for row in rows]


_B = _stages(
    (1, 1, 32, 16, 1, 1, 0),
    (1, 2, 16, 32, 4, 2, 0),
    (1, 2, 32, 48, 4, 2, 0),
    (0, 3, 48, 96, 4, 2, 0.25),
    (0, 5, 96, 112, 6, 1, 0.25),
    (0, 8, 112, 192, 6, 2, 0.25),
)
# Keras's DEFAULT_BLOCKS_ARGS, by model name.
DEFAULT_BLOCKS_ARGS = {
    "efficientnetv2-s": _stages(
        (1, 2, 24, 24, 1, 1, 0),
        (1, 4, 24, 48, 4, 2, 0),
        (1, 4, 48, 64, 4, 2, 0),
        (0, 6, 64, 128, 4, 2, 0.25),
        (0, 9, 128, 160, 6, 1, 0.25),
        (0, 15, 160, 256, 6, 2, 0.25),
    ),
    "efficientnetv2-m": _stages(
        (1, 3, 24, 24, 1, 1, 0),
        (1, 5, 24, 48, 4, 2, 0),
        (1, 5, 48, 80, 4, 2, 0),
        (0, 7, 80, 160, 4, 2, 0.25),
        (0, 14, 160, 176, 6, 1, 0.25),
        (0, 18, 176, 304, 6, 2, 0.25),
        (0, 5, 304, 512, 6, 1, 0.25),
    ),
    "efficientnetv2-l": _stages(
        (1, 4, 32, 32, 1, 1, 0),
        (1, 7, 32, 64, 4, 2, 0),
        (1, 7, 64, 96, 4, 2, 0),
        (0, 10, 96, 192, 4, 2, 0.25),
        (0, 19, 192, 224, 6, 1, 0.25),
        (0, 25, 224, 384, 6, 2, 0.25),
        (0, 7, 384, 640, 6, 1, 0.25),
    ),
    **{f"efficientnetv2-b{i}": _B for i in range(4)},
}

# Per variant: width and depth coefficients, default input size.
VARIANTS = {
    "b0": (1.0, 1.0, 224),
    "b1": (1.0, 1.1, 240),
    "b2": (1.1, 1.2, 260),
    "b3": (1.2, 1.4, 300),
    "s": (1.0, 1.0, 384),
    "m": (1.0, 1.0, 480),
    "l": (1.0, 1.0, 480),
}
IMAGENET_MEAN_RGB = (0.485, 0.456, 0.406)
IMAGENET_STDDEV_RGB = (0.229, 0.224, 0.225)


def round_filters(filters: float, width: float, min_depth: int | None, divisor: int) -> int:
    """Scale a channel count by `width`, to a multiple of `divisor`, at least `min_depth`."""
    filters *= width
    return int(max(min_depth or divisor, int(filters + divisor / 2) // divisor * divisor))


def fused_mbconv(
    inputs: Any,
    input_filters: int,
    output_filters: int,
    expand_ratio: int,
    kernel_size: int,
    strides: int,
    se_ratio: float,
    drop_rate: float,
    activation: Any,
    prefix: str,
    momentum: float,
) -> Any:
    """Fused MBConv: a strided kxk expansion convolution, then a 1x1 projection (without
    expansion, the kxk projection is the strided convolution, with an activation)."""
    filters = input_filters * expand_ratio
    x = inputs
    expand = {"conv": "expand_conv", "bn": "expand_bn"}
    if expand_ratio != 1:
        x = conv_bn(x, filters, kernel_size, prefix, momentum, strides, activation, **expand)
    if 0 < se_ratio <= 1:
        x = squeeze_excite(x, max(1, int(input_filters * se_ratio)), activation, prefix)
    project = {"conv": "project_conv", "bn": "project_bn"}
    if expand_ratio != 1:
        x = conv_bn(x, output_filters, 1, prefix, momentum, **project)
    else:  # the projection is the block's only, strided, convolution
        x = conv_bn(
            x, output_filters, kernel_size, prefix, momentum, strides, activation, **project
        )
    if strides == 1 and input_filters == output_filters:
        x = residual(x, inputs, drop_rate, prefix)
    return x


def EfficientNetV2(
    width_coefficient: float,
    depth_coefficient: float,
    default_size: int,
    dropout_rate: float = 0.2,
    drop_connect_rate: float = 0.2,
    depth_divisor: int = 8,
    min_depth: int = 8,
    bn_momentum: float = 0.9,
    activation: Any = "swish",
    blocks_args: Any = "default",
    name: str = "efficientnetv2",
    include_top: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    include_preprocessing: bool = True,
    weights_name: str | None = None,
) -> Functional:
    """An EfficientNetV2 of any width and depth (Keras's generic builder, same arguments).

    As in Keras, `name` picks the default `blocks_args` (DEFAULT_BLOCKS_ARGS[name]) and,
    when it ends in '-b...', V1's input scaling; ImageNet weights are `{name}.h5` (or
    `_notop.h5`).
    """
    if blocks_args == "default":
        if name not in DEFAULT_BLOCKS_ARGS:
            raise ValueError(
                f"Expected blocks_args, or a name with default blocks "
                f"({', '.join(DEFAULT_BLOCKS_ARGS)}), received: name={name!r}"
            )
        blocks_args = DEFAULT_BLOCKS_ARGS[name]
    return build(
        width_coefficient,
        depth_coefficient,
        default_size,
        blocks_args,
        name.split("-")[-1].startswith("b"),
        name,
        name,
        include_top,
        weights,
        input_tensor,
        input_shape,
        pooling,
        classes,
        classifier_activation,
        include_preprocessing,
        dropout_rate,
        drop_connect_rate,
        depth_divisor,
        min_depth,
        bn_momentum,
        activation,
    )


@app_builder.loads_all_weights
def build(
    width_coefficient: float,
    depth_coefficient: float,
    default_size: int,
    blocks_args: Sequence[dict[str, Any]],
    v1_scaling: bool,
    file_stem: str,
    name: str,
    include_top: bool,
    weights: Any,
    input_tensor: Any,
    input_shape: Any,
    pooling: str | None,
    classes: int,
    classifier_activation: Any,
    include_preprocessing: bool,
    dropout_rate: float = 0.2,
    drop_connect_rate: float = 0.2,
    depth_divisor: int = 8,
    min_depth: int = 8,
    bn_momentum: float = 0.9,
    activation: Any = "swish",
) -> Functional:
    """The network; `v1_scaling` and the weights' `file_stem` come from the variant, so a
    constructor's model may take any name."""
    app_builder.check_arguments(name, weights, include_top, classes, pooling)
    x, inputs = app_builder.image_input(
        input_shape, input_tensor, default_size, 32, include_top, weights
    )
    if include_preprocessing:
        if v1_scaling and x.shape[-1] == 3:
            x = layers.Rescaling(scale=1.0 / 255)(x)
            variance = [s**2 for s in IMAGENET_STDDEV_RGB]
            x = layers.Normalization(mean=list(IMAGENET_MEAN_RGB), variance=variance, axis=3)(x)
        else:
            x = layers.Rescaling(scale=1.0 / 128.0, offset=-1)(x)

    def width(filters: int) -> int:
        return round_filters(filters, width_coefficient, min_depth, depth_divisor)

    x = conv_bn(x, width(blocks_args[0]["input_filters"]), 3, "stem_", bn_momentum, 2, activation)
    for args in blocks_args:
        if args["num_repeat"] <= 0:
            raise ValueError(
                f"{name}: expected num_repeat > 0, received: num_repeat={args['num_repeat']}"
            )
    total = float(sum(args["num_repeat"] for args in blocks_args))
    b = 0
    for i, args in enumerate(blocks_args):
        f_in, f_out = width(args["input_filters"]), width(args["output_filters"])
        repeats = int(math.ceil(depth_coefficient * args["num_repeat"]))
        for j in range(repeats):
            block_args = (
                f_in if j == 0 else f_out,
                f_out,
                args.get("expand_ratio", 1),
                args.get("kernel_size", 3),
                args.get("strides", 1) if j == 0 else 1,
                args.get("se_ratio", 0.0),
                drop_connect_rate * b / total,
                activation,
                f"block{i + 1}{chr(j + 97)}_",
                bn_momentum,
            )
            if args["conv_type"] == 1:
                x = fused_mbconv(x, *block_args)
            else:
                x = mbconv(x, *block_args, v2=True)
            b += 1
    x = head(
        x,
        width(1280),
        activation,
        bn_momentum,
        include_top,
        pooling,
        dropout_rate,
        classes,
        classifier_activation,
        weights,
        bias_initializer=initializers.Constant(0.0),
    )
    files = ImagenetFiles("efficientnet_v2", f"{file_stem}.h5", f"{file_stem}_notop.h5")
    return app_builder.finish(inputs, x, name, weights, include_top, files)


def _constructor(variant: str) -> Callable[..., Functional]:
    """The public constructor of one variant, with Keras's signature and defaults."""
    default_name = f"efficientnetv2-{variant}"

    def constructor(
        include_top: bool = True,
        weights: Any = "imagenet",
        input_tensor: Any = None,
        input_shape: Any = None,
        pooling: str | None = None,
        classes: int = 1000,
        classifier_activation: Any = "softmax",
        include_preprocessing: bool = True,
        name: str = default_name,
    ) -> Functional:
        return build(
            width,
            depth,
            size,
            DEFAULT_BLOCKS_ARGS[default_name],
            variant.startswith("b"),
            default_name,
            name,
            include_top,
            weights,
            input_tensor,
            input_shape,
            pooling,
            classes,
            classifier_activation,
            include_preprocessing,
        )

    width, depth, size = VARIANTS[variant]
    constructor.__name__ = constructor.__qualname__ = f"EfficientNetV2{variant.upper()}"
    constructor.__doc__ = (
        f"EfficientNetV2{variant.upper()}: width x{width}, depth x{depth}, {size}x{size} "
        "inputs in [0, 255] (with include_preprocessing, the default)."
    )
    return constructor


EfficientNetV2B0 = _constructor("b0")
EfficientNetV2B1 = _constructor("b1")
EfficientNetV2B2 = _constructor("b2")
EfficientNetV2B3 = _constructor("b3")
EfficientNetV2S = _constructor("s")
EfficientNetV2M = _constructor("m")
EfficientNetV2L = _constructor("l")


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """The identity, as in Keras: EfficientNetV2's scaling is part of the model."""
    return x


decode_predictions = imagenet_utils.decode_predictions
