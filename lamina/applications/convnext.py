"""ConvNeXt (Liu et al., 2022, "A ConvNet for the 2020s"), built layer for layer as Keras builds it.

A 4x4 patchify stem, then four stages of blocks at 1/4 to 1/32 of the input size, each
stage after the first entered through a LayerNorm + 2x2 strided convolution. A block
is a 7x7 depthwise convolution, LayerNorm, an inverted bottleneck of two Dense layers
(4x wider, GELU), a LayerScale, and a residual connection (with StochasticDepth when
`drop_path_rate > 0`). The stem and each downsampling step are small `Sequential`
models named `{name}_stem` and `{name}_downsampling_block_{i}`, as in Keras.

The ImageNet normalization is part of the model (`include_preprocessing=True`: inputs
are pixels in [0, 255]), so `preprocess_input` is the identity, as Keras's is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lamina import layers
from lamina.applications import app_builder, imagenet_utils
from lamina.applications.app_builder import ImagenetFiles
from lamina.applications.convnext_layers import LayerScale, StochasticDepth
from lamina.models import Functional, Sequential

MODEL_CONFIGS = {
    "tiny": ([3, 3, 9, 3], [96, 192, 384, 768]),
    "small": ([3, 3, 27, 3], [96, 192, 384, 768]),
    "base": ([3, 3, 27, 3], [128, 256, 512, 1024]),
    "large": ([3, 3, 27, 3], [192, 384, 768, 1536]),
    "xlarge": ([3, 3, 27, 3], [256, 512, 1024, 2048]),
}
_IMAGENET_MEAN = [0.485 * 255, 0.456 * 255, 0.406 * 255]
_IMAGENET_VARIANCE = [(0.229 * 255) ** 2, (0.224 * 255) ** 2, (0.225 * 255) ** 2]
_EPSILON = 1e-6

__all__ = [
    "ConvNeXt",
    "ConvNeXtBase",
    "ConvNeXtLarge",
    "ConvNeXtSmall",
    "ConvNeXtTiny",
    "ConvNeXtXLarge",
    "LayerScale",
    "StochasticDepth",
    "decode_predictions",
    "preprocess_input",
]


def _files(weights_name: str) -> ImagenetFiles:
    return ImagenetFiles("convnext", f"{weights_name}.h5", f"{weights_name}_notop.h5")


def _block(
    x: Any, projection_dim: int, drop_path_rate: float, layer_scale_init_value: Any, name: str
) -> Any:
    """One ConvNeXt block (its Dense layers are the pointwise convolutions)."""
    residual = x
    x = layers.Conv2D(
        projection_dim,
        kernel_size=7,
        padding="same",
        groups=projection_dim,
        name=f"{name}_depthwise_conv",
    )(x)
    x = layers.LayerNormalization(epsilon=_EPSILON, name=f"{name}_layernorm")(x)
    x = layers.Dense(4 * projection_dim, name=f"{name}_pointwise_conv_1")(x)
    x = layers.Activation("gelu", name=f"{name}_gelu")(x)
    x = layers.Dense(projection_dim, name=f"{name}_pointwise_conv_2")(x)
    if layer_scale_init_value is not None:
        x = LayerScale(layer_scale_init_value, projection_dim, name=f"{name}_layer_scale")(x)
    if drop_path_rate:
        x = StochasticDepth(drop_path_rate, name=f"{name}_stochastic_depth")(x)
    else:
        x = layers.Activation("linear", name=f"{name}_identity")(x)
    return residual + x  # an automatically named Add, where Keras records an `add` op


def _downsampling(dims: Sequence[int], name: str) -> list[Sequential]:
    """The stem (4x4 patches) and the three 2x2 downsampling steps before stages 1-3."""
    stem = Sequential(
        [
            layers.Conv2D(dims[0], kernel_size=4, strides=4, name=f"{name}_stem_conv"),
            layers.LayerNormalization(epsilon=_EPSILON, name=f"{name}_stem_layernorm"),
        ],
        name=f"{name}_stem",
    )
    steps = [
        Sequential(
            [
                layers.LayerNormalization(
                    epsilon=_EPSILON, name=f"{name}_downsampling_layernorm_{i}"
                ),
                layers.Conv2D(
                    dims[i + 1], kernel_size=2, strides=2, name=f"{name}_downsampling_conv_{i}"
                ),
            ],
            name=f"{name}_downsampling_block_{i}",
        )
        for i in range(3)
    ]
    return [stem, *steps]


def _check_imagenet(
    weights: Any, weights_name: str | None, depths: Sequence[int], dims: Sequence[int], name: str
) -> None:
    """Keras's checks that ImageNet weights are asked of the architecture they fit."""
    if weights != "imagenet":
        return
    variant = (weights_name or "").split("convnext_")[-1]
    if variant not in MODEL_CONFIGS:
        raise ValueError(
            "Expected weights_name to be one of "
            f"{', '.join('convnext_' + v for v in MODEL_CONFIGS)} with weights='imagenet', "
            f"received: weights_name={weights_name!r}"
        )
    expected_depths, expected_dims = MODEL_CONFIGS[variant]
    if list(depths) != expected_depths or list(dims) != expected_dims:
        raise ValueError(
            f"Expected the {weights_name} architecture for its ImageNet weights, depths="
            f"{expected_depths} and projection_dims={expected_dims}, received: "
            f"depths={list(depths)}, projection_dims={list(dims)}"
        )
    if weights_name not in name:
        raise ValueError(
            f"Expected a model name containing {weights_name!r} with its ImageNet weights, "
            f"received: name={name!r}"
        )


