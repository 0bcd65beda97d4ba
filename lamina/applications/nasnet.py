"""NASNet-A (Zoph et al., 2018, "Learning Transferable Architectures"), built layer for layer as Keras builds it.

A strided 3x3 stem, two reduction cells, then three stacks of `num_blocks` normal cells
separated by reduction cells. Every cell takes two inputs, the previous cell's output
`x` and the one before it `p`; `_adjust` brings `p` to `x`'s size and width. A cell's
branches are relu-separable-conv-batchnorm pairs and 3x3 poolings, summed in pairs and
concatenated. Layers are created in Keras's order, so the automatically named ones
(`activation_17`, `zero_padding2d_3`, `add_2`, ...) get Keras's names.

Keras 3 refuses `NASNetMobile` on its torch backend ("pretrained incorrect",
keras-team/keras#18451; most likely its torch average pooling of the time, since fixed
for the windows NASNet uses). Lamina builds it, checked against Keras's `NASNet` builder
and against an independent NumPy evaluation of the network.
"""

from __future__ import annotations

from typing import Any

from lamina import layers
from lamina.applications import app_builder, imagenet_utils
from lamina.applications.app_builder import ImagenetFiles
from lamina.models import Functional

# Keras's files by the names they have on its server, and the names Keras caches them under.
MOBILE_FILES = ImagenetFiles("nasnet", "NASNet-mobile.h5", "NASNet-mobile-no-top.h5")
LARGE_FILES = ImagenetFiles("nasnet", "NASNet-large.h5", "NASNet-large-no-top.h5")
CACHED_NAMES = {
    MOBILE_FILES: ImagenetFiles("nasnet", "nasnet_mobile.h5", "nasnet_mobile_no_top.h5"),
    LARGE_FILES: ImagenetFiles("nasnet", "nasnet_large.h5", "nasnet_large_no_top.h5"),
}
_BN = {"axis": -1, "momentum": 0.9997, "epsilon": 1e-3}

__all__ = ["NASNet", "NASNetLarge", "NASNetMobile", "decode_predictions", "preprocess_input"]


def _conv_bn(x: Any, filters: int, conv_name: str, bn_name: str) -> Any:
    """relu, 1x1 convolution, batch norm: the cells' projection of an input."""
    x = layers.Activation("relu")(x)
    x = layers.Conv2D(
        filters,
        (1, 1),
        padding="same",
        use_bias=False,
        kernel_initializer="he_normal",
        name=conv_name,
    )(x)
    return layers.BatchNormalization(**_BN, name=bn_name)(x)


def _separable(
    x: Any, filters: int, kernel_size: tuple[int, int] = (3, 3), strides: int = 1, name: str = ""
) -> Any:
    """Two [relu, separable convolution, batch norm]; a stride of 2 pads as TensorFlow's 'same'."""
    x = layers.Activation("relu")(x)
    padding = "same"
    if strides == 2:
        x = layers.ZeroPadding2D(
            imagenet_utils.correct_pad(x, kernel_size), name=f"separable_conv_1_pad_{name}"
        )(x)
        padding = "valid"
    x = layers.SeparableConv2D(
        filters,
        kernel_size,
        strides=strides,
        padding=padding,
        use_bias=False,
        name=f"separable_conv_1_{name}",
    )(x)
    x = layers.BatchNormalization(**_BN, name=f"separable_conv_1_bn_{name}")(x)
    x = layers.Activation("relu")(x)
    x = layers.SeparableConv2D(
        filters, kernel_size, padding="same", use_bias=False, name=f"separable_conv_2_{name}"
    )(x)
    return layers.BatchNormalization(**_BN, name=f"separable_conv_2_bn_{name}")(x)


def _adjust(p: Any, ip: Any, filters: int, block_id: str) -> Any:
    """The previous-previous input `p`, brought to the size and width of `ip`.

    A larger `p` is halved by two strided 1x1 paths, the second shifted one pixel (pad
    bottom-right, crop top-left) so together they see every pixel; a `p` of the right
    size but the wrong width is projected by a 1x1 convolution.
    """
    if p is None:
        return ip
    if p.shape[-2] != ip.shape[-2]:
        p = layers.Activation("relu", name=f"adjust_relu_1_{block_id}")(p)
        halves = []
        for i in (1, 2):
            if i == 2:
                p = layers.ZeroPadding2D(padding=((0, 1), (0, 1)))(p)
                p = layers.Cropping2D(cropping=((1, 0), (1, 0)))(p)
            half = layers.AveragePooling2D(
                (1, 1), strides=(2, 2), padding="valid", name=f"adjust_avg_pool_{i}_{block_id}"
            )(p)
            half = layers.Conv2D(
                filters // 2,
                (1, 1),
                padding="same",
                use_bias=False,
                kernel_initializer="he_normal",
                name=f"adjust_conv_{i}_{block_id}",
            )(half)
            halves.append(half)
        p = layers.concatenate(halves, axis=-1)
        return layers.BatchNormalization(**_BN, name=f"adjust_bn_{block_id}")(p)
    if p.shape[-1] != filters:
        return _conv_bn(p, filters, f"adjust_conv_projection_{block_id}", f"adjust_bn_{block_id}")
    return p


