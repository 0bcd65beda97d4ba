"""AlexNet (Krizhevsky, Sutskever & Hinton, 2012), the single-tower variant.

The paper split most layers over two GPUs; this is the usual one-tower version (every
convolution sees all channels of the layer below), layer by layer:

    input   227x227x3 (the paper's "224" makes the sizes below work only as 227)
    conv1   Conv2D 96@11x11, stride 4, ReLU   -> 55x55x96       34,944 (96 * (11*11*3 + 1))
    norm1   local response normalization (n=5, k=2, alpha=1e-4, beta=0.75)
    pool1   3x3 max pooling, stride 2 (overlapping) -> 27x27x96
    conv2   Conv2D 256@5x5, 'same', ReLU       -> 27x27x256     614,656 (256 * (5*5*96 + 1))
    norm2, pool2                                 -> 13x13x256
    conv3   Conv2D 384@3x3, 'same', ReLU       -> 13x13x384     885,120 (384 * (3*3*256 + 1))
    conv4   Conv2D 384@3x3, 'same', ReLU       -> 13x13x384   1,327,488 (384 * (3*3*384 + 1))
    conv5   Conv2D 256@3x3, 'same', ReLU       -> 13x13x256     884,992 (256 * (3*3*384 + 1))
    pool5   3x3 max pooling, stride 2          -> 6x6x256
    flatten, fc6 Dense 4096 ReLU, drop6 Dropout(0.5)         37,752,832 (4096 * (9216 + 1))
    fc7 Dense 4096 ReLU, drop7 Dropout(0.5)                  16,781,312 (4096 * (4096 + 1))
    predictions Dense 1000, softmax                           4,097,000 (1000 * (4096 + 1))
                                                             62,378,344 parameters in all

Local response normalization divides each activation by (k + alpha * sum of the
squares of the n channels centred on it)^beta, as the paper defines it; it has no
weights, and `local_response_normalization=False` leaves it out (as most later
reimplementations do). There are no pretrained weights: `weights` is None or the path of
a weights file.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina import layers, registry
from lamina.applications import app_builder
from lamina.applications.lenet import reject_imagenet
from lamina.config import image_data_format
from lamina.layers.base import Layer
from lamina.models import Functional


@registry.register("layer", "LocalResponseNormalization")
class LocalResponseNormalization(Layer):
    """x / (k + alpha * sum of x^2 over `size` neighbouring channels)^beta (AlexNet's LRN).

    The window is centred on each channel and cut at the ends; `axis` is the channel axis.
    Note `torch.nn.LocalResponseNorm` divides its alpha by `size`: this layer's
    alpha=1e-4 equals torch's alpha=5e-4 for size 5.
    """

    def __init__(
        self,
        size: int = 5,
        alpha: float = 1e-4,
        beta: float = 0.75,
        k: float = 2.0,
        axis: int = -1,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(
                f"Layer '{self.name}' (LocalResponseNormalization) expected a positive int "
                f"for size, received: size={size!r}"
            )
        self.size = size
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.k = float(k)
        self.axis = axis

    def call(self, x: torch.Tensor) -> torch.Tensor:
        channels_first = x.movedim(self.axis, 1)
        # torch's form: x / (k + alpha / size * sum)^beta
        out = F.local_response_norm(
            channels_first, self.size, self.alpha * self.size, self.beta, self.k
        )
        return out.movedim(1, self.axis)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "size": self.size,
            "alpha": self.alpha,
            "beta": self.beta,
            "k": self.k,
            "axis": self.axis,
        }


def _conv(x: Any, filters: int, kernel_size: int, name: str, **kwargs: Any) -> Any:
    return layers.Conv2D(filters, kernel_size, activation="relu", name=name, **kwargs)(x)


@app_builder.loads_all_weights
def AlexNet(
    include_top: bool = True,
    weights: Any = None,
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "alexnet",
    local_response_normalization: bool = True,
) -> Functional:
    """AlexNet, single tower (see the module doc): 62,378,344 parameters with the top.

    The smallest input is 67x67 (pool5 then gives 1x1). `include_top=False` ends at
    pool5, followed by `pooling` (None, 'avg' or 'max').
    """
    reject_imagenet(name, weights)
    app_builder.check_arguments(name, weights, include_top, classes, pooling)
    x, inputs = app_builder.image_input(input_shape, input_tensor, 227, 67, include_top, weights)
    axis = -1 if image_data_format() == "channels_last" else 1

    def norm_and_pool(x: Any, index: int) -> Any:
        if local_response_normalization:
            x = LocalResponseNormalization(axis=axis, name=f"norm{index}")(x)
        return layers.MaxPooling2D(3, strides=2, name=f"pool{index}")(x)

    x = norm_and_pool(_conv(x, 96, 11, "conv1", strides=4), 1)
    x = norm_and_pool(_conv(x, 256, 5, "conv2", padding="same"), 2)
    x = _conv(x, 384, 3, "conv3", padding="same")
    x = _conv(x, 384, 3, "conv4", padding="same")
    x = _conv(x, 256, 3, "conv5", padding="same")
    x = layers.MaxPooling2D(3, strides=2, name="pool5")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc6")(x)
        x = layers.Dropout(0.5, name="drop6")(x)
        x = layers.Dense(4096, activation="relu", name="fc7")(x)
        x = layers.Dropout(0.5, name="drop7")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = app_builder.pooled(x, pooling)
    return app_builder.finish(inputs, x, name, weights, include_top, None)