@app_builder.loads_all_weights
def ConvNeXt(
    depths: Sequence[int],
    projection_dims: Sequence[int],
    drop_path_rate: float = 0.0,
    layer_scale_init_value: float | None = 1e-6,
    default_size: int = 224,
    name: str = "convnext",
    include_preprocessing: bool = True,
    include_top: bool = True,
    weights: Any = None,
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    weights_name: str | None = None,
) -> Functional:
    """A ConvNeXt of four stages with `depths[i]` blocks of width `projection_dims[i]`.

    `drop_path_rate` is the stochastic depth rate of the last block; the rates grow
    linearly from 0 over the blocks. `layer_scale_init_value=None` leaves out LayerScale.
    """
    app_builder.check_arguments(name, weights, include_top, classes, pooling)
    _check_imagenet(weights, weights_name, depths, projection_dims, name)
    x, inputs = app_builder.image_input(
        input_shape, input_tensor, default_size, 32, include_top, weights
    )
    files = _files(weights_name) if weights_name else None
    if weights == "imagenet":  # a missing file fails before the (up to 350M) weights are made
        app_builder.find_imagenet_file(name, include_top, files)
    if include_preprocessing and x.shape[-1] == 3:
        x = layers.Normalization(
            mean=_IMAGENET_MEAN,
            variance=_IMAGENET_VARIANCE,
            name=f"{name}_prestem_normalization",
        )(x)
    rates = [float(r) for r in np.linspace(0.0, drop_path_rate, sum(depths))]
    first = 0
    for stage, step in enumerate(_downsampling(projection_dims, name)):
        x = step(x)
        for j in range(depths[stage]):
            x = _block(
                x,
                projection_dims[stage],
                rates[first + j],
                layer_scale_init_value,
                f"{name}_stage_{stage}_block_{j}",
            )
        first += depths[stage]
    if include_top:
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.GlobalAveragePooling2D(name=f"{name}_head_gap")(x)
        x = layers.LayerNormalization(epsilon=_EPSILON, name=f"{name}_head_layernorm")(x)
        x = layers.Dense(classes, activation=classifier_activation, name=f"{name}_head_dense")(x)
    else:
        x = app_builder.pooled(x, pooling)
        x = layers.LayerNormalization(epsilon=_EPSILON)(x)
    return app_builder.finish(inputs, x, name, weights, include_top, files)


def _variant(
    variant: str,
    include_top: bool,
    include_preprocessing: bool,
    weights: Any,
    input_tensor: Any,
    input_shape: Any,
    pooling: str | None,
    classes: int,
    classifier_activation: Any,
    name: str,
) -> Functional:
    depths, dims = MODEL_CONFIGS[variant]
    return ConvNeXt(
        depths,
        dims,
        drop_path_rate=0.0,
        layer_scale_init_value=1e-6,
        default_size=224,
        name=name,
        include_preprocessing=include_preprocessing,
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        weights_name=f"convnext_{variant}",
    )


def ConvNeXtTiny(
    include_top: bool = True,
    include_preprocessing: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "convnext_tiny",
) -> Functional:
    """ConvNeXt-T: depths (3, 3, 9, 3), widths 96-768 (28.6M parameters with the top)."""
    return _variant(
        "tiny", include_top, include_preprocessing, weights, input_tensor, input_shape,
        pooling, classes, classifier_activation, name,
    )  # fmt: skip


def ConvNeXtSmall(
    include_top: bool = True,
    include_preprocessing: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "convnext_small",
) -> Functional:
    """ConvNeXt-S: depths (3, 3, 27, 3), widths 96-768 (50.2M parameters with the top)."""
    return _variant(
        "small", include_top, include_preprocessing, weights, input_tensor, input_shape,
        pooling, classes, classifier_activation, name,
    )  # fmt: skip


def ConvNeXtBase(
    include_top: bool = True,
    include_preprocessing: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "convnext_base",
) -> Functional:
    """ConvNeXt-B: depths (3, 3, 27, 3), widths 128-1024 (88.6M parameters with the top)."""
    return _variant(
        "base", include_top, include_preprocessing, weights, input_tensor, input_shape,
        pooling, classes, classifier_activation, name,
    )  # fmt: skip


def ConvNeXtLarge(
    include_top: bool = True,
    include_preprocessing: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "convnext_large",
) -> Functional:
    """ConvNeXt-L: depths (3, 3, 27, 3), widths 192-1536 (198M parameters with the top)."""
    return _variant(
        "large", include_top, include_preprocessing, weights, input_tensor, input_shape,
        pooling, classes, classifier_activation, name,
    )  # fmt: skip


def ConvNeXtXLarge(
    include_top: bool = True,
    include_preprocessing: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "convnext_xlarge",
) -> Functional:
    """ConvNeXt-XL: depths (3, 3, 27, 3), widths 256-2048 (350M parameters with the top)."""
    return _variant(
        "xlarge", include_top, include_preprocessing, weights, input_tensor, input_shape,
        pooling, classes, classifier_activation, name,
    )  # fmt: skip


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """The identity: ConvNeXt normalizes inside the model (kept for Keras's API)."""
    return x


decode_predictions = imagenet_utils.decode_predictions
