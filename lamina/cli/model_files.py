"""Loading a model file for a command, and reading what its input and output expect.

The loader is `lamina.saving.load_model` (it sniffs `.lamina`, `.keras` and `.h5` by
their bytes and never runs code from the file). `image_layout` turns a model's
`input_shape` into the image it reads (`lamina.preprocessing.image_files`, which
`lamina serve` shares): height, width, channels, and whether it wants the pixels
flattened.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lamina.cli.errors import USAGE, CliError
from lamina.preprocessing.image_files import ImageLayout, layout_for_shape


def load(path: str | Path) -> Any:
    """The model in `path` (compiled as saved), or a one-line CliError."""
    from lamina.saving import load_model

    path = Path(path)
    if path.is_dir():
        raise CliError(f"Expected a model file, received: path={str(path)!r} (a folder)", USAGE)
    return load_model(path)


def check_output_suffix(path: str | Path) -> None:
    """A CliError (usage) unless `path` names a format `model.save` writes."""
    from lamina.saving.api import MODEL_SUFFIXES

    if Path(path).suffix.lower() not in MODEL_SUFFIXES:
        raise CliError(
            f"Expected an output file ending in {', '.join(MODEL_SUFFIXES)}, "
            f"received: path={str(path)!r}",
            USAGE,
        )


def single(shape: Any, what: str) -> tuple[Any, ...]:
    """`model.input_shape` or `output_shape` without its batch axis; one tensor only."""
    if isinstance(shape, list) or (
        isinstance(shape, tuple) and shape and isinstance(shape[0], (tuple, list))
    ):
        raise CliError(f"Expected a model with one {what}, received: {what}s={len(shape)}")
    if shape is None:
        raise CliError(f"Expected a built model with a known {what} shape, received: None")
    return tuple(shape[1:])


def image_layout(model: Any) -> ImageLayout:
    """How images must be shaped for `model`; a CliError for inputs that are not images."""
    layout = layout_for_shape(single(model.input_shape, "input"))
    if layout is None:
        raise CliError(
            "Expected a model that reads images ((height, width, channels) with 1, 3 or 4 "
            "channels, (height, width), or flattened square pixels), received: "
            f"input_shape={tuple(model.input_shape)}"
        )
    return layout


def class_probabilities(outputs: Any) -> np.ndarray:
    """(n, k) class probabilities from a model's output: softmax rows pass as they are,
    logits go through softmax, one sigmoid unit becomes two classes (0 and 1)."""
    out = np.asarray(outputs, dtype=np.float64)
    if out.ndim != 2:
        raise CliError(
            f"Expected a classifier's output of shape (batch, classes), received: shape={out.shape}"
        )
    if out.shape[1] == 1:
        p = out[:, 0]
        if p.min() < 0 or p.max() > 1:
            p = 1 / (1 + np.exp(-p))
        return np.stack([1 - p, p], axis=1)
    if out.min() < 0 or not np.allclose(out.sum(axis=1), 1, atol=1e-3):
        shifted = np.exp(out - out.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)
    return out


def loss_name(model: Any) -> str:
    """The compiled loss's name ('' when there is none), for choosing the label style."""
    loss = getattr(model, "loss", None)
    if isinstance(loss, (list, tuple, dict)):
        raise CliError(f"Expected a model with one loss, received: losses={len(loss)}")
    if loss is None:
        return ""
    if isinstance(loss, str):
        return loss
    return str(getattr(loss, "name", None) or getattr(loss, "__name__", type(loss).__name__))


def wants_sparse_labels(model: Any, classes: int) -> bool:
    """Class indices when the loss is a sparse one, one-hot rows otherwise (categorical
    losses, and losses such as MSE that compare the output with a whole row)."""
    name = loss_name(model).lower()
    if "sparse" in name:
        return True
    if classes < 2:
        raise CliError(
            f"Expected a classifier with one output per class, received: output_shape="
            f"{tuple(model.output_shape)}"
        )
    return False
