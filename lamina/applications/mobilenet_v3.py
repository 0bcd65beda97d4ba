"""MobileNetV3 Small and Large (Howard et al., 2019), built layer for layer as Keras builds them.

Inverted residual blocks as in MobileNetV2, some with squeeze-and-excitation, and
hard-swish activations in the later blocks ('minimalistic': 3x3 kernels, ReLU, no
squeeze-and-excitation). The network rescales its own [0, 255] input
(`include_preprocessing`), so `preprocess_input` is the identity, as in Keras.

Keras computes the squeeze-and-excitation gate, hard sigmoid, as `ReLU(6.)(x + 3.) *
(1. / 6.)`: two graph operations around a ReLU layer. Lamina's graph holds layers only,
so the two operations are Rescaling layers named as Keras names the operations ('add',
'multiply', 'add_1', ...): weightless, they change neither weights files nor results.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from lamina import layers
from lamina.applications import app_builder, imagenet_utils
from lamina.applications.app_builder import ImagenetFiles
from lamina.applications.mobilenet import model_input
from lamina.applications.mobilenet_v2 import bn, given_size
from lamina.applications.mobilenet_v2 import make_divisible as _depth
from lamina.config import image_data_format
from lamina.models import Functional
from lamina.naming import unique_name

# One block: (expansion, filters, kernel (0: the variant's), stride, squeeze-excite, activation)
# where activation 'relu' is ReLU and 'act' is the variant's (hard-swish, or ReLU if minimalistic).
_SMALL = (
    (1, 16, 3, 2, True, "relu"),
    (72 / 16, 24, 3, 2, False, "relu"),
    (88 / 24, 24, 3, 1, False, "relu"),
    (4, 40, 0, 2, True, "act"),
    (6, 40, 0, 1, True, "act"),
    (6, 40, 0, 1, True, "act"),
    (3, 48, 0, 1, True, "act"),
    (3, 48, 0, 1, True, "act"),
    (6, 96, 0, 2, True, "act"),
    (6, 96, 0, 1, True, "act"),
    (6, 96, 0, 1, True, "act"),
)
_LARGE = (
    (1, 16, 3, 1, False, "relu"),
    (4, 24, 3, 2, False, "relu"),
    (3, 24, 3, 1, False, "relu"),
    (3, 40, 0, 2, True, "relu"),
    (3, 40, 0, 1, True, "relu"),
    (3, 40, 0, 1, True, "relu"),
    (6, 80, 3, 2, False, "act"),
    (2.5, 80, 3, 1, False, "act"),
    (2.3, 80, 3, 1, False, "act"),
    (2.3, 80, 3, 1, False, "act"),
    (6, 112, 3, 1, True, "act"),
    (6, 112, 3, 1, True, "act"),
    (6, 160, 0, 2, True, "act"),
    (6, 160, 0, 1, True, "act"),
    (6, 160, 0, 1, True, "act"),
)


def relu(x: Any) -> Any:
    return layers.ReLU()(x)


def hard_swish(x: Any) -> Any:
    return layers.Activation("hard_swish")(x)


def hard_sigmoid(x: Any) -> Any:
    """ReLU6(x + 3) / 6, computed in Keras's order (see the module docstring for the names)."""
    x = layers.Rescaling(1.0, offset=3.0, name=unique_name("add"))(x)
    x = layers.ReLU(6.0)(x)
    return layers.Rescaling(1.0 / 6.0, name=unique_name("multiply"))(x)


def _squeeze_excite(inputs: Any, filters: int, se_ratio: float, prefix: str) -> Any:
    """Scale each channel by a gate computed from the channels' means."""
    prefix = f"{prefix}squeeze_excite_"
    x = layers.GlobalAveragePooling2D(keepdims=True, name=f"{prefix}avg_pool")(inputs)
    x = layers.Conv2D(_depth(filters * se_ratio), 1, padding="same", name=f"{prefix}conv")(x)
    x = layers.ReLU(name=f"{prefix}relu")(x)
    x = layers.Conv2D(filters, 1, padding="same", name=f"{prefix}conv_1")(x)
    return layers.Multiply(name=f"{prefix}mul")([inputs, hard_sigmoid(x)])


