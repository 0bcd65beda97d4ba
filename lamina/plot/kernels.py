"""A convolution's kernels as images: what each filter of a layer looks for.

    lamina.plot.filters(model, "conv2d", path="filters.png")

One small image per output filter (the first `max_filters`). A Conv2D kernel is
(kh, kw, in, out) as in Keras; filter `f` is `kernel[..., f]`:
- 1 input channel: a grayscale kh x kw image;
- 3 input channels: an RGB image (an RGB input's first layer);
- any other number: the mean over the input channels, in grayscale.
Each image is scaled to [0, 1] on its own (its smallest weight black, its largest white),
so a filter's pattern shows whatever its magnitude. A Conv1D kernel (k, in, out) shows as
an in x k image per filter (rows: input channels, columns: taps).

`figure.lamina_data`: "kernels" (filters shown, kh, kw, in) with the raw weights (a
Conv1D's as (filters, 1, k, in)), "images" (the scaled arrays drawn), "layer" (its name).
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from lamina.layers.convolutional import Conv1D, Conv2D
from lamina.plot.figure import finish, pyplot
from lamina.plot.layer_probe import resolve_layer


def filters(model: Any, layer: Any, path: str | os.PathLike | None = None, max_filters: int = 64):
    """Draw the kernels of convolution `layer` (name, index or Layer) of `model`, one
    image per output filter; save a PNG to `path` if given. Returns the Figure."""
    conv = resolve_layer(model, layer)
    kernels = layer_kernels(conv)
    if not isinstance(max_filters, int) or max_filters < 1:
        raise ValueError(f"Expected max_filters >= 1, received: max_filters={max_filters!r}")
    shown = kernels[:max_filters]
    one_d = isinstance(conv, Conv1D)
    images = np.stack([_filter_image(k, one_d) for k in shown])

    plt = pyplot()
    n = len(shown)
    cols = min(n, max(8, math.ceil(math.sqrt(n))))  # rows of 8 up to 64
    rows = math.ceil(n / cols)
    cell = 0.8
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(max(cols * cell, 3.2), rows * cell + 0.6),
        squeeze=False,
        layout="constrained",
    )
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i >= n:
            continue
        gray = images[i].ndim == 2
        ax.imshow(
            images[i],
            cmap="gray" if gray else None,
            vmin=0.0,
            vmax=1.0,
            interpolation="nearest",
            aspect="auto" if one_d else "equal",
        )
        ax.set_title(str(i), fontsize=7, pad=2)
    _, kh, kw, channels = kernels.shape
    size = f"{kw} taps x {channels} channels" if one_d else f"{kh}x{kw}x{channels}"
    fig.suptitle(
        f"{conv.name} ({type(conv).__name__}): {n} of {len(kernels)} filters, {size}",
        fontsize=9,
    )
    fig.get_layout_engine().set(w_pad=0.02, h_pad=0.02, wspace=0.02, hspace=0.02)
    data = {"kernels": shown, "images": images, "layer": conv.name}
    return finish(fig, path, data, dpi=80)


def layer_kernels(layer: Any) -> np.ndarray:
    """A Conv2D's kernel as (filters, kh, kw, in), a Conv1D's as (filters, 1, k, in)."""
    if not isinstance(layer, (Conv2D, Conv1D)):
        raise ValueError(
            "Expected a Conv2D or Conv1D layer to draw its kernels, received: "
            f"layer={layer.name!r} ({type(layer).__name__})"
        )
    if not layer.built:
        raise ValueError(
            f"Expected a built layer (call the model once or give it an input shape), "
            f"received: layer={layer.name!r} with no weights yet"
        )
    kernel = layer.get_weights()[0]  # Keras's layout: (*kernel_size, in, out)
    if isinstance(layer, Conv1D):
        kernel = kernel[None]
    return np.ascontiguousarray(np.moveaxis(kernel, -1, 0))


def _filter_image(kernel: np.ndarray, one_d: bool) -> np.ndarray:
    """One filter (kh, kw, in) as the image drawn, scaled to [0, 1]."""
    if one_d:
        image = kernel[0].T  # (in, k): a row per input channel
    elif kernel.shape[-1] == 3:
        image = kernel
    else:
        image = kernel.mean(axis=-1)
    return _unit(image)


def _unit(a: np.ndarray) -> np.ndarray:
    low, high = float(a.min()), float(a.max())
    if high == low:
        return np.full(a.shape, 0.5)
    return (a.astype(np.float64) - low) / (high - low)
