"""The activations a worked example can apply after its weighted sums, in NumPy.

Each matches Lamina's activation of the same name (Keras's definitions: leaky_relu's slope
is 0.2, step and sign are the perceptron's units with step(0) = 1 and sign(0) = 1).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lamina.explain.printing import join_terms, number


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # exp of a non-positive number only, so no overflow warning for large |z|.
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


ELEMENTWISE: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0.0),
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "softplus": lambda z: np.logaddexp(0.0, z),
    "elu": lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0.0))),
    "leaky_relu": lambda z: np.where(z >= 0, z, 0.2 * z),
    "step": lambda z: (z >= 0).astype(np.float64),
    "sign": lambda z: np.where(z >= 0, 1.0, -1.0),
}
NAMES = (*ELEMENTWISE, "softmax")


def check_activation(activation: str | None, allow_softmax: bool = True) -> str | None:
    """The activation's name, or None for none ('linear' is none too)."""
    if activation is None or activation == "linear":
        return None
    names = NAMES if allow_softmax else tuple(ELEMENTWISE)
    if isinstance(activation, str) and activation in names:
        return activation
    listed = ", ".join(repr(n) for n in (None, *names))
    raise ValueError(
        f"Expected activation to be one of {listed}, received: activation={activation!r}"
    )


def apply(activation: str | None, z: np.ndarray) -> np.ndarray:
    """The activation of z (softmax along the last axis)."""
    if activation is None:
        return z
    if activation == "softmax":
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    return ELEMENTWISE[activation](z)


def unit_line(activation: str, z: float, a: float) -> str:
    """`relu(-3) = 0`."""
    return f"{activation}({number(z)}) = {number(a)}"


def softmax_line(z: np.ndarray, a: np.ndarray, max_terms: int | None) -> str:
    """`softmax(1, 2, 3) = exp(z) / sum(exp(z)) = (0.09003, 0.2447, 0.6652)`."""
    inputs = join_terms([number(v) for v in z], max_terms, ", ", "values")
    outputs = join_terms([number(v) for v in a], max_terms, ", ", "values")
    return f"softmax({inputs}) = exp(z) / sum(exp(z)) = ({outputs})"
