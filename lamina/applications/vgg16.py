"""VGG16 (Simonyan & Zisserman, 2014), built layer for layer as Keras builds it.

Five blocks of 3x3 convolutions, each ending in 2x2 max pooling, then two 4096-unit
dense layers. `vgg_network` also serves VGG19, which differs only in block depths.
"""

from __future__ import annotations

from typing import Any

from lamina import layers
from lamina.applications import app_builder, imagenet_utils
from lamina.applications.app_builder import ImagenetFiles
from lamina.models import Functional

FILES = ImagenetFiles(
    "vgg16",
    "vgg16_weights_tf_dim_ordering_tf_kernels.h5",
    "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
)
_WIDTHS = (64, 128, 256, 512, 512)


@app_builder.loads_all_weights
def vgg_network(
    depths: tuple[int, ...],
    files: ImagenetFiles,
    include_top: bool,
    weights: Any,
    input_tensor: Any,
    input_shape: Any,
    pooling: str | None,
    classes: int,
    classifier_activation: Any,
    name: str,
) -> Functional:
    """A VGG network with `depths[i]` convolutions in block i+1."""
    app_builder.check_arguments(name, weights, include_top, classes, pooling)
    x, inputs = app_builder.image_input(input_shape, input_tensor, 224, 32, include_top, weights)
    for block, (depth, width) in enumerate(zip(depths, _WIDTHS), start=1):
        for i in range(1, depth + 1):
            x = layers.Conv2D(
                width, (3, 3), activation="relu", padding="same", name=f"block{block}_conv{i}"
            )(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{block}_pool")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = app_builder.pooled(x, pooling)
    return app_builder.finish(inputs, x, name, weights, include_top, files)


def VGG16(
    include_top: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "vgg16",
) -> Functional:
    """VGG16: 13 convolutions and 3 dense layers (138M parameters with the top)."""
    return vgg_network(
        (2, 2, 3, 3, 3),
        FILES,
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
    """VGG's ImageNet scaling: 'caffe' (BGR, ImageNet mean subtracted)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


decode_predictions = imagenet_utils.decode_predictions
