"""The data commands feed a model: image files for `predict`, a dataset's test split
for `evaluate` and `report`, and class-name files.

Images are read with Pillow (`lamina.utils.load_img`): converted to the model's channels
(grayscale, RGB or RGBA), resized to its input size with bilinear interpolation when it
has a fixed one, then scaled: 'unit' divides by 255 (pixels in [0, 1], as the examples
train), 'signed' maps to [-1, 1], 'raw' keeps 0..255 (for models that rescale inside).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

import numpy as np

from lamina.cli.errors import USAGE, CliError
from lamina.cli.model_files import ImageLayout

Scale = Literal["unit", "signed", "raw"]
Dataset = Literal["mnist", "fashion_mnist"]
SCALES: tuple[str, ...] = get_args(Scale)
DATASETS: tuple[str, ...] = get_args(Dataset)
_COLOR_MODES = {1: "grayscale", 3: "rgb", 4: "rgba"}


def scale_pixels(pixels: np.ndarray, scale: str) -> np.ndarray:
    """0..255 pixels -> float32 in the range `scale` names."""
    pixels = pixels.astype(np.float32)
    if scale == "unit":
        return pixels / np.float32(255)
    if scale == "signed":
        return pixels / np.float32(127.5) - np.float32(1)
    if scale == "raw":
        return pixels
    raise CliError(f"Expected a scale in {', '.join(SCALES)}, received: scale={scale!r}", USAGE)


def read_image(path: str | Path, layout: ImageLayout, scale: str, invert: bool) -> np.ndarray:
    """One image file as an (h, w, c) float32 array the model can read."""
    from lamina.utils import img_to_array, load_img

    size = (layout.height, layout.width)
    image = load_img(
        path,
        color_mode=_COLOR_MODES[layout.channels],
        target_size=size if None not in size else None,
        interpolation="bilinear",
    )
    pixels = img_to_array(image, dtype="float32")
    if invert:
        pixels = 255 - pixels
    return scale_pixels(pixels, scale)


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