def _pool(kind: str, x: Any, strides: int, padding: str, name: str) -> Any:
    pool = layers.AveragePooling2D if kind == "avg" else layers.MaxPooling2D
    return pool((3, 3), strides=(strides, strides), padding=padding, name=name)(x)


def _normal_cell(ip: Any, p: Any, filters: int, block_id: str) -> tuple[Any, Any]:
    """A normal cell (Fig. 4 of the paper): five pairwise sums, concatenated with `p`."""
    p = _adjust(p, ip, filters, block_id)
    h = _conv_bn(ip, filters, f"normal_conv_1_{block_id}", f"normal_bn_1_{block_id}")
    x1 = layers.add(
        [
            _separable(h, filters, (5, 5), name=f"normal_left1_{block_id}"),
            _separable(p, filters, name=f"normal_right1_{block_id}"),
        ],
        name=f"normal_add_1_{block_id}",
    )
    x2 = layers.add(
        [
            _separable(p, filters, (5, 5), name=f"normal_left2_{block_id}"),
            _separable(p, filters, (3, 3), name=f"normal_right2_{block_id}"),
        ],
        name=f"normal_add_2_{block_id}",
    )
    x3 = _pool("avg", h, 1, "same", f"normal_left3_{block_id}")
    x3 = layers.add([x3, p], name=f"normal_add_3_{block_id}")
    x4 = layers.add(
        [
            _pool("avg", p, 1, "same", f"normal_left4_{block_id}"),
            _pool("avg", p, 1, "same", f"normal_right4_{block_id}"),
        ],
        name=f"normal_add_4_{block_id}",
    )
    x5 = _separable(h, filters, name=f"normal_left5_{block_id}")
    x5 = layers.add([x5, h], name=f"normal_add_5_{block_id}")
    x = layers.concatenate([p, x1, x2, x3, x4, x5], axis=-1, name=f"normal_concat_{block_id}")
    return x, ip


def _reduction_cell(ip: Any, p: Any, filters: int, block_id: str) -> tuple[Any, Any]:
    """A reduction cell (Fig. 4 of the paper): halves the size; four sums, concatenated."""
    p = _adjust(p, ip, filters, block_id)
    h = _conv_bn(ip, filters, f"reduction_conv_1_{block_id}", f"reduction_bn_1_{block_id}")
    h3 = layers.ZeroPadding2D(imagenet_utils.correct_pad(h, 3), name=f"reduction_pad_1_{block_id}")(
        h
    )
    x1 = layers.add(
        [
            _separable(h, filters, (5, 5), 2, name=f"reduction_left1_{block_id}"),
            _separable(p, filters, (7, 7), 2, name=f"reduction_right1_{block_id}"),
        ],
        name=f"reduction_add_1_{block_id}",
    )
    x2 = _pool("max", h3, 2, "valid", f"reduction_left2_{block_id}")
    x2_2 = _separable(p, filters, (7, 7), 2, name=f"reduction_right2_{block_id}")
    x2 = layers.add([x2, x2_2], name=f"reduction_add_2_{block_id}")
    x3 = _pool("avg", h3, 2, "valid", f"reduction_left3_{block_id}")
    x3_2 = _separable(p, filters, (5, 5), 2, name=f"reduction_right3_{block_id}")
    x3 = layers.add([x3, x3_2], name=f"reduction_add3_{block_id}")
    x4 = _pool("avg", x1, 1, "same", f"reduction_left4_{block_id}")
    x4 = layers.add([x2, x4])
    x5 = _separable(x1, filters, (3, 3), name=f"reduction_left4_{block_id}")
    x5_2 = _pool("max", h3, 2, "valid", f"reduction_right5_{block_id}")
    x5 = layers.add([x5, x5_2], name=f"reduction_add4_{block_id}")
    x = layers.concatenate([x2, x3, x4, x5], axis=-1, name=f"reduction_concat_{block_id}")
    return x, ip


