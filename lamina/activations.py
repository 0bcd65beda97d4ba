"""Activation functions by Keras name, each a thin call into torch.

`get("relu")` returns the function; `get(None)` is the identity; a callable
passes through. `serialize(fn)` gives back the registered name for configs.

    from lamina import activations
    activations.get("leaky_relu")(torch.tensor([-1.0, 2.0]))  # tensor([-0.2, 2.0])
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from lamina import registry

Activation = Callable[[torch.Tensor], torch.Tensor]


def _register(*names: str) -> Callable[[Activation], Activation]:
    return registry.register("activation", *names)


@_register("linear", "identity")
def linear(x: torch.Tensor) -> torch.Tensor:
    """Identity: the output layer of a regression, or 'no activation'."""
    return x


@_register("sigmoid")
def sigmoid(x: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(x)


@_register("tanh")
def tanh(x: torch.Tensor) -> torch.Tensor:
    return torch.tanh(x)


@_register("relu")
def relu(x: torch.Tensor) -> torch.Tensor:
    return F.relu(x)


@_register("relu6")
def relu6(x: torch.Tensor) -> torch.Tensor:
    return F.relu6(x)


@_register("leaky_relu")
def leaky_relu(x: torch.Tensor, negative_slope: float = 0.2) -> torch.Tensor:
    """Keras's default slope is 0.2 (PyTorch's is 0.01)."""
    return F.leaky_relu(x, negative_slope)


@_register("elu")
def elu(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    return F.elu(x, alpha)


@_register("selu")
def selu(x: torch.Tensor) -> torch.Tensor:
    return F.selu(x)


@_register("softplus")
def softplus(x: torch.Tensor) -> torch.Tensor:
    return F.softplus(x)


@_register("softsign")
def softsign(x: torch.Tensor) -> torch.Tensor:
    return F.softsign(x)


@_register("softmax")
def softmax(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    return torch.softmax(x, dim=axis)


@_register("log_softmax")
def log_softmax(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    return torch.log_softmax(x, dim=axis)


@_register("swish", "silu")
def swish(x: torch.Tensor) -> torch.Tensor:
    return F.silu(x)


@_register("gelu")
def gelu(x: torch.Tensor, approximate: bool = False) -> torch.Tensor:
    return F.gelu(x, approximate="tanh" if approximate else "none")


@_register("hard_sigmoid")
def hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Keras 3's definition: relu6(x + 3) / 6."""
    return F.hardsigmoid(x)


@_register("mish")
def mish(x: torch.Tensor) -> torch.Tensor:
    return F.mish(x)


@_register("exponential")
def exponential(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(x)


@_register("step", "heaviside")
def step(x: torch.Tensor) -> torch.Tensor:
    """The perceptron's threshold unit: 1 where x >= 0, else 0 (no gradient)."""
    return (x >= 0).to(x.dtype)


@_register("sign")
def sign(x: torch.Tensor) -> torch.Tensor:
    """The perceptron's bipolar unit: +1 where x >= 0, else -1 (no gradient)."""
    return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))


def get(identifier: str | Activation | None) -> Activation:
    """Resolve a name, a callable or None to an activation function."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        return registry.get("activation", identifier)
    if callable(identifier):
        return identifier
    raise TypeError(
        "Expected an activation name, a callable or None, received: "
        f"activation={identifier!r} (type {type(identifier).__name__})"
    )


def serialize(fn: Activation | None) -> str | None:
    """The registered name of `fn` (for get_config), or None for the identity."""
    if fn is None:
        return None
    for name in registry.names("activation"):
        if registry.get("activation", name) is fn:
            return fn.__name__ if fn.__name__ in registry.names("activation") else name
    return getattr(fn, "__name__", repr(fn))
