"""`conv2d`: a convolution layer's arithmetic for one image, printed as the slides write it.

Deep learning's convolution is a cross-correlation (the kernel is not flipped), as Keras's
Conv2D computes it, with its 'valid' and 'same' padding and (H, W, C) images.
"""

from __future__ import annotations

import itertools
from typing import Any, TextIO

import numpy as np

from lamina.explain.activation import apply, check_activation, unit_line
from lamina.explain.printing import (
    StepPrinter,
    check_count,
    join_terms,
    number,
    product,
    tidy,
)
from lamina.explain.windows import (
    AxisPlan,
    as_array,
    check_fits,
    check_padding,
    padding_text,
    plan_axis,
    positive_pair,
    shape_text,
    span,
    windowed,
)


def conv2d(
    image: Any,
    kernel: Any,
    stride: int | tuple[int, int] = 1,
    padding: str = "valid",
    bias: Any = None,
    activation: str | None = None,
    *,
    max_steps: int | None = 4,
    max_terms: int | None = 30,
    verbose: bool = True,
    file: TextIO | None = None,
) -> np.ndarray:
    """Convolves `image` with `kernel`, printing each output's weighted sum; returns the output.

    image: (H, W) or (H, W, C). kernel: (kh, kw), (kh, kw, C), or (kh, kw, C, filters) as
    Keras's Conv2D stores it. The output is (out_h, out_w, filters) when the kernel has a
    filters axis, else (out_h, out_w). bias: one number per filter, or None.
    activation: an element-wise activation's name ('relu', 'sigmoid', ...), applied last.
    max_steps: how many outputs to print (None for all); max_terms: the longest sum printed
    whole. file: the stream (stdout by default); verbose=False only computes.
    """
    x = as_array("image", image)
    k = as_array("kernel", kernel)
    if x.ndim not in (2, 3) or 0 in x.shape:
        raise ValueError(
            "Expected an image of shape (height, width) or (height, width, channels), "
            f"received: image.shape={x.shape}"
        )
    pixels = x if x.ndim == 3 else x[:, :, None]
    channels = pixels.shape[2]
    weights = _kernel_4d(k, channels)
    filters = weights.shape[3]
    b = _bias(bias, filters, k.ndim == 4)
    act = check_activation(activation, allow_softmax=False)
    strides = positive_pair("stride", stride)
    pad = check_padding(padding)
    check_count("max_terms", max_terms, minimum=1)
    kh, kw = weights.shape[:2]
    if pad == "valid":
        check_fits("kernel", "kernel_size", (kh, kw), x.shape[:2])
    rows = plan_axis(x.shape[0], kh, strides[0], pad)
    cols = plan_axis(x.shape[1], kw, strides[1], pad)

    windows = windowed(pixels, rows, cols, 0.0)  # (out_h, out_w, C, kh, kw)
    z = np.einsum("ijcab,abcf->ijf", windows, weights) + b
    scale = np.einsum("ijcab,abcf->ijf", np.abs(windows), np.abs(weights)) + np.abs(b)
    out = apply(act, z)

    printer = StepPrinter(verbose, file, max_steps)
    stride_text = str(strides[0]) if strides[0] == strides[1] else str(strides)
    printer.line(
        f"conv2d: image {shape_text(x.shape)}, kernel {shape_text(k.shape)}, "
        f"stride {stride_text}, padding '{pad}'"
    )
    if rows.before + rows.after + cols.before + cols.after:
        printer.line(f"zero padding: {padding_text(rows, cols)}")
    shown_shape = z.shape if k.ndim == 4 else z.shape[:2]
    index = "i, j, f" if k.ndim == 4 else "i, j"
    tail = (" + bias" if bias is not None else "") + (f", then {act}" if act else "")
    printer.line(
        f"output {shape_text(shown_shape)}: out[{index}] = sum(window * kernel){tail}; "
        "the kernel is not flipped (cross-correlation, as in Keras)"
    )
    for i, j, f in itertools.islice(np.ndindex(z.shape), printer.limit(z.size)):
        index = f"{i}, {j}, {f}" if k.ndim == 4 else f"{i}, {j}"
        printer.line(f"out[{index}] {_where(rows, cols, i, j)}:")
        total = tidy(z[i, j, f], scale[i, j, f])
        lines = _sum_lines(windows[i, j], weights[..., f], b[f], bias is not None, total, max_terms)
        for text in lines:
            printer.line(text)
        if act:
            printer.line(unit_line(act, total, out[i, j, f]))
    printer.finish(z.size, "output")
    return out if k.ndim == 4 else out[:, :, 0]


def _kernel_4d(k: np.ndarray, channels: int) -> np.ndarray:
    """The kernel as (kh, kw, C, filters), checked against the image's channels."""
    if k.ndim not in (2, 3, 4) or 0 in k.shape:
        raise ValueError(
            "Expected a kernel of shape (kh, kw), (kh, kw, channels) or "
            f"(kh, kw, channels, filters), received: kernel.shape={k.shape}"
        )
    k4 = k.reshape(*k.shape[:2], 1, 1) if k.ndim == 2 else k if k.ndim == 4 else k[..., None]
    if k4.shape[2] != channels:
        raise ValueError(
            f"Expected a kernel with {channels} input channel{'s' * (channels != 1)} to match "
            f"the image, (kh, kw, {channels}) or (kh, kw, {channels}, filters), "
            f"received: kernel.shape={k.shape}"
        )
    return k4


def _bias(bias: Any, filters: int, has_filter_axis: bool) -> np.ndarray:
    """One bias per filter (zeros when None); a lone filter also takes a plain number."""
    if bias is None:
        return np.zeros(filters)
    b = as_array("bias", bias)
    if b.shape == (filters,) or (b.ndim == 0 and not has_filter_axis):
        return b.reshape(filters)
    raise ValueError(
        f"Expected a bias of shape ({filters},), one per filter, received: bias.shape={b.shape}"
    )


def _where(rows: AxisPlan, cols: AxisPlan, i: int, j: int) -> str:
    """`(rows -1..1, cols -1..1)`: the window's place; indices outside the image are padding."""
    r0, r1 = span(rows, i)
    c0, c1 = span(cols, j)
    return f"(rows {r0}..{r1}, cols {c0}..{c1})"


def _sum_lines(
    window: np.ndarray,
    kernel: np.ndarray,
    bias: float,
    show_bias: bool,
    total: float,
    max_terms: int | None,
) -> list[str]:
    """One line for one channel (`0*0 + ... + 99*0 = 320`); per channel, then their sum."""
    channels = window.shape[0]
    bias_term = [number(bias)] if show_bias else []

    def terms(c: int) -> list[str]:
        return [product(v, w) for v, w in zip(window[c].ravel(), kernel[:, :, c].ravel())]

    if channels == 1:
        return [f"{join_terms(terms(0) + bias_term, max_terms)} = {number(total)}"]
    lines = []
    partials = []
    for c in range(channels):
        values, weights = window[c].ravel(), kernel[:, :, c].ravel()
        part = tidy(float(values @ weights), float(np.abs(values) @ np.abs(weights)))
        partials.append(number(part))
        lines.append(f"  channel {c}: {join_terms(terms(c), max_terms)} = {number(part)}")
    lines.append(f"  sum: {join_terms(partials + bias_term, max_terms)} = {number(total)}")
    return lines