@app_builder.loads_all_weights
def NASNet(
    input_shape: Any = None,
    penultimate_filters: int = 4032,
    num_blocks: int = 6,
    stem_block_filters: int = 96,
    skip_reduction: bool = True,
    filter_multiplier: int = 2,
    include_top: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    default_size: int | None = None,
    classifier_activation: Any = "softmax",
    name: str = "NASNet",
) -> Functional:
    """A NASNet-A (N @ P): N = `num_blocks` normal cells per stack, P = `penultimate_filters`.

    With `skip_reduction`, the cell after a reduction cell takes as `p` the input of the
    cell before the reduction (NASNet-Large) rather than the reduction's own input.
    ImageNet weights exist for default_size 224 (Mobile) and 331 (Large).
    """
    app_builder.check_arguments(name, weights, include_top, classes, pooling)
    if isinstance(input_shape, tuple) and None in input_shape and weights == "imagenet":
        raise ValueError(
            "Expected a static input_shape (no None) with weights='imagenet', received: "
            f"input_shape={input_shape}"
        )
    default_size = 331 if default_size is None else default_size
    files = {224: MOBILE_FILES, 331: LARGE_FILES}.get(default_size)
    if weights == "imagenet" and files is None:
        raise ValueError(
            "Expected default_size 224 (NASNetMobile) or 331 (NASNetLarge) with "
            f"weights='imagenet', received: default_size={default_size}"
        )
    img_input, inputs = app_builder.image_input(
        input_shape, input_tensor, default_size, 32, include_top, weights
    )
    path = _imagenet_file(name, include_top, files) if weights == "imagenet" else None
    if penultimate_filters % (24 * filter_multiplier**2):
        raise ValueError(
            f"Expected penultimate_filters to be a multiple of 24 * filter_multiplier ** 2 "
            f"= {24 * filter_multiplier**2}, received: penultimate_filters={penultimate_filters}"
        )
    filters = penultimate_filters // 24
    x = layers.Conv2D(
        stem_block_filters,
        (3, 3),
        strides=(2, 2),
        padding="valid",
        use_bias=False,
        kernel_initializer="he_normal",
        name="stem_conv1",
    )(img_input)
    x = layers.BatchNormalization(**_BN, name="stem_bn1")(x)
    x, p = _reduction_cell(x, None, filters // filter_multiplier**2, "stem_1")
    x, p = _reduction_cell(x, p, filters // filter_multiplier, "stem_2")
    for stack in range(3):
        width = filters * filter_multiplier**stack
        if stack:
            block_id = f"reduce_{stack * num_blocks}"
            x, p_reduced = _reduction_cell(x, p, width, block_id)
            p = p if skip_reduction else p_reduced
        for i in range(num_blocks):
            x, p = _normal_cell(x, p, width, str(stack * num_blocks + i + (1 if stack else 0)))
    x = layers.Activation("relu")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D()(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = app_builder.pooled(x, pooling)
    return app_builder.finish(inputs, x, name, path or weights, include_top, files)


def _imagenet_file(name: str, include_top: bool, files: ImagenetFiles) -> Any:
    """Keras's ImageNet file in a cache: under Keras's cache name, else its server name."""
    cached = CACHED_NAMES[files].name(include_top)
    for folder in app_builder.weight_caches():
        if (folder / cached).is_file():
            return str(folder / cached)
    return str(app_builder.find_imagenet_file(name, include_top, files))


def NASNetMobile(
    input_shape: Any = None,
    include_top: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "nasnet_mobile",
) -> Functional:
    """NASNet-A Mobile (4 @ 1056) at 224x224 (5.3M parameters with the top)."""
    if not include_top and input_shape is None:
        input_shape = (224, 224, 3)
    return NASNet(
        input_shape,
        penultimate_filters=1056,
        num_blocks=4,
        stem_block_filters=32,
        skip_reduction=False,
        filter_multiplier=2,
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        pooling=pooling,
        classes=classes,
        default_size=224,
        classifier_activation=classifier_activation,
        name=name,
    )


def NASNetLarge(
    input_shape: Any = None,
    include_top: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "nasnet_large",
) -> Functional:
    """NASNet-A Large (6 @ 4032) at 331x331 (88.9M parameters with the top)."""
    return NASNet(
        input_shape,
        penultimate_filters=4032,
        num_blocks=6,
        stem_block_filters=96,
        skip_reduction=True,
        filter_multiplier=2,
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        pooling=pooling,
        classes=classes,
        default_size=331,
        classifier_activation=classifier_activation,
        name=name,
    )


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """NASNet's ImageNet scaling: 'tf' (pixels to [-1, 1])."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


decode_predictions = imagenet_utils.decode_predictions
