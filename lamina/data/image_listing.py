"""List the image files of a directory of class subfolders and pick a validation subset.

Follows Keras: class folders are the sorted, non-hidden subfolders (or the `classes`
given); each is walked recursively (sorted by folder, then by name) and files are kept by
extension. Two split rules: `per_class` (flow_from_directory: the FIRST fraction of each
class is validation) and `shuffled` (image_dataset_from_directory: all files shuffled with
`seed`, the LAST fraction is validation; without shuffling, the last fraction of the
listing). Hidden folders ('.ipynb_checkpoints') are never classes, as in Keras 3.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence

import numpy as np

KERAS_FORMATS = ("png", "jpg", "jpeg", "bmp", "ppm", "tif", "tiff")


@functools.cache
def default_formats() -> tuple[str, ...]:
    """Keras's extensions, plus gif and webp when this Pillow can read them."""
    from PIL import Image

    readable = Image.registered_extensions()
    extra = tuple(ext for ext in ("gif", "webp") if f".{ext}" in readable)
    return KERAS_FORMATS + extra


def class_folders(directory: str, classes: Sequence[str] | None) -> list[str]:
    """Sorted non-hidden subfolders, or `classes` (which must all exist)."""
    found = sorted(
        d
        for d in os.listdir(directory)
        if not d.startswith(".") and os.path.isdir(os.path.join(directory, d))
    )
    if classes is None:
        return found
    classes = [str(c) for c in classes]
    missing = [c for c in classes if not os.path.isdir(os.path.join(directory, c))]
    if missing:
        raise ValueError(
            f"Expected a subfolder for each class in directory={directory!r} "
            f"(found {found}), received: classes={classes} (missing {missing})"
        )
    return classes


def walk_images(top: str, follow_links: bool, formats: Sequence[str]) -> list[str]:
    """Image files under `top` (recursively), as paths relative to `top`, in Keras's order."""
    suffixes = tuple("." + f.lower().lstrip(".") for f in formats)
    out: list[str] = []
    for root, _, files in sorted(os.walk(top, followlinks=follow_links), key=lambda t: t[0]):
        for name in sorted(files):
            if name.lower().endswith(suffixes):
                out.append(os.path.relpath(os.path.join(root, name), top))
    return out


def list_files(
    directory: str,
    classes: Sequence[str] | None,
    follow_links: bool,
    formats: Sequence[str],
    labels_from_folders: bool = True,
) -> tuple[list[str], np.ndarray, list[str]]:
    """(relative paths, int64 labels, class names); without folder labels: one walk, label 0."""
    if not labels_from_folders:
        files = walk_images(directory, follow_links, formats)
        return files, np.zeros(len(files), dtype=np.int64), []
    names = class_folders(directory, classes)
    files, labels = [], []
    for index, name in enumerate(names):
        inside = walk_images(os.path.join(directory, name), follow_links, formats)
        files += [os.path.join(name, f) for f in inside]
        labels += [index] * len(inside)
    return files, np.asarray(labels, dtype=np.int64), names


def split_per_class(labels: np.ndarray, fraction: float, subset: str) -> np.ndarray:
    """flow_from_directory's rule: per class, files [0, int(f*n)) are validation, the rest training."""
    keep = []
    for c in np.unique(labels):
        where = np.flatnonzero(labels == c)
        cut = int(fraction * len(where))
        keep.append(where[:cut] if subset == "validation" else where[cut:])
    return np.sort(np.concatenate(keep)) if keep else np.zeros(0, dtype=np.int64)


def shuffled_order(n: int, seed: int) -> np.ndarray:
    """The permutation Keras's index_directory applies (np.random.RandomState(seed).shuffle)."""
    order = np.arange(n)
    np.random.RandomState(seed).shuffle(order)
    return order


def split_shuffled(n: int, fraction: float, subset: str, seed: int | None) -> np.ndarray:
    """image_dataset_from_directory's rule: shuffle with `seed` (None: keep the listing order),
    the LAST int(f*n) are validation. Returned in that order (Keras's `file_paths` order)."""
    order = np.arange(n) if seed is None else shuffled_order(n, seed)
    n_val = int(fraction * n)
    return order[n - n_val :] if subset == "validation" else order[: n - n_val]
