"""`keras.backend` for course code and older Keras code: `from lamina import backend as K`.

    if K.image_data_format() == "channels_last":
        x_train = x_train.reshape(-1, 28, 28, 1)

Settings come from `lamina.config`; `int_shape`, `count_params`, `get_value` and
`set_value` work on torch tensors, NumPy arrays and symbolic inputs. A weight is the
torch tensor itself, as the layer stores it (a Dense kernel is Keras's (in, out), a
Conv2D kernel PyTorch's (out, in, h, w)); `layer.get_weights()` gives Keras's layouts.
Keras 2's tensor functions (`K.mean`, `K.dot`, ...) are not repeated here: asking for
one raises an AttributeError naming the torch function to call instead.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import torch

from lamina.config import epsilon, floatx, image_data_format, set_epsilon, set_floatx

__all__ = [
    "backend",
    "clear_session",
    "count_params",
    "epsilon",
    "floatx",
    "get_value",
    "image_data_format",
    "int_shape",
    "learning_phase",
    "set_epsilon",
    "set_floatx",
    "set_image_data_format",
    "set_value",
]


def backend() -> str:
    """The engine's name, as `keras.backend.backend()` with KERAS_BACKEND=torch."""
    return "torch"


def set_image_data_format(data_format: str) -> None:
    """Accept 'channels_last' (Lamina's only layout); refuse 'channels_first' at once.

    Keras would make later layers NCHW; Lamina's layers are NHWC, so saying so here
    beats a shape error several layers later.
    """
    value = str(data_format).lower()
    if value != "channels_last":
        extra = " (Lamina images are NHWC, as in Keras's default)"
        raise ValueError(
            f"Expected data_format='channels_last'{extra}, received: data_format={data_format!r}"
        )


def clear_session(free_memory: bool = True) -> None:
    """Restart automatic layer names and free memory, as `keras.backend.clear_session`."""
    from lamina.utils.session import clear_session as clear  # utils sits above this module

    clear(free_memory=free_memory)


def learning_phase() -> int:
    """Always 0, with a warning: Lamina has no global train/test switch.

    Layers take `training=` in `call`; `fit` passes True, `evaluate` and `predict` False.
    """
    warnings.warn(
        "lamina.backend.learning_phase() has no effect and returns 0: layers take "
        "training= in call(); fit passes training=True, evaluate and predict False.",
        UserWarning,
        stacklevel=2,
    )
    return 0


def int_shape(x: Any) -> tuple[int | None, ...]:
    """The shape as a tuple of ints (None for an unknown dimension, e.g. the batch)."""
    shape = getattr(x, "shape", None)
    if shape is None:
        raise TypeError(
            f"Expected a tensor, array or symbolic input with a shape, received: x={x!r}"
        )
    return tuple(None if d is None else int(d) for d in shape)


def count_params(x: Any) -> int:
    """The number of scalars in `x` (a weight or tensor of fully known shape)."""
    shape = int_shape(x)
    if any(d is None for d in shape):
        raise ValueError(f"Expected a fully known shape, received: shape={shape}")
    return math.prod(shape)


