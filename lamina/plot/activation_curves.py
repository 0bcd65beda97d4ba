"""Activation functions and their derivatives, one panel each, as the courses draw them.

    lamina.plot.activations()                          # all nine
    lamina.plot.activations(["sigmoid", "relu"], path="act.png")

The values come from `lamina.activations` (what a layer with that activation computes) and
the derivatives from torch.autograd on them, so the picture shows what training uses. The
flat derivative of a saturated sigmoid or tanh is why deep sigmoid networks learn slowly.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import torch

from lamina import activations as lamina_activations
from lamina.plot.figure import finish, pyplot

KNOWN = (
    "step",
    "sign",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "elu",
    "softplus",
    "maxout",
)
_ALIASES = {"heaviside": "step", "leakyrelu": "leaky_relu", "logistic": "sigmoid"}

# Maxout learns its pieces; this example uses three fixed lines (slope, intercept), whose
# maximum is the convex piecewise-linear curve drawn: -x - 1, then 0.25x, then 1.5x - 1.5.
MAXOUT_PIECES = ((-1.0, -1.0), (0.25, 0.0), (1.5, -1.5))

_NOTES = {
    "step": "derivative 0, undefined at 0",
    "sign": "derivative 0, undefined at 0",
    "leaky_relu": "slope 0.2 below 0, as in Keras",
    "elu": "alpha = 1",
    "maxout": "max of 3 example lines",
}


def maxout_example(x: torch.Tensor) -> torch.Tensor:
    """The maximum over MAXOUT_PIECES at each x (one Maxout unit with those weights)."""
    slopes = torch.tensor([p[0] for p in MAXOUT_PIECES], dtype=x.dtype)
    intercepts = torch.tensor([p[1] for p in MAXOUT_PIECES], dtype=x.dtype)
    return (x[:, None] * slopes + intercepts).amax(dim=1)


def _function(name: str) -> Any:
    if name == "maxout":
        return maxout_example
    return getattr(lamina_activations, name)


def resolve(names: Any) -> list[str]:
    """Canonical names for `names` (None: all; a string: one), unknown ones rejected."""
    if names is None:
        return list(KNOWN)
    if isinstance(names, str):
        names = [names]
    resolved = []
    for raw in names:
        key = str(raw).strip().lower().replace(" ", "_").replace("-", "_")
        key = _ALIASES.get(key, key)
        if key not in KNOWN:
            raise ValueError(f"Expected activation names among {list(KNOWN)}, received: {raw!r}")
        resolved.append(key)
    if not resolved:
        raise ValueError(f"Expected at least one activation name, received: names={names!r}")
    return resolved


def values_and_derivative(name: str, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f(x) and f'(x) by torch.autograd; 0 where the function has no gradient (step, sign)."""
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y = _function(name)(xt)
    if y.requires_grad:
        (dy,) = torch.autograd.grad(y.sum(), xt)
    else:
        dy = torch.zeros_like(xt)
    return y.detach().numpy(), dy.detach().numpy()


def activations(names: Any = None, path: str | os.PathLike | None = None) -> Any:
    """Plot each activation (solid) and its derivative (dashed) over [-4, 4], one panel per
    function. Known names: step, sign, sigmoid, tanh, relu, leaky_relu, elu, softplus,
    maxout. Saves a PNG when `path` is given; `figure.lamina_data` holds {name: {"x", "y",
    "dy"}}.
    """
    chosen = resolve(names)
    x = np.linspace(-4.0, 4.0, 401)
    plt = pyplot()
    cols = min(len(chosen), 3)
    rows = math.ceil(len(chosen) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.3 * cols, 2.6 * rows), squeeze=False)
    data: dict[str, dict[str, np.ndarray]] = {}
    for ax, name in zip(axes.flat, chosen):
        y, dy = values_and_derivative(name, x)
        data[name] = {"x": x, "y": y, "dy": dy}
        ax.axhline(0, color="0.6", lw=0.6)
        ax.axvline(0, color="0.6", lw=0.6)
        if name == "maxout":
            for slope, intercept in MAXOUT_PIECES:
                ax.plot(x, slope * x + intercept, ":", color="0.55", lw=0.9)
        ax.plot(x, y, "-", color="tab:blue", lw=1.8, label=name)
        ax.plot(x, dy, "--", color="tab:orange", lw=1.4, label="derivative")
        low = min(y.min(), dy.min())
        high = max(y.max(), dy.max())
        pad = 0.1 * (high - low) or 0.5
        ax.set_ylim(low - pad, high + pad)
        ax.set_xlim(x[0], x[-1])
        note = _NOTES.get(name)
        ax.set_title(name + (f"\n({note})" if note else ""), fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    for ax in list(axes.flat)[len(chosen) :]:
        ax.axis("off")
    fig.tight_layout()
    return finish(fig, path, data)
