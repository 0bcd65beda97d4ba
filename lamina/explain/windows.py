"""The arguments and geometry the convolution and pooling examples share.

Padding follows Keras: 'valid' uses only whole windows inside the image; 'same' pads so that
out = ceil(in / stride), with the odd extra row or column at the bottom or right.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

PADDINGS = ("valid", "same")


def as_array(name: str, value: Any) -> np.ndarray:
    """`value` as a float64 NumPy array: lists, NumPy arrays, and tensors (on any device)."""
    if hasattr(value, "detach"):  # a torch tensor, without importing torch here
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"Expected {name} to be a numeric array, received: {name}={value!r}"
        ) from error
    if array.dtype.kind not in "biuf":
        raise ValueError(
            f"Expected {name} to be a numeric array, received: {name}.dtype={array.dtype}"
        )
    return array.astype(np.float64)


def positive_pair(name: str, value: Any) -> tuple[int, int]:
    """An int or a pair of ints, each at least 1: `stride=2` means (2, 2)."""
    items = value if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2 or not all(_is_positive_int(v) for v in items):
        raise ValueError(
            f"Expected {name} to be a positive int or a pair of them, received: {name}={value!r}"
        )
    return int(items[0]), int(items[1])


def _is_positive_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1


def check_padding(value: Any) -> str:
    """'valid' or 'same', in any case, as Keras accepts them."""
    if isinstance(value, str) and value.lower() in PADDINGS:
        return value.lower()
    raise ValueError(f"Expected padding to be 'valid' or 'same', received: padding={value!r}")


@dataclass(frozen=True)
class AxisPlan:
    """Where the windows fall along one axis of the image."""

    size: int
    window: int
    stride: int
    before: int  # zeros (or ignored cells) padded before the first row/column
    after: int
    out: int


def plan_axis(size: int, window: int, stride: int, padding: str) -> AxisPlan:
    """Output length and padding along one axis, Keras's rule."""
    if padding == "same":
        out = -(-size // stride)
        total = max((out - 1) * stride + window - size, 0)
        return AxisPlan(size, window, stride, total // 2, total - total // 2, out)
    return AxisPlan(size, window, stride, 0, 0, (size - window) // stride + 1)


def check_fits(what: str, name: str, window: tuple[int, int], image_hw: tuple[int, int]) -> None:
    """With 'valid' padding a window larger than the image gives no output: say so."""
    if window[0] > image_hw[0] or window[1] > image_hw[1]:
        size = f"{image_hw[0]}x{image_hw[1]}"
        raise ValueError(
            f"Expected a {what} no larger than the {size} image with padding='valid', "
            f"received: {name}={window}"
        )


def windowed(image: np.ndarray, rows: AxisPlan, cols: AxisPlan, fill: float) -> np.ndarray:
    """Every window of an (H, W, C) image: shape (out_rows, out_cols, C, window_h, window_w)."""
    padded = np.pad(
        image,
        ((rows.before, rows.after), (cols.before, cols.after), (0, 0)),
        constant_values=fill,
    )
    views = np.lib.stride_tricks.sliding_window_view(padded, (rows.window, cols.window), (0, 1))
    return views[:: rows.stride, :: cols.stride][: rows.out, : cols.out]


def span(axis: AxisPlan, index: int) -> tuple[int, int]:
    """First and last image index of window `index` (negative or past the end means padding)."""
    first = index * axis.stride - axis.before
    return first, first + axis.window - 1


def inside(axis: AxisPlan, position: int) -> bool:
    """Whether an image index is a real cell rather than padding."""
    return 0 <= position < axis.size


def padding_text(rows: AxisPlan, cols: AxisPlan) -> str:
    """`1 row above, 1 below, 1 column left, 1 right`."""

    def count(n: int, noun: str) -> str:
        return f"{n} {noun}{'' if n == 1 else 's'}"

    return (
        f"{count(rows.before, 'row')} above, {rows.after} below, "
        f"{count(cols.before, 'column')} left, {cols.after} right"
    )


def shape_text(shape: tuple[int, ...]) -> str:
    """`5x5x1`."""
    return "x".join(str(d) for d in shape)
