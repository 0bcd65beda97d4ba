"""Reading a model from the outside: which layer is meant, and what it computed on one input.

The kernel, feature-map and attribution plots share this. A forward hook records a layer's
output during an ordinary inference call (`training=False`, autograd on), so the same code
serves Sequential, functional and subclassed models and layers inside nested models. With
autograd on, inference never folds Conv+BatchNormalization chains (models/conv_bn_folding.py),
so every layer runs and every hook fires. Nothing of the model changes: its torch
`training` flag, weights and BatchNormalization statistics stay as they were; hooks and the
logits switch are removed before returning.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from lamina.layers.base import Layer
from lamina.models.compile_utils import final_activation, output_layers


def resolve_layer(model: Any, layer: Any) -> Layer:
    """The layer `layer` names: a name (searched in nested models too), an index into
    `model.layers`, or a Layer of the model."""
    if isinstance(layer, Layer):
        if any(m is layer for m in model.modules()):
            return layer
        raise ValueError(
            f"Expected a layer of model '{model.name}', received: layer={layer.name!r} "
            "(not one of its layers)"
        )
    if isinstance(layer, (int, np.integer)) and not isinstance(layer, bool):
        layers = model.layers
        if not -len(layers) <= int(layer) < len(layers):
            raise ValueError(
                f"Expected a layer index below {len(layers)} for model '{model.name}', "
                f"received: layer={int(layer)}"
            )
        return layers[int(layer)]
    if isinstance(layer, str):
        for module in _layers_in_order(model):
            if module.name == layer:
                return module
        names = ", ".join(la.name for la in model.layers)
        raise ValueError(
            f"Expected the name of a layer of model '{model.name}' ({names}), "
            f"received: layer={layer!r}"
        )
    raise TypeError(
        f"Expected a layer name, index or Layer, received: layer={layer!r} "
        f"(type {type(layer).__name__})"
    )


def _layers_in_order(model: Any) -> Iterator[Layer]:
    """The model's own layers first, then those of nested models."""
    yield from model.layers
    for module in model.modules():
        if isinstance(module, Layer) and module is not model:
            yield module


def model_device(model: Any) -> torch.device:
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def one_input(model: Any, image: Any) -> torch.Tensor:
    """`image` as a float32 batch of one on the model's device.

    The batch axis is added when `image` has one axis fewer than the model's input
    (NHWC images: (H, W, C) -> (1, H, W, C)); a given batch axis must hold one sample.
    """
    if isinstance(image, torch.Tensor):
        x = image.detach().to("cpu", torch.float32)
    else:
        x = torch.as_tensor(np.asarray(image, dtype=np.float32))
    rank = _input_rank(model)
    if rank is None:
        rank = 4 if x.dim() in (3, 4) else x.dim() + (x.dim() < 2)
    if x.dim() == rank - 1:
        x = x.unsqueeze(0)
    if x.dim() != rank or x.shape[0] != 1:
        raise ValueError(
            f"Expected one input of {rank - 1} axes (or a batch of one), for model "
            f"'{model.name}', received: shape={tuple(x.shape)}"
        )
    return x.to(model_device(model))


def _input_rank(model: Any) -> int | None:
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        return None
    if isinstance(inputs, list) and len(inputs) == 1:
        return len(inputs[0].shape)
    if isinstance(inputs, list) and len(inputs) > 1:
        raise ValueError(
            f"Expected a model with one input, received: model '{model.name}' with "
            f"{len(inputs)} inputs"
        )
    return None


@contextlib.contextmanager
def recording(layers: list[Layer]) -> Iterator[list[tuple[Layer, Any, Any]]]:
    """Record (layer, inputs, output) of every call of `layers`, in call order."""
    calls: list[tuple[Layer, Any, Any]] = []

    def hook(module: Any, args: Any, output: Any) -> None:
        calls.append((module, args, output))

    handles = [layer.register_forward_hook(hook) for layer in layers]
    try:
        yield calls
    finally:
        for handle in handles:
            handle.remove()


def head_activation(model: Any) -> str | None:
    """'softmax' or 'sigmoid' when the model's one output layer ends in it, else None."""
    heads = output_layers(model)
    return final_activation(heads[0]) if len(heads) == 1 else None


@contextlib.contextmanager
def logits(model: Any, wanted: bool) -> Iterator[str]:
    """Ask the output layer for its logits (the input of its softmax or sigmoid), as the
    training engine does for fused losses. Yields what the model's output then is:
    'logit' or 'output'."""
    name = head_activation(model) if wanted else None
    if name is None:
        yield "output"
        return
    layer = output_layers(model)[0]
    before = layer._emit_logits
    layer._emit_logits = True
    try:
        yield "logit"
    finally:
        layer._emit_logits = before


def forward(model: Any, x: torch.Tensor) -> torch.Tensor:
    """The model's one output on `x`, in inference mode, with autograd on."""
    with torch.enable_grad():
        out = model(x, training=False)
    if not isinstance(out, torch.Tensor):
        raise ValueError(
            f"Expected a model with one output tensor, received: model '{model.name}' "
            f"returned {type(out).__name__}"
        )
    return out


def display_image(image: np.ndarray) -> tuple[np.ndarray, str | None]:
    """An (H, W, C) array ready for imshow and its colormap: one channel -> grayscale,
    three -> RGB scaled into [0, 1] when outside it, others -> the mean over channels."""
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 2:
        image = image[..., None]
    if image.shape[-1] == 3:
        low, high = image.min(), image.max()
        if low < 0 or high > 1:
            image = (image - low) / (high - low) if high > low else np.zeros_like(image)
        return image, None
    return image.mean(axis=-1), "gray"
