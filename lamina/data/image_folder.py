"""`ImageFolder`: the image files of a directory of class subfolders, decoded to uint8 NHWC.

The shared back end of `flow_from_directory`, `flow_from_dataframe` (an explicit file
list) and `image_dataset_from_directory`:

    folder = ImageFolder("photos", target_size=(64, 64), validation_split=0.2,
                         subset="training", cache=True)
    for kept, images in folder.batches(np.random.permutation(folder.samples), 32):
        labels = folder.classes[kept]          # uint8 (n, 64, 64, 3) images, aligned labels

Rows are the files listed (`filenames`, `paths`, `classes`, `samples` keep them all);
`alive` says which rows can still be yielded. Files that cannot be read are handled as
`lamina.data.image_bad_files` describes: headers are probed when the folder is made (or
the complete cache's list of failures is used), and a file that fails the full decode
later is dropped when it does; either way its row leaves `alive`, joins `bad_rows`, and is
named once in a warning (or raises, with on_bad_file='raise'). Batches hold only alive
rows, and `kept` says which. Decoding runs in DataLoader workers, or rows come from the
memmap cache once a first pass has filled it.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Sequence

import numpy as np
import torch

from lamina.data.image_bad_files import Failure, check_on_bad_file, probe_files, report
from lamina.data.image_cache import ImageCache, cache_key, default_cache_dir
from lamina.data.image_decode import channels, pil_interpolation
from lamina.data.image_listing import (
    default_formats,
    list_files,
    split_per_class,
    split_shuffled,
)
from lamina.data.image_loader import ChunkLoader, DecodeSettings, decode_chunk, default_num_workers


class ImageFolder:
    """The image files of a directory of class subfolders, decoded to uint8 NHWC at one size."""

    def __init__(
        self,
        directory: str | os.PathLike | None,
        *,
        target_size: tuple[int, int] = (256, 256),
        color_mode: str = "rgb",
        classes: Sequence[str] | None = None,
        follow_links: bool = False,
        interpolation: str = "nearest",
        keep_aspect_ratio: bool | str = False,
        validation_split: float = 0.0,
        subset: str | None = None,
        split: str = "per_class",
        seed: int | None = None,
        cache: bool | str | os.PathLike = False,
        num_workers: int | None = None,
        formats: Sequence[str] | None = None,
        labels_from_folders: bool = True,
        files: Sequence[str] | None = None,
        on_bad_file: str = "skip",
        warn_empty_classes: bool = True,
    ) -> None:
        self.on_bad_file = check_on_bad_file(on_bad_file)
        # `files`: an explicit list (flow_from_dataframe), relative to `directory`, or
        # as given (absolute, or relative to the working directory) when it is None
        self.directory = "" if directory is None and files is not None else os.fspath(directory)
        if (directory is not None or files is None) and not os.path.isdir(self.directory):
            raise ValueError(
                f"Expected an existing directory of images, received: directory="
                f"{self.directory!r} ({'a file' if os.path.exists(self.directory) else 'no such directory'})"
            )
        _check_args(target_size, color_mode, interpolation, validation_split, subset, split)
        # True/False as Keras; also 'crop' | 'pad' | 'stretch' (image_dataset_from_directory)
        if isinstance(keep_aspect_ratio, str):
            fit = keep_aspect_ratio
            if fit not in ("crop", "pad", "stretch"):
                raise ValueError(
                    "Expected keep_aspect_ratio True, False, 'crop', 'pad' or 'stretch', "
                    f"received: keep_aspect_ratio={keep_aspect_ratio!r}"
                )
        else:
            fit = "crop" if keep_aspect_ratio else "stretch"
        self.settings = DecodeSettings(
            (int(target_size[0]), int(target_size[1])), color_mode, interpolation, fit
        )
        self.image_shape = self.settings.image_shape
        self.formats = tuple(formats) if formats is not None else default_formats()
        if files is None:
            files, labels, names = list_files(
                self.directory, classes, follow_links, self.formats, labels_from_folders
            )
            self._check_found(files, labels, names, labels_from_folders, warn_empty_classes)
        else:
            files, labels, names = [os.fspath(f) for f in files], np.zeros(len(files), int), []
            if not files:
                raise ValueError("Expected at least one image file, received: files=[]")
        self.class_indices = {name: i for i, name in enumerate(names)}
        self.total_files = len(files)
        self.seed = int(np.random.randint(1e6)) if seed is None else int(seed)
        picked = self._pick(labels, float(validation_split or 0.0), subset, split)
        # positions into `filenames` in Keras's file_paths order (split='shuffled' or 'tail')
        self.shuffled_order = np.argsort(np.argsort(picked))
        picked = np.sort(picked)
        self.listing_index = picked  # each row's position in the full listing
        self.filenames = [files[i] for i in picked]
        self.classes = labels[picked]
        self.samples = len(self.filenames)
        self.paths = [os.path.join(self.directory, f) for f in self.filenames]
        self.num_workers = default_num_workers() if num_workers is None else int(num_workers)
        self._loader: ChunkLoader | None = None
        self.cache = self._open_cache(cache)
        self.alive = np.ones(self.samples, dtype=bool)  # rows that can still be yielded
        self.bad_rows: list[int] = []  # rows found unreadable, in the order found
        self._drop(self._known_bad())
        if not self.alive.any():
            raise ValueError(
                f"Expected at least one readable image file in directory={self.directory!r}, "
                f"received: all {self.samples} unreadable (e.g. {self.bad_files[:3]})"
            )

    @property
    def bad_files(self) -> list[str]:
        """The `filenames` found unreadable, in the order found."""
        return [self.filenames[r] for r in self.bad_rows]

    @property
    def readable(self) -> int:
        """How many rows can still be yielded."""
        return int(self.alive.sum())

    def _known_bad(self) -> list[Failure]:
        """Rows a complete cache recorded as failed, else rows whose header does not read."""
        if self.cache is not None and self.cache.complete:
            assert self.cache.valid is not None
            return [
                (
                    int(r),
                    f"Expected a readable image file, received: path={self.paths[r]!r} "
                    "(it failed to decode when the image cache was filled)",
                )
                for r in np.flatnonzero(~self.cache.valid)
            ]
        return probe_files(self.paths, range(self.samples))

    def _drop(self, failures: list[Failure]) -> None:
        """Report failed rows (warn or raise, per on_bad_file), then leave them out."""
        failures = [(r, m) for r, m in failures if self.alive[r]]
        report(failures, self.on_bad_file)
        for row, _ in failures:
            self.alive[row] = False
            self.bad_rows.append(int(row))

    def _check_found(
        self, files: list, labels: np.ndarray, names: list, by_folder: bool, warn_empty: bool
    ) -> None:
        exts = ", ".join(self.formats)
        if by_folder and not names:
            raise ValueError(
                f"Expected class subfolders in directory={self.directory!r}, received: none "
                f"(entries: {sorted(os.listdir(self.directory))[:10]})"
            )
        if not files:
            where = f"{len(names)} class folders {names[:10]}" if by_folder else "the folder tree"
            raise ValueError(
                f"Expected image files ({exts}) in directory={self.directory!r}, "
                f"received: 0 images in {where}"
            )
        empty = [n for i, n in enumerate(names) if not np.any(labels == i)]
        if empty and warn_empty:
            warnings.warn(
                f"Expected images in every class folder of {self.directory!r}, received: "
                f"empty={empty} (these classes keep their index but have no samples)",
                stacklevel=3,
            )

    def _pick(self, labels: np.ndarray, fraction: float, subset: str | None, split: str):
        n = len(labels)
        if split == "per_class":
            picked = np.arange(n) if subset is None else split_per_class(labels, fraction, subset)
        else:  # Keras's image_dataset_from_directory order: shuffled (or not), then the tail
            seed = self.seed if split == "shuffled" else None
            picked = split_shuffled(n, fraction if subset else 0.0, subset or "training", seed)
        if len(picked) == 0:
            raise ValueError(
                f"Expected files in the {subset!r} subset of directory={self.directory!r}, "
                f"received: 0 of {n} files with validation_split={fraction} (split={split!r})"
            )
        return picked

    def _open_cache(self, cache: bool | str | os.PathLike) -> ImageCache | None:
        if cache is False or cache is None:
            return None
        folder = default_cache_dir() if cache is True else os.fspath(cache)
        s = self.settings
        key = cache_key(
            self.directory,
            self.filenames,
            {
                "target_size": list(s.target_size),
                "color_mode": s.color_mode,
                "interpolation": pil_interpolation(s.interpolation),
                "fit": s.fit,
            },
        )
        return ImageCache(folder, key, (self.samples, *self.image_shape))

    def load(self, indices: Sequence[int] | np.ndarray) -> tuple[np.ndarray, torch.Tensor]:
        """(kept indices, uint8 (n, h, w, c) CPU tensor) for these rows, in order: rows not
        alive are left out, and files that fail to decode are dropped (see `_drop`)."""
        indices = self._check_indices(indices)
        live = indices[self.alive[indices]]
        if self.cache is not None and self.cache.complete:
            return self.cache.read(live)
        _, kept, rows, failed = decode_chunk(self.paths, self.settings, (0, live))
        self._drop(failed)
        return kept, rows

    def batches(
        self, order: np.ndarray, batch_size: int
    ) -> Iterator[tuple[np.ndarray, torch.Tensor]]:
        """The same, batch by batch over `order`, decoded in DataLoader worker processes (or read
        from the cache), overlapping the consumer's work; batches keep `order`. The batches
        are `order` cut every `batch_size` rows before dead rows are left out, so a batch
        that held a bad file is short (possibly empty) and the others are unchanged."""
        order = self._check_indices(order)
        if int(batch_size) < 1:
            raise ValueError(f"Expected batch_size >= 1, received: batch_size={batch_size}")
        size = int(batch_size)
        chunks = [order[i : i + size] for i in range(0, len(order), size)]
        chunks = [chunk[self.alive[chunk]] for chunk in chunks]
        cache = self.cache
        if cache is not None and cache.complete:
            for chunk in chunks:
                yield cache.read(chunk)
            return
        filling = cache is not None and cache.begin()
        if filling:  # rows already known bad are never decoded: record them as failed
            none = np.zeros(0, dtype=np.int64)
            cache.write(none, np.zeros((0, *self.image_shape), np.uint8), self.bad_rows)
        if self._loader is None:
            self._loader = ChunkLoader(self.paths, self.settings, self.num_workers)
        try:
            for _, kept, rows, failed in self._loader.run(list(enumerate(chunks))):
                self._drop(failed)
                if filling:
                    cache.write(kept, rows, [i for i, _ in failed])
                yield kept, rows
        finally:
            if filling and not cache.complete:
                cache.abort()  # an interrupted or partial pass leaves no cache file

    def close(self) -> None:
        """Stop the decoder worker processes."""
        if self._loader is not None:
            self._loader.close()
            self._loader = None

    def _check_indices(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        if len(idx) and (idx.min() < 0 or idx.max() >= self.samples):
            raise ValueError(
                f"Expected indices in [0, {self.samples}) for directory={self.directory!r}, "
                f"received: min={idx.min()}, max={idx.max()}"
            )
        return idx


def _check_args(target_size, color_mode, interpolation, validation_split, subset, split) -> None:
    if len(tuple(target_size)) != 2 or min(int(v) for v in target_size) < 1:
        raise ValueError(
            f"Expected target_size=(height, width) of positive ints, received: target_size={target_size}"
        )
    channels(color_mode)
    pil_interpolation(interpolation)
    if not 0.0 <= float(validation_split or 0.0) < 1.0:
        raise ValueError(
            f"Expected 0 <= validation_split < 1, received: validation_split={validation_split}"
        )
    if subset not in (None, "training", "validation"):
        raise ValueError(
            f"Expected subset in (None, 'training', 'validation'), received: subset={subset!r}"
        )
    if split not in ("per_class", "shuffled", "tail"):
        raise ValueError(
            f"Expected split in ('per_class', 'shuffled', 'tail'), received: split={split!r}"
        )
