"""Input checks that name the layer and the shapes expected and received.

A layer declares `input_spec = InputSpec(ndim=2)` (or `min_ndim`, or
`axes={-1: 784}` once built); the base class checks every new input shape
against it and raises a ValueError a learner can act on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class InputSpec:
    """Expected rank and fixed axis sizes of a layer's input."""

    def __init__(
        self,
        ndim: int | None = None,
        min_ndim: int | None = None,
        max_ndim: int | None = None,
        axes: dict[int, int] | None = None,
    ):
        self.ndim, self.min_ndim, self.max_ndim = ndim, min_ndim, max_ndim
        self.axes = dict(axes or {})

    def describe(self) -> str:
        parts = []
        if self.ndim is not None:
            parts.append(f"rank {self.ndim} (batch included)")
        if self.min_ndim is not None:
            parts.append(f"rank >= {self.min_ndim}")
        if self.max_ndim is not None:
            parts.append(f"rank <= {self.max_ndim}")
        for axis, size in self.axes.items():
            parts.append(f"size {size} on axis {axis}")
        return ", ".join(parts) or "any shape"


def _hint(layer: Any, spec: InputSpec, shape: tuple) -> str:
    kind = type(layer).__name__
    rank = len(shape)
    if kind == "Dense" and rank > 2:
        return " Hint: add a Flatten() layer before this Dense layer to turn images into vectors."
    if kind in ("Conv2D", "MaxPooling2D", "AveragePooling2D") and rank == 3:
        return (
            " Hint: Conv2D takes NHWC images (batch, height, width, channels); give grayscale "
            "images a channel axis, e.g. x.reshape(-1, 28, 28, 1) or input_shape=(28, 28, 1)."
        )
    if kind in ("Conv2D", "MaxPooling2D", "AveragePooling2D") and rank == 2:
        return " Hint: reshape flat vectors to images, e.g. Reshape((28, 28, 1))."
    return ""


def check_input(layer: Any, spec: InputSpec | Sequence[InputSpec], input_shape: Any) -> None:
    """Raise a ValueError naming `layer` when `input_shape` breaks `spec`."""
    if isinstance(spec, (list, tuple)):
        if not isinstance(input_shape, (list, tuple)) or len(spec) != len(input_shape):
            raise ValueError(
                f"Layer '{layer.name}' ({type(layer).__name__}) expected {len(spec)} inputs, "
                f"received: input_shape={input_shape}"
            )
        for s, shp in zip(spec, input_shape):
            check_input(layer, s, shp)
        return
    shape = tuple(input_shape)
    rank = len(shape)
    bad = (
        (spec.ndim is not None and rank != spec.ndim)
        or (spec.min_ndim is not None and rank < spec.min_ndim)
        or (spec.max_ndim is not None and rank > spec.max_ndim)
    )
    if not bad:
        for axis, size in spec.axes.items():
            if -rank <= axis < rank and shape[axis] is not None and shape[axis] != size:
                bad = True
    if bad:
        raise ValueError(
            f"Layer '{layer.name}' ({type(layer).__name__}) expected input of "
            f"{spec.describe()}, received: input_shape={shape}.{_hint(layer, spec, shape)}"
        )
