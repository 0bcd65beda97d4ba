"""An independent forward pass: a functional model's graph evaluated layer by layer in NumPy.

Each layer is computed from its config and its weights in Keras's layout, in float64,
with TensorFlow's definitions: 'same' pads (k - 1) or, with strides, what makes
ceil(n / s) outputs, the odd pixel at the end; average pooling divides by the pixels
inside the image only. Used where Keras itself is not a trustworthy oracle (Keras 3
refuses NASNetMobile on its torch backend, see test_nasnet.py).

Handles the layers NASNet and the other convolutional applications use: Conv2D (no
groups), SeparableConv2D, DepthwiseConv2D, BatchNormalization, Activation, ReLU,
ZeroPadding2D, Cropping2D, Average/MaxPooling2D, Global pooling, Add, Concatenate, Dense.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _pad(x: np.ndarray, config: dict, kernel: tuple[int, int], value: float) -> np.ndarray:
    """`x` (NHWC) padded as the layer's `padding` says ('valid': unchanged)."""
    if config["padding"] == "valid":
        return x
    strides = config["strides"]
    pads = [_same_padding(x.shape[1 + i], kernel[i], strides[i]) for i in (0, 1)]
    return np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=value)


def _windows(x: np.ndarray, kernel: tuple[int, int], strides: tuple[int, int]) -> np.ndarray:
    """(N, H', W', C, kh, kw): every window of a padded NHWC input at the given strides."""
    view = sliding_window_view(x, kernel, axis=(1, 2))
    return view[:, :: strides[0], :: strides[1]]


def _depthwise(x: np.ndarray, kernel: np.ndarray, config: dict) -> np.ndarray:
    kh, kw, channels, multiplier = kernel.shape
    win = _windows(_pad(x, config, (kh, kw), 0.0), (kh, kw), tuple(config["strides"]))
    out = np.einsum("nhwcij,ijcm->nhwcm", win, kernel)
    return out.reshape(*out.shape[:3], channels * multiplier)


def _conv(x: np.ndarray, kernel: np.ndarray, config: dict) -> np.ndarray:
    kh, kw = kernel.shape[:2]
    win = _windows(_pad(x, config, (kh, kw), 0.0), (kh, kw), tuple(config["strides"]))
    return np.einsum("nhwcij,ijcf->nhwf", win, kernel)


def _pool(x: np.ndarray, config: dict, kind: str) -> np.ndarray:
    size = tuple(config["pool_size"])
    strides = tuple(config["strides"])
    if kind == "max":
        return _windows(_pad(x, config, size, -np.inf), size, strides).max(axis=(4, 5))
    total = _windows(_pad(x, config, size, 0.0), size, strides).sum(axis=(4, 5))
    ones = np.ones((1, *x.shape[1:3], 1))
    count = _windows(_pad(ones, config, size, 0.0), size, strides).sum(axis=(4, 5))
    return total / count


def _activation(x: np.ndarray, name: str) -> np.ndarray:
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "softmax":
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    if name == "linear":
        return x
    raise NotImplementedError(f"activation {name!r}")


def _activation_name(config: dict) -> str:
    activation = config.get("activation", "linear")
    return activation if isinstance(activation, str) else activation["config"]["name"]


def layer_forward(layer: Any, inputs: list[np.ndarray]) -> np.ndarray:
    """One layer's output from its inputs (NumPy, float64), by its class name and config."""
    kind = type(layer).__name__
    config = layer.get_config()
    w = [np.asarray(a, dtype=np.float64) for a in layer.get_weights()]
    x = inputs[0]
    if kind == "Add":
        return sum(inputs[1:], inputs[0])
    if kind == "Concatenate":
        return np.concatenate(inputs, axis=config["axis"])
    if kind == "ZeroPadding2D":
        (top, bottom), (left, right) = config["padding"]
        return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    if kind == "Cropping2D":
        (top, bottom), (left, right) = config["cropping"]
        return x[:, top : x.shape[1] - bottom, left : x.shape[2] - right]
    if kind in ("AveragePooling2D", "MaxPooling2D"):
        return _pool(x, config, "avg" if kind.startswith("Average") else "max")
    if kind == "GlobalAveragePooling2D":
        return x.mean(axis=(1, 2))
    if kind == "GlobalMaxPooling2D":
        return x.max(axis=(1, 2))
    if kind == "BatchNormalization":
        gamma, beta, mean, variance = w
        return (x - mean) / np.sqrt(variance + config["epsilon"]) * gamma + beta
    if kind == "ReLU":
        return np.maximum(x, 0.0)
    if kind == "Conv2D":
        out = _conv(x, w[0], config)
    elif kind == "DepthwiseConv2D":
        out = _depthwise(x, w[0], config)
    elif kind == "SeparableConv2D":
        out = _conv(_depthwise(x, w[0], config), w[1], {"padding": "valid", "strides": (1, 1)})
        w = w[1:]
    elif kind == "Dense":
        out = x @ w[0]
    elif kind == "Activation":
        out = x
    else:
        raise NotImplementedError(f"no NumPy reference for {kind}")
    if config.get("use_bias", False):
        out = out + w[-1]
    return _activation(out, _activation_name(config))


def lamina_forward(model: Any, x: np.ndarray) -> np.ndarray:
    """A Lamina functional model's output, each layer computed by `layer_forward`."""
    from lamina.tree import flatten

    values = {id(model.inputs[0]): np.asarray(x, dtype=np.float64)}
    for node in model._nodes:
        inputs = [values[id(t)] for t in flatten(node.inputs)]
        values[id(flatten(node.outputs)[0])] = layer_forward(node.layer, inputs)
    return values[id(model.outputs[0])]


def keras_forward(model: Any, x: np.ndarray) -> np.ndarray:
    """A Keras functional model's output, each layer computed by `layer_forward`."""

    def reference(layer: Any) -> Any:
        return lambda inputs, **kwargs: layer_forward(
            layer, list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        )

    out = model._run_through_graph(np.asarray(x, dtype=np.float64), operation_fn=reference)
    return out[0] if isinstance(out, (list, tuple)) else out
