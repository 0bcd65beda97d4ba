"""Input checks that name the layer and the shapes expected and received.

A layer declares `input_spec = InputSpec(ndim=2)` (or `min_ndim`, or
`axes={-1: 784}` once built); the base class checks every new input shape
against it and raises a ValueError a learner can act on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lamina.ops.dtypes import standardize_dtype


class InputSpec:
    """Expected rank, shape and fixed axis sizes of a layer's input (Keras's arguments).

    `shape` fixes the rank and the sizes that are not None; with
    `allow_last_axis_squeeze` a trailing axis of size 1 may be present or not (on either
    side). `dtype` is recorded (standardized) for Keras code that reads it; the check
    runs on shapes, as Lamina's layers cast inputs to their own dtype.
    """

    def __init__(
        self,
        dtype: Any = None,
        shape: Sequence[int | None] | None = None,
        ndim: int | None = None,
        max_ndim: int | None = None,
        min_ndim: int | None = None,
        axes: dict[int, int] | None = None,
        allow_last_axis_squeeze: bool = False,
        name: str | None = None,
        optional: bool = False,
    ):
        self.dtype = None if dtype is None else standardize_dtype(dtype)
        self.shape = None if shape is None else tuple(None if d is None else int(d) for d in shape)
        self.ndim = len(self.shape) if self.shape is not None else ndim
        self.min_ndim, self.max_ndim = min_ndim, max_ndim
        try:
            self.axes = {int(k): v for k, v in (axes or {}).items()}
        except (TypeError, ValueError):
            raise TypeError(
                f"Expected axes as a dict with integer keys, received: axes={axes!r}"
            ) from None
        self.allow_last_axis_squeeze = bool(allow_last_axis_squeeze)
        self.name, self.optional = name, bool(optional)

    def describe(self) -> str:
        parts = []
        if self.shape is not None:
            parts.append(f"shape {self.shape} (batch included)")
        elif self.ndim is not None:
            parts.append(f"rank {self.ndim} (batch included)")
        if self.min_ndim is not None:
            parts.append(f"rank >= {self.min_ndim}")
        if self.max_ndim is not None:
            parts.append(f"rank <= {self.max_ndim}")
        for axis, size in self.axes.items():
            parts.append(f"size {size} on axis {axis}")
        return ", ".join(parts) or "any shape"

    def get_config(self) -> dict[str, Any]:
        return {
            "dtype": self.dtype,
            "shape": self.shape,
            "ndim": self.ndim,
            "max_ndim": self.max_ndim,
            "min_ndim": self.min_ndim,
            "axes": self.axes,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> InputSpec:
        return cls(**config)

    def __repr__(self) -> str:
        return f"InputSpec({self.describe()})"


def _shape_breaks(spec: InputSpec, shape: tuple) -> bool:
    """Whether `shape` breaks `spec.shape` (sizes that are None match anything)."""
    want, got = spec.shape, shape
    if spec.allow_last_axis_squeeze:
        got = got[:-1] if got and got[-1] == 1 else got
        want = want[:-1] if want and want[-1] == 1 else want
    if len(want) != len(got):
        return True
    return any(w is not None and g is not None and w != g for w, g in zip(want, got))


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
    if input_shape is None and spec.optional:
        return
    shape = tuple(input_shape)
    rank = len(shape)
    bad = (
        (spec.ndim is not None and rank != spec.ndim and not spec.allow_last_axis_squeeze)
        or (spec.shape is not None and _shape_breaks(spec, shape))
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
