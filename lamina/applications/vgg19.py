"""VGG19: VGG16 with four convolutions in each of the last three blocks (Keras's layer names)."""

from __future__ import annotations

from typing import Any

from lamina.applications import imagenet_utils
from lamina.applications.app_builder import ImagenetFiles
from lamina.applications.vgg16 import vgg_network
from lamina.models import Functional

FILES = ImagenetFiles(
    "vgg19",
    "vgg19_weights_tf_dim_ordering_tf_kernels.h5",
    "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
)


def VGG19(
    include_top: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "vgg19",
) -> Functional:
    """VGG19: 16 convolutions and 3 dense layers (144M parameters with the top)."""
    return vgg_network(
        (2, 2, 4, 4, 4),
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
