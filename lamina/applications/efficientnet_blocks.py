"""The pieces EfficientNet (V1) and EfficientNetV2 share, with Keras's layer names.

Both families stack MBConv blocks (1x1 expansion, depthwise convolution, optional
squeeze-and-excitation, 1x1 projection, and a residual sum whose branch is dropped
per sample during training: stochastic depth, a Dropout with noise_shape
(None, 1, 1, 1)), then end in the same 1x1 `top_conv` and classifier. Every layer
name takes the block's prefix, e.g. 'block2a_' + 'dwconv'.
"""

from __future__ import annotations

from typing import Any

from lamina import initializers, layers
from lamina.applications import app_builder, imagenet_utils

# Keras's initializers for these families (they only matter for training from scratch).
CONV_INIT = {
    "class_name": "VarianceScaling",
    "config": {"scale": 2.0, "mode": "fan_out", "distribution": "truncated_normal"},
}
DENSE_INIT = {
    "class_name": "VarianceScaling",
    "config": {"scale": 1.0 / 3.0, "mode": "fan_out", "distribution": "uniform"},
}


def conv_bn(
    x: Any,
    filters: int,
    kernel_size: int,
    prefix: str,
    momentum: float,
    strides: int = 1,
    activation: Any = None,
    padding: str = "same",
    conv: str = "conv",
    bn: str = "bn",
) -> Any:
    """Conv2D (no bias) and BatchNormalization, then the activation if one is given."""
    x = layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding=padding,
        use_bias=False,
        kernel_initializer=CONV_INIT,
        name=prefix + conv,
    )(x)
    x = layers.BatchNormalization(axis=3, momentum=momentum, name=prefix + bn)(x)
    if activation is not None:
        x = layers.Activation(activation, name=prefix + conv.replace("conv", "activation"))(x)
    return x


def squeeze_excite(x: Any, filters_se: int, activation: Any, prefix: str) -> Any:
    """Rescale each channel by a gate computed from the channels' global averages."""
    filters = int(x.shape[-1])
    se = layers.GlobalAveragePooling2D(name=prefix + "se_squeeze")(x)
    se = layers.Reshape((1, 1, filters), name=prefix + "se_reshape")(se)
    for units, act, part in ((filters_se, activation, "reduce"), (filters, "sigmoid", "expand")):
        se = layers.Conv2D(
            units,
            1,
            padding="same",
            activation=act,
            kernel_initializer=CONV_INIT,
            name=f"{prefix}se_{part}",
        )(se)
    return layers.multiply([x, se], name=prefix + "se_excite")


def residual(x: Any, inputs: Any, drop_rate: float, prefix: str) -> Any:
    """The block's output plus its input, the branch dropped per sample at `drop_rate`."""
    if drop_rate > 0:
        x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=prefix + "drop")(x)
    return layers.add([x, inputs], name=prefix + "add")


def mbconv(
    inputs: Any,
    filters_in: int,
    filters_out: int,
    expand_ratio: int,
    kernel_size: int,
    strides: int,
    se_ratio: float,
    drop_rate: float,
    activation: Any,
    prefix: str,
    momentum: float,
    v2: bool,
    id_skip: bool = True,
) -> Any:
    """The inverted residual block (MBConv).

    V1 pads a strided depthwise convolution explicitly ('dwconv_pad', then 'valid', as
    TensorFlow's 'same') and names it 'dwconv'; V2 uses 'same' and the name 'dwconv2'.
    """
    filters = filters_in * expand_ratio
    x = inputs
    if expand_ratio != 1:
        x = conv_bn(
            x,
            filters,
            1,
            prefix,
            momentum,
            activation=activation,
            conv="expand_conv",
            bn="expand_bn",
        )
    padding = "same"
    if strides == 2 and not v2:
        pad = imagenet_utils.correct_pad(x, kernel_size)
        x = layers.ZeroPadding2D(padding=pad, name=prefix + "dwconv_pad")(x)
        padding = "valid"
    x = layers.DepthwiseConv2D(
        kernel_size,
        strides=strides,
        padding=padding,
        use_bias=False,
        depthwise_initializer=CONV_INIT,
        name=prefix + ("dwconv2" if v2 else "dwconv"),
    )(x)
    x = layers.BatchNormalization(axis=3, momentum=momentum, name=prefix + "bn")(x)
    x = layers.Activation(activation, name=prefix + "activation")(x)
    if 0 < se_ratio <= 1:
        x = squeeze_excite(x, max(1, int(filters_in * se_ratio)), activation, prefix)
    x = conv_bn(x, filters_out, 1, prefix, momentum, conv="project_conv", bn="project_bn")
    if id_skip and strides == 1 and filters_in == filters_out:
        x = residual(x, inputs, drop_rate, prefix)
    return x


def head(
    x: Any,
    top_filters: int,
    activation: Any,
    momentum: float,
    include_top: bool,
    pooling: str | None,
    dropout_rate: float,
    classes: int,
    classifier_activation: Any,
    weights: Any,
    bias_initializer: Any = "zeros",
) -> Any:
    """'top_conv' to `top_filters` channels, then the classifier or the optional pooling."""
    x = conv_bn(x, top_filters, 1, "top_", momentum, activation=activation)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate, name="top_dropout")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        return layers.Dense(
            classes,
            activation=classifier_activation,
            kernel_initializer=DENSE_INIT,
            bias_initializer=initializers.get(bias_initializer),
            name="predictions",
        )(x)
    return app_builder.pooled(x, pooling, named=True)
