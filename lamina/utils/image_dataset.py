"""`image_dataset_from_directory`, as `keras.utils.image_dataset_from_directory`.

    train, val = image_dataset_from_directory("photos", image_size=(64, 64), seed=1,
                                              validation_split=0.2, subset="both")
    model.fit(train, validation_data=val, epochs=5)

The result is an iterable with `len()` (batches per epoch), `class_names` and
`file_paths`; each pass yields `(images, labels)` torch batches (float32 NHWC in [0, 255])
in a freshly shuffled order. Decoding is done by Pillow in DataLoader workers (see
`lamina.data.image_folder`), so resizing filters differ slightly from tf.image.resize
(Pillow antialiases when shrinking); images smaller than `image_size` are upscaled.
Unlike Keras, files that cannot be decoded are skipped by default (`on_bad_file='skip'`;
'raise' raises an error naming the file): `file_paths` and `len()` always describe exactly
the samples yielded, in order, and `bad_files` lists the files left out, each also named
once in a warning. Files whose header does not read are left out when the dataset is made;
one that fails the full decode (a truncated JPEG) when a pass first meets it (that batch is
one image short), so once the pass is over `file_paths` lines up with what was yielded (see
`lamina/data/image_bad_files.py`). `cache=True` keeps decoded images in a disk memmap;
`workers` sets the decoder processes (None: the cores but one, 0: decode in-process).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from lamina.data.image_folder import ImageFolder
from lamina.utils.label_arguments import check_label_arguments

_INTERPOLATIONS = (
    "bilinear",
    "nearest",
    "bicubic",
    "area",
    "lanczos3",
    "lanczos5",
    "gaussian",
    "mitchellcubic",
)


class ImageDataset:
    """Batches of one subset of an image folder: `for images, labels in dataset: ...`."""

    def __init__(
        self,
        folder: ImageFolder,
        positions: np.ndarray,
        labels: np.ndarray | None,
        label_mode: str | None,
        class_names: list[str] | None,
        batch_size: int | None,
        shuffle: bool,
        seed: int,
    ) -> None:
        self.folder = folder
        self._positions = positions  # rows of `folder`, in file_paths order
        self._labels = labels  # per row of `folder`
        self.label_mode = label_mode
        self.class_names = class_names
        self.batch_size = batch_size
        self.shuffle = shuffle
        self._rng = np.random.default_rng(seed)
        self._paths_seen: tuple[int, list[str]] | None = None

    def _live(self) -> np.ndarray:
        """The readable rows, in file_paths order."""
        return self._positions[self.folder.alive[self._positions]]

    @property
    def file_paths(self) -> list[str]:
        """The paths of the samples yielded, in order (as Keras's dataset.file_paths)."""
        bad = len(self.folder.bad_rows)
        if self._paths_seen is None or self._paths_seen[0] != bad:
            self._paths_seen = (bad, [self.folder.paths[r] for r in self._live()])
        return list(self._paths_seen[1])

    @property
    def bad_files(self) -> list[str]:
        """The paths left out as unreadable, in the order found."""
        return [self.folder.paths[r] for r in self.folder.bad_rows]

    def __len__(self) -> int:
        return math.ceil(len(self._live()) / (self.batch_size or 1))

    def _labels_tensor(self, kept: np.ndarray) -> torch.Tensor:
        assert self._labels is not None
        labels = torch.from_numpy(self._labels[kept])
        if self.label_mode == "int":
            return labels.to(torch.int32)
        if self.label_mode == "binary":
            return labels.to(torch.float32).reshape(-1, 1)
        num_classes = len(self.class_names or ())
        return torch.nn.functional.one_hot(labels.long(), num_classes).to(torch.float32)

    def __iter__(self) -> Iterator[Any]:
        order = self._live()
        if self.shuffle:
            order = order[self._rng.permutation(len(order))]
        for kept, images in self.folder.batches(order, self.batch_size or 1):
            if not len(kept):  # every file of this batch failed to decode (warned)
                continue
            x = images.to(torch.float32)
            if self.batch_size is None:  # unbatched: one sample at a time
                for j in range(len(kept)):
                    yield x[j] if self._labels is None else (x[j], self._labels_tensor(kept)[j])
                continue
            yield x if self._labels is None else (x, self._labels_tensor(kept))


def _check(labels, label_mode, class_names, color_mode, image_size, interpolation) -> tuple:
    check_label_arguments(labels, label_mode, class_names, "image file")
    if color_mode not in ("rgb", "rgba", "grayscale"):
        raise ValueError(
            f"Expected color_mode in ('rgb', 'rgba', 'grayscale'), received: color_mode={color_mode!r}"
        )
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    if not isinstance(image_size, (list, tuple)) or len(image_size) != 2:
        raise ValueError(
            f"Expected image_size=(height, width), received: image_size={image_size!r}"
        )
    if interpolation.lower() not in _INTERPOLATIONS:
        raise ValueError(
            f"Expected interpolation in {_INTERPOLATIONS}, received: interpolation={interpolation!r}"
        )
    # Pillow has no gaussian filter: the closest smooth one
    pil = {"gaussian": "bicubic"}.get(interpolation.lower(), interpolation.lower())
    return (int(image_size[0]), int(image_size[1])), pil


def _check_split(validation_split, subset, shuffle, seed) -> None:
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(
            f"Expected 0 < validation_split < 1, received: validation_split={validation_split}"
        )
    if bool(validation_split) != bool(subset):
        raise ValueError(
            "Expected validation_split and subset to be set together, received: "
            f"validation_split={validation_split}, subset={subset!r}"
        )
    if subset not in ("training", "validation", "both", None):
        raise ValueError(
            "Expected subset in ('training', 'validation', 'both', None), "
            f"received: subset={subset!r}"
        )
    if validation_split and shuffle and seed is None:
        raise ValueError(
            "Expected a seed when using validation_split with shuffle=True (so the training and "
            "validation subsets do not overlap), received: seed=None"
        )


def image_dataset_from_directory(
    directory: str | os.PathLike,
    labels: str | Sequence[int] | None = "inferred",
    label_mode: str | None = "int",
    class_names: Sequence[str] | None = None,
    color_mode: str = "rgb",
    batch_size: int | None = 32,
    image_size: tuple[int, int] | int = (256, 256),
    shuffle: bool = True,
    seed: int | None = None,
    validation_split: float | None = None,
    subset: str | None = None,
    interpolation: str = "bilinear",
    follow_links: bool = False,
    crop_to_aspect_ratio: bool = False,
    pad_to_aspect_ratio: bool = False,
    data_format: str | None = None,
    format: str = "tf",
    verbose: bool = True,
    cache: bool | str | os.PathLike = False,
    workers: int | None = None,
    on_bad_file: str = "skip",
) -> ImageDataset | list[ImageDataset]:
    """Batches of (images, labels) from `directory/<class>/<image files>` (Keras semantics).

    labels: 'inferred' (class = subfolder, sorted or `class_names`), None (images only) or
    one integer per file in sorted path order. label_mode: 'int' (int32), 'categorical'
    (one-hot float32), 'binary' (float32 (n, 1), exactly 2 classes) or None. With
    validation_split, files are shuffled with `seed` and the last fraction is validation;
    subset='both' returns [training, validation] (validation is not shuffled).
    Lamina's own arguments: `cache`, `workers` and `on_bad_file` (see the module docstring).
    `format` ('tf' or 'grain', Keras's choice of pipeline) is checked; Lamina has one.
    """
    if format not in ("tf", "grain"):
        raise ValueError(f"Expected format 'tf' or 'grain', received: format={format!r}")
    if data_format not in (None, "channels_last"):
        raise ValueError(
            f"Expected data_format='channels_last' (Lamina is NHWC), received: data_format={data_format!r}"
        )
    size, interp = _check(labels, label_mode, class_names, color_mode, image_size, interpolation)
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError(
            "Expected at most one of crop_to_aspect_ratio and pad_to_aspect_ratio, received: both True"
        )
    _check_split(validation_split, subset, shuffle, seed)
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 0
    ):
        raise ValueError(
            f"image_dataset_from_directory: Expected workers None or an int >= 0, "
            f"received: workers={workers!r}"
        )
    if batch_size is not None and int(batch_size) < 1:
        raise ValueError(f"Expected batch_size >= 1 or None, received: batch_size={batch_size}")
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    seed = int(np.random.randint(1e6)) if seed is None else int(seed)
    fit = "crop" if crop_to_aspect_ratio else "pad" if pad_to_aspect_ratio else "stretch"

    def folder(part: str | None, warn_empty_classes: bool = True) -> ImageFolder:
        return ImageFolder(
            directory,
            target_size=size,
            color_mode=color_mode,
            classes=class_names if labels == "inferred" else None,
            follow_links=follow_links,
            interpolation=interp,
            keep_aspect_ratio=fit,
            validation_split=validation_split or 0.0,
            subset=part,
            split="shuffled" if shuffle else "tail",
            seed=seed,
            cache=cache,
            labels_from_folders=labels == "inferred",
            num_workers=workers,
            on_bad_file=on_bad_file,
            warn_empty_classes=warn_empty_classes,
        )

    parts = ["training", "validation"] if subset == "both" else [subset]
    folders = [folder(parts[0])]
    if len(parts) == 2:  # the listing's warnings were given once already
        folders.append(folder(parts[1], warn_empty_classes=False))
    first = folders[0]
    names, explicit = _class_names(first, labels, label_mode)
    if verbose:
        found = f"Found {first.total_files} files"
        print(found + "." if labels is None else f"{found} belonging to {len(names)} classes.")
        for f, p in zip(folders, parts):
            if p is not None:
                print(f"Using {f.readable} files for {p}.")
    out = []
    for f, p in zip(folders, parts):
        per_row = None
        if labels is not None:
            per_row = f.classes if explicit is None else explicit[f.listing_index]
        positions = f.shuffled_order
        out.append(
            ImageDataset(
                f, positions, per_row, label_mode, names, batch_size,
                shuffle and p != "validation", seed,
            )
        )  # fmt: skip
    return out if subset == "both" else out[0]


def _class_names(
    folder: ImageFolder, labels, label_mode
) -> tuple[list[str] | None, np.ndarray | None]:
    """(class_names, per-file labels of the whole listing when labels were given explicitly)."""
    if labels is None:
        return None, None
    if labels == "inferred":
        names, explicit = list(folder.class_indices), None
    else:
        explicit = np.asarray(labels, dtype=np.int64)
        if len(explicit) != folder.total_files:
            raise ValueError(
                "Expected one label per image file in sorted path order, received: "
                f"len(labels)={len(explicit)} for {folder.total_files} files in "
                f"directory={folder.directory!r}"
            )
        names = [str(v) for v in sorted(set(explicit.tolist()))]
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(
            f"Expected exactly 2 classes with label_mode='binary', received: class_names={names}"
        )
    return names, explicit