def _inverted_res_block(
    x: Any,
    expansion: float,
    filters: int,
    kernel_size: int,
    stride: int,
    se_ratio: float | None,
    activation: Callable[[Any], Any],
    block_id: int,
) -> Any:
    """Expand (1x1), depthwise, optional squeeze-excite, project (1x1), plus the input."""
    shortcut = x
    in_channels = x.shape[-1]
    expanded = _depth(in_channels * expansion)
    prefix = f"expanded_conv_{block_id}_" if block_id else "expanded_conv_"
    if block_id:
        x = layers.Conv2D(expanded, 1, padding="same", use_bias=False, name=f"{prefix}expand")(x)
        x = activation(bn(x, f"{prefix}expand_bn"))
    if stride == 2:
        pad = imagenet_utils.correct_pad(x, kernel_size)
        x = layers.ZeroPadding2D(pad, name=f"{prefix}depthwise_pad")(x)
    x = layers.DepthwiseConv2D(
        kernel_size,
        strides=stride,
        padding="same" if stride == 1 else "valid",
        use_bias=False,
        name=f"{prefix}depthwise",
    )(x)
    x = activation(bn(x, f"{prefix}depthwise_bn"))
    if se_ratio:
        x = _squeeze_excite(x, expanded, se_ratio, prefix)
    x = layers.Conv2D(filters, 1, padding="same", use_bias=False, name=f"{prefix}project")(x)
    x = bn(x, f"{prefix}project_bn")
    if stride == 1 and in_channels == filters:
        x = layers.Add(name=f"{prefix}add")([shortcut, x])
    return x


def _input(input_shape: Any, input_tensor: Any, label: str) -> tuple[Any, Any, tuple[Any, Any]]:
    """(the network's start, the model's inputs, (rows, cols)); any size from 32x32 up."""
    size = given_size(input_shape, input_tensor)
    rows, cols = size if size is not None else (None, None)
    if rows and cols and (rows < 32 or cols < 32):
        raise ValueError(
            f"{label}: expected an input of at least 32x32, received: input_shape={input_shape}"
        )
    if input_shape is None:
        first = image_data_format() == "channels_first"
        input_shape = (3, None, None) if first else (None, None, 3)
    return (*model_input(input_shape, input_tensor), (rows, cols))


def imagenet_files(model_type: str, alpha: float, minimalistic: bool) -> ImagenetFiles:
    """Keras's MobileNetV3 files (trained at 224x224; other sizes load them too)."""
    stem = f"weights_mobilenet_v3_{model_type}{'_minimalistic' if minimalistic else ''}_224_{alpha}_float"
    return ImagenetFiles("mobilenet_v3", f"{stem}.h5", f"{stem}_no_top_v2.h5")


