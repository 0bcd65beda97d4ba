"""A layer's activations for one input: one panel per channel (feature map).

    lamina.plot.feature_maps(model, "conv2d", x_test[0], path="maps.png")

The layer's output is recorded by a forward hook during one inference call of the whole
model (`training=False`: dropout off, BatchNormalization on its moving statistics), so
Sequential, functional and subclassed models work alike, and the model is left as it was.
A 4-D output (1, H, W, C) draws the input image, then one H x W image per channel (the
first `max_maps`), each on its own color scale (viridis, dark = low); a 3-D output
(1, steps, C) draws one curve per channel.

`figure.lamina_data`: "maps" (H, W, C) (or (steps, C)), all channels, for the one input;
"layer" (its name).
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import torch

from lamina.plot.figure import finish, pyplot
from lamina.plot.layer_probe import display_image, forward, one_input, recording, resolve_layer


def feature_maps(
    model: Any, layer: Any, image: Any, path: str | os.PathLike | None = None, max_maps: int = 32
):
    """Draw what `layer` (name, index or Layer) of `model` outputs for `image` (one sample,
    with or without its batch axis); save a PNG to `path` if given. Returns the Figure."""
    if not isinstance(max_maps, int) or max_maps < 1:
        raise ValueError(f"Expected max_maps >= 1, received: max_maps={max_maps!r}")
    target = resolve_layer(model, layer)
    x = one_input(model, image)
    maps = layer_output(model, target, x)
    if maps.ndim not in (2, 3):
        raise ValueError(
            "Expected a layer with feature maps (output (batch, H, W, channels) or "
            f"(batch, steps, channels)), received: layer={target.name!r} with output shape "
            f"{(1, *maps.shape)}"
        )
    plt = pyplot()
    shown = min(maps.shape[-1], max_maps)
    if maps.ndim == 3:
        fig = _image_grid(plt, x[0].detach().cpu().numpy(), maps, shown)
    else:
        fig = _curves(plt, maps, shown)
    fig.suptitle(
        f"{target.name} ({type(target).__name__}): {shown} of {maps.shape[-1]} feature maps, "
        f"{'x'.join(str(d) for d in maps.shape[:-1])}",
        fontsize=9,
    )
    fig.get_layout_engine().set(w_pad=0.02, h_pad=0.02, wspace=0.02, hspace=0.02)
    return finish(fig, path, {"maps": maps, "layer": target.name}, dpi=80)


def layer_output(model: Any, layer: Any, x: torch.Tensor) -> np.ndarray:
    """`layer`'s output for the batch of one `x`, without its batch axis, as NumPy."""
    with recording([layer]) as calls:
        forward(model, x)
    if len(calls) != 1:
        raise ValueError(
            f"Expected layer {layer.name!r} to run once in a call of model '{model.name}', "
            f"received: {len(calls)} calls" + (" (a shared layer)" if calls else "")
        )
    out = calls[0][2]
    if not isinstance(out, torch.Tensor):
        raise ValueError(
            f"Expected layer {layer.name!r} to output one tensor, received: {type(out).__name__}"
        )
    return out.detach()[0].cpu().numpy()


def _image_grid(plt: Any, image: np.ndarray, maps: np.ndarray, shown: int) -> Any:
    """The input, then each channel's H x W map."""
    panels = shown + 1
    cols = min(panels, max(8, math.ceil(math.sqrt(panels))))
    rows = math.ceil(panels / cols)
    cell = 1.0
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(max(cols * cell, 3.2), rows * cell + 0.6),
        squeeze=False,
        layout="constrained",
    )
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i == 0 and image.ndim == 3:
            picture, cmap = display_image(image)
            ax.imshow(picture, cmap=cmap, interpolation="nearest")
            ax.set_title("input", fontsize=7, pad=2)
        elif 0 < i <= shown:
            ax.imshow(maps[..., i - 1], cmap="viridis", interpolation="nearest")
            ax.set_title(str(i - 1), fontsize=7, pad=2)
    return fig


def _curves(plt: Any, maps: np.ndarray, shown: int) -> Any:
    """One small panel per channel of a (steps, channels) output."""
    cols = min(shown, max(6, math.ceil(math.sqrt(shown))))
    rows = math.ceil(shown / cols)
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(max(cols * 1.4, 3.2), rows * 1.0 + 0.6),
        squeeze=False,
        layout="constrained",
    )
    for i, ax in enumerate(axes.flat):
        if i >= shown:
            ax.set_axis_off()
            continue
        ax.plot(maps[:, i], linewidth=1)
        ax.set_title(str(i), fontsize=7, pad=2)
        ax.tick_params(labelsize=5, length=2)
    return fig
