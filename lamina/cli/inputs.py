"""The data commands feed a model: image files for `predict`, a dataset's test split
for `evaluate` and `report`, and class-name files.

Image files are read by `lamina.preprocessing.image_files.read_image` (shared with
`lamina serve`): converted to the model's channels (grayscale, RGB or RGBA), resized to
its input size with bilinear interpolation when it has a fixed one, then scaled: 'unit'
divides by 255 (pixels in [0, 1], as the examples train), 'signed' maps to [-1, 1],
'raw' keeps 0..255 (for models that rescale inside).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

import numpy as np

from lamina.cli.errors import USAGE, CliError
from lamina.preprocessing.image_files import SCALES, ImageLayout, Scale, read_image, scale_pixels

__all__ = [
    "DATASETS",
    "SCALES",
    "Dataset",
    "Scale",
    "fit_dataset",
    "load_test_split",
    "one_hot",
    "read_class_names",
    "read_image",
]

Dataset = Literal["mnist", "fashion_mnist"]
DATASETS: tuple[str, ...] = get_args(Dataset)


def read_class_names(path: str | Path | None, classes: int) -> list[str] | None:
    """One name per line (blank lines skipped); as many names as the model has classes."""
    if path is None:
        return None
    names = [line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines()]
    names = [name for name in names if name]
    if len(names) != classes:
        raise CliError(
            f"Expected {classes} class names (one per line, as many as the model's classes), "
            f"received: {len(names)} in {str(path)!r}"
        )
    return names


def load_test_split(
    dataset: str, limit: int | None = None
) -> tuple[np.ndarray, np.ndarray, list[str] | None]:
    """(x uint8 (n, 28, 28), y class indices, class names or None) of a dataset's test set
    (its first `limit` images when given)."""
    x, y, names = _test_split(dataset)
    return (x, y, names) if limit is None else (x[:limit], y[:limit], names)


def _test_split(dataset: str) -> tuple[np.ndarray, np.ndarray, list[str] | None]:
    if dataset == "mnist":
        from lamina.datasets import mnist

        _, (x, y) = mnist.load_data()
        return x, y, None
    if dataset == "fashion_mnist":
        from lamina.datasets import fashion_mnist

        _, (x, y) = fashion_mnist.load_data()
        return x, y, list(fashion_mnist.CLASS_NAMES)
    raise CliError(
        f"Expected a dataset in {', '.join(DATASETS)}, received: data={dataset!r}", USAGE
    )


def fit_dataset(x: np.ndarray, layout: ImageLayout, dataset: str) -> np.ndarray:
    """28x28 grayscale uint8 images -> the model's input batch, pixels / 255; grayscale is
    repeated for an RGB model. Other sizes are refused rather than silently resized."""
    height, width = x.shape[1:3]
    if (layout.height or height, layout.width or width) != (height, width) or layout.channels == 4:
        raise CliError(
            f"Expected a model that reads {height}x{width} images with 1 or 3 channels "
            f"for --data {dataset}, received: input_shape=(None, "
            f"{', '.join(str(d) for d in layout.sample_shape)})"
        )
    images = scale_pixels(x[..., None], "unit")
    if layout.channels == 3:
        images = np.repeat(images, 3, axis=-1)
    return layout.arrange(images)


def one_hot(y: np.ndarray, classes: int) -> np.ndarray:
    """Class indices -> float32 one-hot rows of width `classes`."""
    if int(y.max()) >= classes:
        raise CliError(
            f"Expected a model with at least {int(y.max()) + 1} classes for this dataset, "
            f"received: {classes} outputs"
        )
    return np.eye(classes, dtype=np.float32)[y]
