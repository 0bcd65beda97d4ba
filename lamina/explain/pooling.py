"""`max_pool` and `avg_pool`: a pooling layer's arithmetic for one image, step by step.

Keras's MaxPooling2D and AveragePooling2D: the stride defaults to the pool size, and the
cells 'same' padding adds are left out of the max and the average (they are not zeros).
"""

from __future__ import annotations

import itertools
from typing import Any, TextIO

import numpy as np

from lamina.explain.printing import StepPrinter, check_count, join_terms, number
from lamina.explain.windows import (
    as_array,
    check_fits,
    check_padding,
    inside,
    padding_text,
    plan_axis,
    positive_pair,
    shape_text,
    span,
    windowed,
)


def max_pool(
    image: Any,
    pool_size: int | tuple[int, int] = 2,
    stride: int | tuple[int, int] | None = None,
    padding: str = "valid",
    *,
    max_steps: int | None = 4,
    max_terms: int | None = 30,
    verbose: bool = True,
    file: TextIO | None = None,
) -> np.ndarray:
    """The largest value of each window, printed as `max(105, 102, 103, 99) = 105`.

    image: (H, W) or (H, W, C), each channel pooled on its own; the output has the image's
    rank. stride defaults to pool_size. max_steps: how many outputs to print (None for all);
    file: the stream (stdout by default); verbose=False only computes.
    """
    return _pool("max", image, pool_size, stride, padding, max_steps, max_terms, verbose, file)


def avg_pool(
    image: Any,
    pool_size: int | tuple[int, int] = 2,
    stride: int | tuple[int, int] | None = None,
    padding: str = "valid",
    *,
    max_steps: int | None = 4,
    max_terms: int | None = 30,
    verbose: bool = True,
    file: TextIO | None = None,
) -> np.ndarray:
    """The mean of each window, printed as `(105 + 102 + 103 + 99) / 4 = 102.25`.

    Arguments as `max_pool`'s; padded cells do not count in the mean.
    """
    return _pool("avg", image, pool_size, stride, padding, max_steps, max_terms, verbose, file)


def _pool(
    kind: str,
    image: Any,
    pool_size: Any,
    stride: Any,
    padding: Any,
    max_steps: int | None,
    max_terms: int | None,
    verbose: bool,
    file: TextIO | None,
) -> np.ndarray:
    x = as_array("image", image)
    if x.ndim not in (2, 3) or 0 in x.shape:
        raise ValueError(
            "Expected an image of shape (height, width) or (height, width, channels), "
            f"received: image.shape={x.shape}"
        )
    pixels = x if x.ndim == 3 else x[:, :, None]
    pool = positive_pair("pool_size", pool_size)
    strides = pool if stride is None else positive_pair("stride", stride)
    pad = check_padding(padding)
    check_count("max_terms", max_terms, minimum=1)
    if pad == "valid":
        check_fits("pool", "pool_size", pool, x.shape[:2])
    rows = plan_axis(x.shape[0], pool[0], strides[0], pad)
    cols = plan_axis(x.shape[1], pool[1], strides[1], pad)

    values = windowed(pixels, rows, cols, 0.0)  # (out_h, out_w, C, ph, pw)
    real = windowed(np.ones_like(pixels), rows, cols, 0.0) > 0
    if kind == "max":
        out = np.where(real, values, -np.inf).max(axis=(3, 4))
    else:
        out = values.sum(axis=(3, 4)) / real.sum(axis=(3, 4))

    printer = StepPrinter(verbose, file, max_steps)
    name = "max_pool" if kind == "max" else "avg_pool"
    stride_text = str(strides[0]) if strides[0] == strides[1] else str(strides)
    printer.line(
        f"{name}: image {shape_text(x.shape)}, pool {shape_text(pool)}, "
        f"stride {stride_text}, padding '{pad}'"
    )
    if rows.before + rows.after + cols.before + cols.after:
        printer.line(f"padding: {padding_text(rows, cols)}; padded cells are left out")
    index = "i, j, c" if x.ndim == 3 else "i, j"
    what = "the largest value" if kind == "max" else "the mean"
    each = ", each channel on its own" if x.ndim == 3 else ""
    printer.line(
        f"output {shape_text(out.shape if x.ndim == 3 else out.shape[:2])}: "
        f"out[{index}] = {what} in its window{each}"
    )
    for i, j, c in itertools.islice(np.ndindex(out.shape), printer.limit(out.size)):
        r0, r1 = span(rows, i)
        c0, c1 = span(cols, j)
        label = f"{i}, {j}, {c}" if x.ndim == 3 else f"{i}, {j}"
        printer.line(f"out[{label}] (rows {r0}..{r1}, cols {c0}..{c1}):")
        cells = [
            number(pixels[r, q, c])
            for r in range(r0, r1 + 1)
            for q in range(c0, c1 + 1)
            if inside(rows, r) and inside(cols, q)
        ]
        if kind == "max":
            printer.line(
                f"max({join_terms(cells, max_terms, ', ', 'values')}) = {number(out[i, j, c])}"
            )
        else:
            total = join_terms(cells, max_terms)
            printer.line(f"({total}) / {len(cells)} = {number(out[i, j, c])}")
    printer.finish(out.size, "output")
    return out if x.ndim == 3 else out[:, :, 0]
