"""`ImageFolder`: the image files of a directory of class subfolders, decoded to uint8 NHWC.

The shared back end of `flow_from_directory` and `image_dataset_from_directory`:

    folder = ImageFolder("photos", target_size=(64, 64), validation_split=0.2,
                         subset="training", cache=True)
    for kept, images in folder.batches(np.random.permutation(folder.samples), 32):
        labels = folder.classes[kept]          # uint8 (n, 64, 64, 3) images, aligned labels

Files that fail to decode are dropped together with their label, with one warning naming
the file (per process); `kept` says which indices a batch holds. Decoding runs in
DataLoader workers, or rows come from the memmap cache once a first pass has filled it.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Sequence

import numpy as np
import torch

from lamina.data.image_cache import ImageCache, cache_key, default_cache_dir
from lamina.data.image_decode import channels, pil_interpolation
from lamina.data.image_listing import (
    default_formats,
    list_files,
    split_per_class,
    split_shuffled,
)
from lamina.data.image_loader import ChunkLoader, DecodeSettings, decode_chunk, default_num_workers

_WARNED: set[str] = set()  # files already reported by this process


def warn_failed(failures: Sequence[tuple[int, str]], paths: Sequence[str]) -> None:
    """One warning per failed file per process (the message names the file)."""
    for index, message in failures:
        if paths[index] not in _WARNED:
            _WARNED.add(paths[index])
            warnings.warn(f"Skipping an unreadable image file. {message}", stacklevel=3)


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
    ) -> None:
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
            self._check_found(files, labels, names, labels_from_folders)
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

    def _check_found(self, files: list, labels: np.ndarray, names: list, by_folder: bool) -> None:
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
        if empty:
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
        """(kept indices, uint8 (n, h, w, c) CPU tensor) for these indices, in order; files
        that fail to decode are dropped from BOTH (one warning per file per process)."""
        indices = self._check_indices(indices)
        if self.cache is not None and self.cache.complete:
            self._warn_cached(indices)
            return self.cache.read(indices)
        _, kept, rows, failed = decode_chunk(self.paths, self.settings, (0, indices))
        warn_failed(failed, self.paths)
        return kept, rows

    def batches(
        self, order: np.ndarray, batch_size: int
    ) -> Iterator[tuple[np.ndarray, torch.Tensor]]:
        """The same, batch by batch over `order`, decoded in DataLoader worker processes (or read
        from the cache), overlapping the consumer's work; batches keep `order`."""
        order = self._check_indices(order)
        if int(batch_size) < 1:
            raise ValueError(f"Expected batch_size >= 1, received: batch_size={batch_size}")
        chunks = [order[i : i + int(batch_size)] for i in range(0, len(order), int(batch_size))]
        cache = self.cache
        if cache is not None and cache.complete:
            for chunk in chunks:
                self._warn_cached(chunk)
                yield cache.read(chunk)
            return
        filling = cache is not None and cache.begin()
        if self._loader is None:
            self._loader = ChunkLoader(self.paths, self.settings, self.num_workers)
        try:
            for _, kept, rows, failed in self._loader.run(list(enumerate(chunks))):
                warn_failed(failed, self.paths)
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

    def _warn_cached(self, indices: np.ndarray) -> None:
        assert self.cache is not None and self.cache.valid is not None
        bad = indices[~self.cache.valid[indices]]
        warn_failed(
            [
                (int(i), f"Expected a readable image file, received: path={self.paths[i]!r}")
                for i in bad
            ],
            self.paths,
        )


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