@app_builder.loads_all_weights
def mobilenet_v3(
    blocks: tuple[tuple[Any, ...], ...],
    last_point_ch: int,
    model_type: str,
    label: str,
    input_shape: Any,
    alpha: float,
    minimalistic: bool,
    include_top: bool,
    weights: Any,
    input_tensor: Any,
    classes: int,
    pooling: str | None,
    dropout_rate: float,
    classifier_activation: Any,
    include_preprocessing: bool,
    name: str | None,
) -> Functional:
    """A MobileNetV3 network from its table of blocks (`_SMALL` or `_LARGE`)."""
    app_builder.check_arguments(label, weights, include_top, classes, pooling)
    x, inputs, (rows, cols) = _input(input_shape, input_tensor, label)
    if weights == "imagenet":
        if (alpha not in (0.75, 1.0)) if not minimalistic else alpha != 1.0:
            raise ValueError(
                f"{label}: expected alpha 0.75 or 1.0 (1.0 if minimalistic) with "
                f"weights='imagenet', received: alpha={alpha}, minimalistic={minimalistic}"
            )
        if rows != cols or rows != 224:
            warnings.warn(
                "`input_shape` is undefined or non-square, or `rows` is not 224. Weights for "
                "input shape (224, 224) will be loaded as the default.",
                stacklevel=3,
            )
    kernel, act, se_ratio = (3, relu, None) if minimalistic else (5, hard_swish, 0.25)

    if include_preprocessing:
        x = layers.Rescaling(scale=1.0 / 127.5, offset=-1.0)(x)
    x = layers.Conv2D(16, 3, strides=(2, 2), padding="same", use_bias=False, name="conv")(x)
    x = act(bn(x, "conv_bn"))
    for block_id, (expansion, filters, k, stride, se, kind) in enumerate(blocks):
        x = _inverted_res_block(
            x,
            expansion,
            _depth(filters * alpha),
            k or kernel,
            stride,
            se_ratio if se else None,
            relu if kind == "relu" else act,
            block_id,
        )
    last_conv_ch = _depth(x.shape[-1] * 6)
    if alpha > 1.0:  # the last layers widen with alpha > 1 only
        last_point_ch = _depth(last_point_ch * alpha)
    x = layers.Conv2D(last_conv_ch, 1, padding="same", use_bias=False, name="conv_1")(x)
    x = act(bn(x, "conv_1_bn"))

    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = act(layers.Conv2D(last_point_ch, 1, padding="same", name="conv_2")(x))
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate)(x)
        x = layers.Conv2D(classes, 1, padding="same", name="logits")(x)
        x = layers.Flatten()(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Activation(classifier_activation, name="predictions")(x)
    else:
        x = app_builder.pooled(x, pooling, named=True)
    model = Functional(inputs, x, name=name)
    files = imagenet_files(model_type, alpha, minimalistic) if weights == "imagenet" else None
    return app_builder.load(model, label, weights, include_top, files)


def MobileNetV3Small(
    input_shape: Any = None,
    alpha: float = 1.0,
    minimalistic: bool = False,
    include_top: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    classes: int = 1000,
    pooling: str | None = None,
    dropout_rate: float = 0.2,
    classifier_activation: Any = "softmax",
    include_preprocessing: bool = True,
    name: str = "MobileNetV3Small",
) -> Functional:
    """MobileNetV3Small: 11 blocks (2.6M parameters with the top at alpha=1)."""
    return mobilenet_v3(
        _SMALL,
        1024,
        "small",
        "MobileNetV3Small",
        input_shape,
        alpha,
        minimalistic,
        include_top,
        weights,
        input_tensor,
        classes,
        pooling,
        dropout_rate,
        classifier_activation,
        include_preprocessing,
        name,
    )


def MobileNetV3Large(
    input_shape: Any = None,
    alpha: float = 1.0,
    minimalistic: bool = False,
    include_top: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    classes: int = 1000,
    pooling: str | None = None,
    dropout_rate: float = 0.2,
    classifier_activation: Any = "softmax",
    include_preprocessing: bool = True,
    name: str = "MobileNetV3Large",
) -> Functional:
    """MobileNetV3Large: 15 blocks (5.5M parameters with the top at alpha=1)."""
    return mobilenet_v3(
        _LARGE,
        1280,
        "large",
        "MobileNetV3Large",
        input_shape,
        alpha,
        minimalistic,
        include_top,
        weights,
        input_tensor,
        classes,
        pooling,
        dropout_rate,
        classifier_activation,
        include_preprocessing,
        name,
    )


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """The identity: MobileNetV3 rescales its input itself (`include_preprocessing`)."""
    return x


def decode_predictions(preds: Any, top: int = 5) -> list[list[tuple[str, str, float]]]:
    """The `top` ImageNet classes of each prediction, as (WordNet id, name, score)."""
    return imagenet_utils.decode_predictions(preds, top=top)
