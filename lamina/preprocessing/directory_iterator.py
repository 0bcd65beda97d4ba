"""`DirectoryIterator`: flow_from_directory's batches from a folder of class subfolders.

Files are listed, split (validation_split + subset: per class, the FIRST fraction of the
sorted files is 'validation', as Keras) and decoded by `lamina.data.image_folder.ImageFolder`;
during training whole batches are decoded in worker processes (or read from the decoded-image
cache with `cache=True`) while the model trains, then augmented on the model's device.

Unreadable files (`on_bad_file`, `lamina/data/image_bad_files.py`): `filenames`, `classes`,
`labels`, `filepaths`, `n`, `samples` and `len()` always describe exactly the samples the
iterator yields, in order, and `bad_files` lists the files left out. Files whose header
does not read are dropped when the iterator is made; a file that fails the full decode
(a truncated JPEG) is dropped during the pass that first decodes it, and the attributes
change at that moment. So after `preds = model.predict(it)` on a `shuffle=False`
iterator, `zip(it.filenames, preds)` pairs every file with its own prediction.
"""

from __future__ import annotations

from collections.abc import Iterator as PyIterator
from typing import Any

import numpy as np
import torch

from lamina.preprocessing.iterators import Batch, Iterator, _check_save, _error


class DirectoryIterator(Iterator):
    """Batches from a directory of class subfolders (one subfolder per class)."""

    allowed_class_modes = ("categorical", "binary", "sparse", "input", None)

    def __init__(
        self,
        directory: str,
        image_data_generator: Any,
        target_size: tuple[int, int] = (256, 256),
        color_mode: str = "rgb",
        classes: list[str] | None = None,
        class_mode: str | None = "categorical",
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int | None = None,
        data_format: str | None = None,
        save_to_dir: str | None = None,
        save_prefix: str = "",
        save_format: str = "png",
        follow_links: bool = False,
        subset: str | None = None,
        interpolation: str = "nearest",
        keep_aspect_ratio: bool = False,
        cache: bool | str = False,
        dtype: str | None = None,
        workers: int | None = None,
        on_bad_file: str = "skip",
    ) -> None:
        from lamina.data.image_folder import ImageFolder

        where = f"DirectoryIterator(directory={directory!r})"
        split = self._check_args(
            where, class_mode, data_format, subset, image_data_generator, save_to_dir, save_format
        )
        _check_workers(where, workers)
        self.folder = ImageFolder(
            directory,
            target_size=tuple(target_size),
            color_mode=color_mode,
            classes=classes,
            follow_links=follow_links,
            interpolation=interpolation,
            keep_aspect_ratio=keep_aspect_ratio,
            validation_split=split if subset else 0.0,
            subset=subset,
            split="per_class",
            seed=seed,
            cache=cache,
            num_workers=workers,
            on_bad_file=on_bad_file,
        )
        f = self.folder
        self.directory = f.directory
        self.image_data_generator = image_data_generator
        self.target_size = tuple(int(v) for v in target_size)
        self.color_mode = color_mode
        self.image_shape = f.image_shape
        self.class_mode = class_mode
        self.class_indices = dict(f.class_indices)
        self.num_classes = len(self.class_indices)
        if class_mode == "binary" and self.num_classes != 2:
            raise _error(
                where,
                "2 class folders for class_mode='binary' (use 'categorical' or 'sparse')",
                classes=list(self.class_indices)[:10],
            )
        self._track_files()
        self.dtype = dtype or image_data_generator.dtype
        self.data_format = "channels_last"
        self.save_to_dir = save_to_dir
        self.save_prefix = save_prefix
        self.save_format = save_format
        self.subset = subset
        self.interpolation = interpolation
        self.keep_aspect_ratio = keep_aspect_ratio
        print(f"Found {self.samples} images belonging to {self.num_classes} classes.")
        super().__init__(self.samples, batch_size, shuffle, seed)

    def _check_args(
        self,
        where: str,
        class_mode: str | None,
        data_format: str | None,
        subset: str | None,
        generator: Any,
        save_to_dir: str | None,
        save_format: str,
    ) -> float:
        """Check the arguments the file iterators share; returns the validation split."""
        if class_mode not in self.allowed_class_modes:
            raise _error(where, f"class_mode in {self.allowed_class_modes}", class_mode=class_mode)
        if data_format not in (None, "channels_last"):
            raise _error(where, "data_format 'channels_last'", data_format=data_format)
        if subset not in (None, "training", "validation"):
            raise _error(where, "subset None, 'training' or 'validation'", subset=subset)
        split = generator._validation_split
        if subset is not None and not split:
            raise _error(
                where,
                "validation_split > 0 in the ImageDataGenerator when subset is set",
                validation_split=split,
            )
        _check_save(where, save_to_dir, save_format)
        return split

    # ------------------------------------------------------------ the files yielded
    def _track_files(self) -> None:
        """Start describing the folder's readable rows (called once the folder is made)."""
        self._rows = np.flatnonzero(self.folder.alive)  # folder rows of the samples, in order
        self._pass_rows = self._rows
        self._bad_seen = len(self.folder.bad_rows)
        self._describe()

    def _describe(self) -> None:
        """Set the public attributes from `_rows` (n, samples, filenames, classes)."""
        f, rows = self.folder, self._rows
        self.n = self.samples = len(rows)
        self.filenames = [f.filenames[r] for r in rows]
        self.classes = np.asarray(f.classes[rows], dtype=np.int32)

    def _sync(self) -> None:
        """After a load: leave out the files the folder has just found unreadable."""
        if len(self.folder.bad_rows) != self._bad_seen:
            self._bad_seen = len(self.folder.bad_rows)
            self._rows = np.flatnonzero(self.folder.alive)
            self._describe()

    def _begin_pass(self) -> None:
        self._pass_rows = self._rows

    def _rows_of(self, positions: np.ndarray) -> np.ndarray:
        return self._pass_rows[np.asarray(positions, dtype=np.int64)]

    @property
    def bad_files(self) -> list[str]:
        """The files left out as unreadable (as `filenames` names them), in the order found."""
        return self.folder.bad_files

    @property
    def filepaths(self) -> list[str]:
        return [self.folder.paths[r] for r in self._rows]

    @property
    def labels(self) -> np.ndarray:
        return self.classes

    def close(self) -> None:
        """Stop the decoder worker processes (they restart on the next epoch if needed)."""
        self.folder.close()

    def _raw(self, indices: np.ndarray) -> tuple[np.ndarray, torch.Tensor]:
        kept, raw = self.folder.load(indices)
        self._sync()
        return kept, raw

    def _first_raw(self) -> torch.Tensor:
        """The first two samples that decode (files failing here are dropped as usual)."""
        rows = self._rows
        for start in range(0, len(rows), 2):
            kept, raw = self._raw(rows[start : start + 2])
            if len(kept):
                return raw
        raise ValueError(
            f"Expected at least one readable image file, received: none of {len(rows)} in "
            f"directory={self.directory!r} (bad_files={self.bad_files[:3]}...)"
        )

    def _labels(self, kept: np.ndarray, x: torch.Tensor, device: torch.device) -> tuple:
        mode = self.class_mode
        if mode is None:
            return None, None
        if mode == "input":
            return x, None
        dtype = torch.float32 if x.dtype == torch.bfloat16 else x.dtype
        labels = torch.from_numpy(self.folder.classes[kept].astype(np.int64)).to(device)
        if mode in ("binary", "sparse"):
            return labels.to(dtype), None
        return torch.nn.functional.one_hot(labels, self.num_classes).to(dtype), None

    def device_epoch(self, device: torch.device | str) -> PyIterator[Batch]:
        """One epoch with files decoded in worker processes, overlapping the training step."""
        if self.index_array is None:
            self._set_index_array()
        assert self.index_array is not None
        order = self._rows_of(self.index_array)
        for kept, raw in self.folder.batches(order, self.batch_size):
            self._sync()
            gen = self._batch_generator()
            if len(kept) == 0:
                continue  # every file of this batch failed to decode (each warned)
            yield self._build(kept, raw, gen, device)
        self.on_epoch_end()


def _check_workers(where: str, workers: Any) -> None:
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 0
    ):
        raise _error(where, "workers None or an int >= 0", workers=workers)


__all__ = ["DirectoryIterator"]
