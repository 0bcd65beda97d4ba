"""Where a CNN looked: vanilla gradient saliency and Grad-CAM for one image.

    lamina.plot.saliency(model, x_test[0], path="saliency.png")
    lamina.plot.grad_cam(model, x_test[0], path="grad_cam.png")

Both explain one class's score. The score is the class's logit (the input of the output
layer's softmax or sigmoid) when the model is a Sequential or functional model whose one
output layer ends in softmax or sigmoid: probabilities saturate, so their gradients vanish
on confident predictions. For any other model it is the output itself.
`lamina_data["score"]` says which ("logit" or "output"). `class_index` defaults to the
predicted class (the largest output).

- saliency (Simonyan et al. 2014): |d score / d input| at each pixel, the largest over
  the color channels: the pixels whose change would move the score most.
- Grad-CAM (Selvaraju et al. 2017): for a convolutional layer's output A (h, w, K), each
  channel's weight is the spatial mean of d score / d A; the heatmap is the ReLU of the
  weighted sum over channels, divided by its maximum (so in [0, 1]), upsampled
  bilinearly to the image and laid over it. The default layer is the last one (of
  `model.layers`, in call order) with a 4-D output that is not just its input passed on
  (Dropout at inference): the last feature map before the classifier head.

The model runs in inference mode (`training=False`); its weights, gradients and
torch `training` flag are unchanged afterwards.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from lamina.plot.figure import finish, pyplot
from lamina.plot.layer_probe import (
    display_image,
    forward,
    logits,
    one_input,
    recording,
    resolve_layer,
)


def saliency(
    model: Any, image: Any, class_index: int | None = None, path: str | os.PathLike | None = None
):
    """Draw the gradient saliency of `class_index`'s score for `image` (one NHWC image,
    with or without its batch axis); save a PNG to `path` if given. Returns the Figure."""
    x = _image_input(model, image)
    x.requires_grad_(True)
    with logits(model, True) as score_kind:
        out = forward(model, x)
    cls, predicted = _class(model, out, class_index)
    (grad,) = torch.autograd.grad(out[0, cls], x)
    sal = grad[0].abs().amax(dim=-1).cpu().numpy()

    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(4.4, 2.5), layout="constrained")
    _show_input(axes[0], x)
    axes[1].imshow(sal, cmap="hot", interpolation="nearest")
    axes[1].set_title(f"|d {score_kind} / d pixel|", fontsize=8)
    axes[1].set_axis_off()
    fig.suptitle(f"Saliency: {score_kind} of class {cls} (predicted {predicted})", fontsize=9)
    fig.get_layout_engine().set(w_pad=0.02, h_pad=0.02)
    data = {"saliency": sal, "class_index": cls, "predicted": predicted, "score": score_kind}
    return finish(fig, path, data, dpi=80)


def grad_cam(
    model: Any,
    image: Any,
    layer: Any = None,
    class_index: int | None = None,
    path: str | os.PathLike | None = None,
):
    """Draw the Grad-CAM heatmap of `class_index` at `layer` (name, index or Layer; by
    default the last 4-D feature map) for `image`, over the image; save a PNG to `path`
    if given. Returns the Figure."""
    x = _image_input(model, image)
    watched = model.layers if layer is None else [resolve_layer(model, layer)]
    with recording(watched) as calls, logits(model, True) as score_kind:
        out = forward(model, x)
    target, features = _feature_map(model, layer, calls)
    cls, predicted = _class(model, out, class_index)
    (grad,) = torch.autograd.grad(out[0, cls], features, allow_unused=True)
    if grad is None:
        raise ValueError(f"Expected a layer the output depends on, received: layer={target.name!r}")
    heatmap = cam(features[0].detach(), grad[0])
    size = tuple(x.shape[1:3])
    upsampled = F.interpolate(heatmap[None, None], size=size, mode="bilinear")[0, 0]
    heatmap, upsampled = heatmap.cpu().numpy(), upsampled.cpu().numpy()

    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(6.3, 2.5), layout="constrained")
    _show_input(axes[0], x)
    axes[1].imshow(heatmap, cmap="jet", vmin=0.0, vmax=1.0, interpolation="nearest")
    axes[1].set_title(f"{target.name} {heatmap.shape[0]}x{heatmap.shape[1]}", fontsize=8)
    _show_input(axes[2], x, title="overlay")
    axes[2].imshow(upsampled, cmap="jet", alpha=0.45, vmin=0.0, vmax=1.0)
    for ax in axes:
        ax.set_axis_off()
    fig.suptitle(f"Grad-CAM: {score_kind} of class {cls} (predicted {predicted})", fontsize=9)
    fig.get_layout_engine().set(w_pad=0.02, h_pad=0.02)
    data = {
        "heatmap": heatmap,
        "upsampled": upsampled,
        "class_index": cls,
        "predicted": predicted,
        "layer": target.name,
        "score": score_kind,
    }
    return finish(fig, path, data, dpi=80)


def cam(features: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """Grad-CAM of one feature map (h, w, K) and its gradient: ReLU(sum_k mean(grad_k) A_k),
    scaled to a maximum of 1 (all zeros when nothing is positive)."""
    weights = grad.mean(dim=(0, 1))
    heat = torch.relu((features * weights).sum(dim=-1))
    top = heat.max()
    return heat / top if top > 0 else torch.zeros_like(heat)


def _image_input(model: Any, image: Any) -> torch.Tensor:
    x = one_input(model, image)
    if x.dim() != 4:
        raise ValueError(
            "Expected an image input (height, width, channels), received: "
            f"shape={tuple(x.shape[1:])} for model '{model.name}'"
        )
    return x


def _feature_map(model: Any, layer: Any, calls: list) -> tuple[Any, torch.Tensor]:
    """The watched layer and its 4-D output: the one asked for, or the last 4-D output
    that is not its input passed on."""
    if layer is not None:
        name = resolve_layer(model, layer).name
        if len(calls) != 1:
            raise ValueError(
                f"Expected layer {name!r} to run once in a call of model '{model.name}', "
                f"received: {len(calls)} calls"
            )
        target, _, out = calls[0]
        if not isinstance(out, torch.Tensor) or out.dim() != 4:
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ValueError(
                "Expected a layer with a 4-D output (batch, height, width, channels) for "
                f"Grad-CAM, received: layer={name!r} with output {shape}"
            )
        return target, out
    for target, args, out in reversed(calls):
        if isinstance(out, torch.Tensor) and out.dim() == 4 and not (args and out is args[0]):
            return target, out
    raise ValueError(
        "Expected a model with a convolutional feature map (a layer with a 4-D output) "
        f"for Grad-CAM, received: none among the layers of model '{model.name}'"
    )


def _class(model: Any, out: torch.Tensor, class_index: int | None) -> tuple[int, int]:
    """(the class explained, the predicted class) for the output (1, classes)."""
    if out.dim() != 2 or out.shape[0] != 1:
        raise ValueError(
            "Expected a classifier with output (batch, classes), received: model "
            f"'{model.name}' with output shape {tuple(out.shape)}"
        )
    predicted = int(out[0].argmax())
    if class_index is None:
        return predicted, predicted
    if not isinstance(class_index, (int, np.integer)) or not 0 <= class_index < out.shape[1]:
        raise ValueError(
            f"Expected a class index in [0, {out.shape[1]}), received: class_index={class_index!r}"
        )
    return int(class_index), predicted


def _show_input(ax: Any, x: torch.Tensor, title: str = "input") -> None:
    picture, cmap = display_image(x[0].detach().cpu().numpy())
    ax.imshow(picture, cmap=cmap, interpolation="nearest")
    ax.set_title(title, fontsize=8)
    ax.set_axis_off()
