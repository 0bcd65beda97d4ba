"""LeNet-5 (LeCun, Bottou, Bengio & Haffner, 1998), as courses commonly reimplement it.

The variant built here, layer by layer (names are the paper's):

    input  32x32x1 (pad 28x28 MNIST digits by 2 on each side, as the paper did)
    c1     Conv2D 6@5x5, tanh           -> 28x28x6     156 parameters (6 * (5*5*1 + 1))
    s2     2x2 average pooling, stride 2 -> 14x14x6
    c3     Conv2D 16@5x5, tanh          -> 10x10x16  2,416 parameters (16 * (5*5*6 + 1))
    s4     2x2 average pooling, stride 2 -> 5x5x16
    c5     Conv2D 120@5x5, tanh         -> 1x1x120  48,120 parameters (120 * (5*5*16 + 1))
    flatten, f6 Dense 84, tanh                      10,164 parameters (84 * (120 + 1))
    predictions Dense 10, softmax                      850 parameters (10 * (84 + 1))
                                                    61,706 parameters in all

It departs from the paper where reimplementations usually do: plain tanh instead of
1.7159 * tanh(2x/3); parameter-free average pooling instead of subsampling units with a
trained coefficient and bias; every C3 map connected to all six S2 maps (the paper's
connection table gives C3 1,516 parameters); a softmax classifier instead of RBF units.
`activation` and `subsampling` select the common ReLU and max-pooling variant.
There are no pretrained weights: `weights` is None or the path of a weights file.
"""

from __future__ import annotations

from typing import Any

from lamina import layers
from lamina.applications import app_builder
from lamina.config import image_data_format
from lamina.models import Functional

_POOLS = {"average": layers.AveragePooling2D, "max": layers.MaxPooling2D}


def reject_imagenet(name: str, weights: Any) -> None:
    """Networks published without trained weights take weights=None or a file path only."""
    if isinstance(weights, str) and weights == "imagenet":
        raise ValueError(
            f"{name}: expected weights None or the path of a weights file (Lamina and Keras "
            f"publish no pretrained {name} weights), received: weights='imagenet'"
        )


def grayscale_shape(input_shape: Any, default_size: int, include_top: bool) -> Any:
    """The input shape when none is given: one channel (Keras's helper assumes three)."""
    if input_shape is not None:
        return input_shape
    size = default_size if include_top else None
    return (1, size, size) if image_data_format() == "channels_first" else (size, size, 1)


@app_builder.loads_all_weights
def LeNet5(
    include_top: bool = True,
    weights: Any = None,
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 10,
    classifier_activation: Any = "softmax",
    name: str = "lenet5",
    activation: Any = "tanh",
    subsampling: str = "average",
) -> Functional:
    """LeNet-5 (see the module doc): 61,706 parameters with the default top.

    `include_top=False` ends at C5 (a 1x1x120 map for a 32x32 input), followed by
    `pooling` (None, 'avg' or 'max'). `subsampling` is 'average' or 'max'.
    """
    reject_imagenet(name, weights)
    app_builder.check_arguments(name, weights, include_top, classes, pooling)
    if subsampling not in _POOLS:
        raise ValueError(
            f"{name}: expected subsampling 'average' or 'max', received: subsampling={subsampling!r}"
        )
    shape = grayscale_shape(input_shape, 32, include_top)
    x, inputs = app_builder.image_input(shape, input_tensor, 32, 32, include_top, weights)
    pool = _POOLS[subsampling]
    x = layers.Conv2D(6, 5, activation=activation, name="c1")(x)
    x = pool(2, strides=2, name="s2")(x)
    x = layers.Conv2D(16, 5, activation=activation, name="c3")(x)
    x = pool(2, strides=2, name="s4")(x)
    x = layers.Conv2D(120, 5, activation=activation, name="c5")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(84, activation=activation, name="f6")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = app_builder.pooled(x, pooling)
    return app_builder.finish(inputs, x, name, weights, include_top, None)
