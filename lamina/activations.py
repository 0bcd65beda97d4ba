"""Activation functions by Keras name, each a thin call into torch.

`get("relu")` returns the function; `get(None)` is the identity; a callable
passes through. `serialize(fn)` gives back the registered name for configs.

    from lamina import activations
    activations.get("leaky_relu")(torch.tensor([-1.0, 2.0]))  # tensor([-0.2, 2.0])
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from lamina import constraints, initializers, registry, regularizers
from lamina.ops import nn as nn_ops
from lamina.ops.conversion import convert_to_tensor

Activation = Callable[[torch.Tensor], torch.Tensor]


def _register(*names: str) -> Callable[[Activation], Activation]:
    return registry.register("activation", *names)


def _t(x: Any) -> torch.Tensor:
    """Tensors pass through; NumPy arrays and scalars convert, as Keras's activations take them."""
    return x if isinstance(x, torch.Tensor) else convert_to_tensor(x)


@_register("linear", "identity")
def linear(x: torch.Tensor) -> torch.Tensor:
    """Identity: the output layer of a regression, or 'no activation'."""
    return x


@_register("sigmoid")
def sigmoid(x: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(_t(x))


@_register("tanh")
def tanh(x: torch.Tensor) -> torch.Tensor:
    return torch.tanh(_t(x))


@_register("relu")
def relu(
    x: torch.Tensor,
    negative_slope: float = 0.0,
    max_value: float | None = None,
    threshold: float = 0.0,
) -> torch.Tensor:
    """max(x, 0) by default; Keras's options: `negative_slope` below `threshold` (x counts
    only above it), and a ceiling `max_value`."""
    x = _t(x)
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return F.relu(x)
    if negative_slope != 0.0 and max_value is None and threshold == 0.0:
        return F.leaky_relu(x, negative_slope)
    below = F.relu(threshold - x) if negative_slope != 0.0 else None
    out = torch.where(x > threshold, x, torch.zeros_like(x)) if threshold != 0.0 else F.relu(x)
    if max_value is not None:
        out = torch.clamp(out, 0.0, max_value)
    if below is not None:
        out = out - negative_slope * below
    return out


@_register("relu6")
def relu6(x: torch.Tensor) -> torch.Tensor:
    return F.relu6(_t(x))


@_register("leaky_relu")
def leaky_relu(x: torch.Tensor, negative_slope: float = 0.2) -> torch.Tensor:
    """Keras's default slope is 0.2 (PyTorch's is 0.01)."""
    return F.leaky_relu(_t(x), negative_slope)


@_register("elu")
def elu(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    return F.elu(_t(x), alpha)


@_register("selu")
def selu(x: torch.Tensor) -> torch.Tensor:
    return F.selu(_t(x))


@_register("softplus")
def softplus(x: torch.Tensor) -> torch.Tensor:
    return F.softplus(_t(x))


@_register("softsign")
def softsign(x: torch.Tensor) -> torch.Tensor:
    return F.softsign(_t(x))


@_register("softmax")
def softmax(x: torch.Tensor, axis: Any = -1) -> torch.Tensor:
    """exp(x) / sum(exp(x)) along `axis` (an int, or a tuple of axes normalized together)."""
    if not isinstance(axis, int):
        return nn_ops.softmax(x, axis=axis)
    return torch.softmax(_t(x), dim=axis)


@_register("log_softmax")
def log_softmax(x: torch.Tensor, axis: Any = -1) -> torch.Tensor:
    """x - logsumexp(x) along `axis` (an int, or a tuple of axes)."""
    if not isinstance(axis, int):
        return nn_ops.log_softmax(x, axis=axis)
    return torch.log_softmax(_t(x), dim=axis)


@_register("swish")
def swish(x: torch.Tensor) -> torch.Tensor:
    return F.silu(_t(x))


@_register("silu")
def silu(x: Any) -> torch.Tensor:
    """x * sigmoid(x) (Keras's name; `swish` is the same function)."""
    return nn_ops.silu(x)


@_register("gelu")
def gelu(x: torch.Tensor, approximate: bool = False) -> torch.Tensor:
    return F.gelu(_t(x), approximate="tanh" if approximate else "none")


@_register("hard_sigmoid")
def hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Keras 3's definition: relu6(x + 3) / 6."""
    return F.hardsigmoid(_t(x))


@_register("mish")
def mish(x: torch.Tensor) -> torch.Tensor:
    return F.mish(_t(x))


@_register("exponential")
def exponential(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(_t(x))


@_register("step", "heaviside")
def step(x: torch.Tensor) -> torch.Tensor:
    """The perceptron's threshold unit: 1 where x >= 0, else 0 (no gradient)."""
    return (x >= 0).to(x.dtype)


@_register("sign")
def sign(x: torch.Tensor) -> torch.Tensor:
    """The perceptron's bipolar unit: +1 where x >= 0, else -1 (no gradient)."""
    return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))


@_register("celu")
def celu(x: Any, alpha: float = 1.0) -> torch.Tensor:
    """Continuously differentiable ELU: max(x, 0) + min(0, alpha * (exp(x / alpha) - 1))."""
    return nn_ops.celu(x, alpha=alpha)


@_register("glu")
def glu(x: Any, axis: int = -1) -> torch.Tensor:
    """Gated linear unit: one half of `axis` gated by the sigmoid of the other."""
    return nn_ops.glu(x, axis=axis)


@_register("hard_shrink")
def hard_shrink(x: Any, threshold: float = 0.5) -> torch.Tensor:
    return nn_ops.hard_shrink(x, threshold=threshold)


@_register("soft_shrink")
def soft_shrink(x: Any, threshold: float = 0.5) -> torch.Tensor:
    return nn_ops.soft_shrink(x, threshold=threshold)


@_register("hard_silu", "hard_swish")
def hard_silu(x: Any) -> torch.Tensor:
    """x * relu6(x + 3) / 6: MobileNetV3's cheap swish."""
    return nn_ops.hard_silu(x)


hard_swish = hard_silu


@_register("hard_tanh")
def hard_tanh(x: Any) -> torch.Tensor:
    return nn_ops.hard_tanh(x)


@_register("log_sigmoid")
def log_sigmoid(x: Any) -> torch.Tensor:
    return nn_ops.log_sigmoid(x)


@_register("sparse_plus")
def sparse_plus(x: Any) -> torch.Tensor:
    return nn_ops.sparse_plus(x)


@_register("sparse_sigmoid")
def sparse_sigmoid(x: Any) -> torch.Tensor:
    return nn_ops.sparse_sigmoid(x)


@_register("sparsemax")
def sparsemax(x: Any, axis: int = -1) -> torch.Tensor:
    """A softmax whose output can be exactly zero: the projection onto the simplex."""
    return nn_ops.sparsemax(x, axis=axis)


@_register("squareplus")
def squareplus(x: Any, b: float = 4) -> torch.Tensor:
    return nn_ops.squareplus(x, b=b)


@_register("tanh_shrink")
def tanh_shrink(x: Any) -> torch.Tensor:
    return nn_ops.tanh_shrink(x)


@_register("threshold")
def threshold(x: Any, threshold: float, default_value: float) -> torch.Tensor:
    """x above `threshold`, else `default_value`."""
    return nn_ops.threshold(x, threshold, default_value)


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Activation:
    """The activation named by `config`: a name or Keras's function config
    ({'class_name': 'function', 'config': name, ...}); `custom_objects` are searched first."""
    name = config
    if isinstance(config, dict):
        name = config.get("config")
        if config.get("class_name") not in (None, "function") or not isinstance(name, str):
            raise ValueError(f"Expected an activation function config, received: config={config!r}")
    if not isinstance(name, str):
        raise ValueError(f"Expected an activation name or config, received: config={config!r}")
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    return registry.get("activation", name)


def get(identifier: str | Activation | None, layer: Any = None) -> Activation:
    """Resolve a name, a callable or None to an activation function.

    A regularizer, initializer or constraint (object, class or name) is refused with a
    message showing the keyword it belongs to: `Dense(64, regularizers.l2(0.01))` puts
    it in `activation` positionally. `layer` (when given) is named in the error.
    """
    if identifier is None:
        return linear
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        try:
            return registry.get("activation", identifier)
        except ValueError as err:
            kind = _misplaced_name(identifier)
            if kind is None:
                raise
            raise ValueError(_misplaced_message(layer, kind, repr(identifier))) from err
    kind = _misplaced_kind(identifier)
    if kind is not None:
        raise TypeError(_misplaced_message(layer, kind, _describe(identifier, kind)))
    if callable(identifier):
        return identifier
    raise TypeError(
        f"{_who(layer)}xpected an activation name, a callable or None, received: "
        f"activation={identifier!r} (type {type(identifier).__name__})"
    )


# What a positional argument in the `activation` slot may really be: (kind, module, base).
_MISPLACED = (
    ("regularizer", "regularizers", regularizers.Regularizer),
    ("initializer", "initializers", initializers.Initializer),
    ("constraint", "constraints", constraints.Constraint),
)


def _misplaced_kind(obj: Any) -> str | None:
    for kind, _, base in _MISPLACED:
        if isinstance(obj, base) or (isinstance(obj, type) and issubclass(obj, base)):
            return kind
    return None


def _misplaced_name(name: str) -> str | None:
    for kind, _, _ in _MISPLACED:
        try:
            registry.get(kind, name)
        except ValueError:
            continue
        return kind
    return None


def _describe(obj: Any, kind: str) -> str:
    """`regularizers.L2(l2=0.01)`: how the object is written, for the suggested keyword."""
    module = next(m for k, m, _ in _MISPLACED if k == kind)
    if isinstance(obj, type):
        return f"{module}.{obj.__name__}"
    try:
        config = obj.get_config()
    except (AttributeError, NotImplementedError, TypeError):
        config = {}
    args = ", ".join(f"{k}={v!r}" for k, v in config.items() if v is not None)
    return f"{module}.{type(obj).__name__}({args})"


def _who(layer: Any) -> str:
    if layer is None:
        return "E"
    return f"Layer '{getattr(layer, 'name', '?')}' ({type(layer).__name__}) e"


def _misplaced_message(layer: Any, kind: str, written: str) -> str:
    article = "an" if kind[0] in "aeiou" else "a"
    head = (
        f"{_who(layer)}xpected an activation (a name such as 'relu', a callable or None), "
        f"received: activation={written}, {article} {kind}."
    )
    if layer is not None and f"kernel_{kind}" not in inspect.signature(type(layer)).parameters:
        return (
            f"{head} It belongs to a layer with weights, e.g. Dense(64, kernel_{kind}={written})."
        )
    others = f"bias_{kind}=" + (", activity_regularizer=" if kind == "regularizer" else "")
    return (
        f"{head} Pass it by its keyword: kernel_{kind}={written} (or {others}); given "
        "positionally after the first argument, it lands in `activation`."
    )


def serialize(fn: Activation | None) -> str | None:
    """The registered name of `fn` (for get_config), or None for the identity."""
    if fn is None:
        return None
    for name in registry.names("activation"):
        if registry.get("activation", name) is fn:
            return fn.__name__ if fn.__name__ in registry.names("activation") else name
    return getattr(fn, "__name__", repr(fn))