def get_value(x: Any) -> Any:
    """A tensor's value as a NumPy array (a copy); anything else is returned unchanged."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy().copy()
    return x


def set_value(x: Any, value: Any) -> None:
    """Write `value` into the tensor or array `x` in place (same shape, `x`'s dtype)."""
    if isinstance(x, np.ndarray):
        target_shape = x.shape
    elif isinstance(x, torch.Tensor):
        target_shape = tuple(x.shape)
    else:
        hint = ""
        if isinstance(x, (int, float)):
            hint = (
                f" A Python number cannot change in place; for an optimizer's rate write "
                f"model.optimizer.learning_rate = {value!r}."
            )
        raise TypeError(
            f"Expected a tensor or array to set in place, received: x={x!r} "
            f"({type(x).__name__}).{hint}"
        )
    array = np.asarray(value.detach().cpu() if isinstance(value, torch.Tensor) else value)
    if tuple(array.shape) != tuple(target_shape):
        raise ValueError(
            f"Expected a value of shape {tuple(target_shape)}, received: value.shape={array.shape}"
        )
    if isinstance(x, np.ndarray):
        x[...] = array
        return
    with torch.no_grad():
        x.copy_(torch.as_tensor(array).to(device=x.device, dtype=x.dtype))


_REDUCTION = " (axis= becomes dim=, keepdims= becomes keepdim=)"

# Keras 2 backend functions and what to call instead on PyTorch.
_INSTEAD = {
    "abs": "torch.abs",
    "all": "torch.all" + _REDUCTION,
    "any": "torch.any" + _REDUCTION,
    "arange": "torch.arange",
    "argmax": "torch.argmax (axis= becomes dim=)",
    "argmin": "torch.argmin (axis= becomes dim=)",
    "batch_dot": "torch.bmm or torch.einsum",
    "batch_flatten": "torch.flatten(x, 1)",
    "batch_get_value": "[lamina.backend.get_value(t) for t in tensors]",
    "batch_set_value": "lamina.backend.set_value for each (tensor, value) pair",
    "binary_crossentropy": "lamina.losses.binary_crossentropy",
    "bias_add": "x + bias",
    "cast": "x.to(dtype)",
    "cast_to_floatx": "x.to(getattr(torch, lamina.backend.floatx()))",
    "categorical_crossentropy": "lamina.losses.categorical_crossentropy",
    "clip": "torch.clamp",
    "concatenate": "torch.cat (axis= becomes dim=)",
    "constant": "torch.tensor",
    "conv1d": "torch.nn.functional.conv1d (NCL) or lamina.layers.Conv1D",
    "conv2d": "torch.nn.functional.conv2d (NCHW) or lamina.layers.Conv2D",
    "cos": "torch.cos",
    "cumprod": "torch.cumprod",
    "cumsum": "torch.cumsum",
    "dot": "torch.matmul",
    "dropout": "torch.nn.functional.dropout",
    "dtype": "x.dtype",
    "elu": "torch.nn.functional.elu",
    "equal": "torch.eq",
    "eval": "lamina.backend.get_value",
    "exp": "torch.exp",
    "expand_dims": "torch.unsqueeze",
    "eye": "torch.eye",
    "flatten": "torch.flatten",
    "function": "the model itself: model(x) or model.predict(x)",
    "gather": "torch.index_select or x[indices]",
    "get_session": "nothing: PyTorch runs eagerly, there is no session",
    "gradients": "torch.autograd.grad",
    "greater": "torch.gt",
    "greater_equal": "torch.ge",
    "hard_sigmoid": "lamina.activations.hard_sigmoid",
    "image_dim_ordering": "lamina.backend.image_data_format() ('channels_last')",
    "is_keras_tensor": "isinstance(x, lamina.layers.symbolic.KerasTensor)",
    "l2_normalize": "torch.nn.functional.normalize",
    "less": "torch.lt",
    "less_equal": "torch.le",
    "log": "torch.log",
    "max": "torch.amax" + _REDUCTION,
    "maximum": "torch.maximum",
    "mean": "torch.mean" + _REDUCTION,
    "min": "torch.amin" + _REDUCTION,
    "minimum": "torch.minimum",
    "ndim": "x.dim()",
    "not_equal": "torch.ne",
    "one_hot": "torch.nn.functional.one_hot or lamina.utils.to_categorical",
    "ones": "torch.ones",
    "ones_like": "torch.ones_like",
    "permute_dimensions": "torch.permute",
    "placeholder": "lamina.Input",
    "pow": "torch.pow",
    "print_tensor": "print(x)",
    "prod": "torch.prod" + _REDUCTION,
    "random_normal": "torch.randn (times stddev, plus mean)",
    "random_uniform": "torch.rand or torch.empty(shape).uniform_(low, high)",
    "relu": "torch.relu",
    "repeat_elements": "torch.repeat_interleave",
    "reshape": "torch.reshape",
    "round": "torch.round",
    "set_image_dim_ordering": "lamina.backend.set_image_data_format('channels_last')",
    "set_learning_phase": "nothing: layers take training= in call(); fit passes it",
    "set_session": "nothing: PyTorch runs eagerly, there is no session",
    "shape": "x.shape",
    "sigmoid": "torch.sigmoid",
    "sign": "torch.sign",
    "sin": "torch.sin",
    "softmax": "torch.softmax (axis= becomes dim=)",
    "softplus": "torch.nn.functional.softplus",
    "softsign": "torch.nn.functional.softsign",
    "sparse_categorical_crossentropy": "lamina.losses.sparse_categorical_crossentropy",
    "sqrt": "torch.sqrt",
    "square": "torch.square",
    "squeeze": "torch.squeeze",
    "stack": "torch.stack (axis= becomes dim=)",
    "std": "torch.std(x, correction=0)" + _REDUCTION,
    "stop_gradient": "x.detach()",
    "sum": "torch.sum" + _REDUCTION,
    "switch": "torch.where",
    "tanh": "torch.tanh",
    "tile": "torch.tile",
    "transpose": "x.T or torch.transpose",
    "var": "torch.var(x, correction=0)" + _REDUCTION,
    "variable": "torch.tensor (or layer.add_weight inside a layer)",
    "zeros": "torch.zeros",
    "zeros_like": "torch.zeros_like",
}


def __getattr__(name: str) -> Any:
    """Keras 2 tensor functions are not provided: name what to call on PyTorch instead."""
    if name.startswith("__"):
        raise AttributeError(f"module 'lamina.backend' has no attribute {name!r}")
    head = f"Expected a function lamina.backend provides, received: lamina.backend.{name}."
    if name in _INSTEAD:
        raise AttributeError(f"{head} Lamina runs on PyTorch: use {_INSTEAD[name]} instead.")
    if callable(getattr(torch, name, None)) and not name.startswith("_"):
        raise AttributeError(f"{head} Lamina runs on PyTorch: use torch.{name} instead.")
    raise AttributeError(
        f"{head} Lamina runs on PyTorch: use the matching torch function on tensors "
        f"(https://pytorch.org/docs/stable/torch.html). Provided here: {', '.join(__all__)}."
    )
