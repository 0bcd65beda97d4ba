"""`text_dataset_from_directory`, as `keras.utils.text_dataset_from_directory`.

    train, val = text_dataset_from_directory("aclImdb/train", batch_size=32, seed=1,
                                             validation_split=0.2, subset="both")
    vectorize.adapt(train)                           # (texts, labels) batches: the texts
    model.fit(train, validation_data=val, epochs=3)  # a model starting with TextVectorization

`directory/<class>/**.txt`, listed and split exactly as Keras lists and splits them (the
same files in the same order for a seed, as `image_dataset_from_directory`). Each pass
yields `(texts, labels)`: texts a NumPy object array of str (files read as UTF-8, bytes
that are not UTF-8 replaced; `max_length` cuts each file's bytes first, as Keras's
`tf.strings.substr` does), labels a torch tensor ('int': int32, 'binary': float32 (n, 1),
'categorical': one-hot float32). Files are read per batch, so a corpus needs no memory
up front; with `shuffle`, each pass draws a new order from `seed`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from lamina.data.image_listing import list_files, split_shuffled
from lamina.utils.image_dataset import _check_split
from lamina.utils.label_arguments import check_label_arguments


class TextDataset:
    """Batches of one subset of a text folder: `for texts, labels in dataset: ...`."""

    def __init__(
        self,
        directory: str,
        paths: list[str],
        labels: np.ndarray | None,
        label_mode: str | None,
        class_names: list[str] | None,
        batch_size: int | None,
        max_length: int | None,
        shuffle: bool,
        seed: int,
    ) -> None:
        self.directory = directory
        self._paths = paths  # relative to directory, in file_paths order
        self._labels = labels
        self.label_mode = label_mode
        self.class_names = class_names
        self.batch_size = batch_size
        self.max_length = max_length
        self.shuffle = shuffle
        self._rng = np.random.default_rng(seed)

    @property
    def file_paths(self) -> list[str]:
        """The files of this subset, in order (as Keras's `dataset.file_paths`)."""
        return [os.path.join(self.directory, p) for p in self._paths]

    def __len__(self) -> int:
        return math.ceil(len(self._paths) / (self.batch_size or 1))

    def _read(self, rel: str) -> str:
        with open(os.path.join(self.directory, rel), "rb") as f:
            data = f.read() if self.max_length is None else f.read(self.max_length)
        return data.decode("utf-8", errors="replace")

    def _labels_tensor(self, rows: np.ndarray) -> torch.Tensor:
        assert self._labels is not None
        labels = torch.from_numpy(self._labels[rows])
        if self.label_mode == "int":
            return labels.to(torch.int32)
        if self.label_mode == "binary":
            return labels.to(torch.float32).reshape(-1, 1)
        depth = len(self.class_names or ())
        return torch.nn.functional.one_hot(labels.long(), depth).to(torch.float32)

    def __iter__(self) -> Iterator[Any]:
        order = np.arange(len(self._paths))
        if self.shuffle:
            order = self._rng.permutation(order)
        step = self.batch_size or 1
        for start in range(0, len(order), step):
            rows = order[start : start + step]
            texts = np.empty(len(rows), dtype=object)
            texts[:] = [self._read(self._paths[r]) for r in rows]
            labels = None if self._labels is None else self._labels_tensor(rows)
            if self.batch_size is None:  # unbatched: one sample at a time
                yield texts[0] if labels is None else (texts[0], labels[0])
            else:
                yield texts if labels is None else (texts, labels)


def text_dataset_from_directory(
    directory: str | os.PathLike,
    labels: str | Sequence[int] | None = "inferred",
    label_mode: str | None = "int",
    class_names: Sequence[str] | None = None,
    batch_size: int | None = 32,
    max_length: int | None = None,
    shuffle: bool = True,
    seed: int | None = None,
    validation_split: float | None = None,
    subset: str | None = None,
    follow_links: bool = False,
    format: str = "tf",
    verbose: bool = True,
) -> TextDataset | list[TextDataset]:
    """Batches of (texts, labels) from `directory/<class>/<.txt files>` (Keras semantics).

    labels: 'inferred' (class = subfolder, sorted or `class_names`), None (texts only), or
    one integer per file in sorted path order. label_mode: 'int', 'categorical', 'binary'
    (exactly 2 classes) or None. With validation_split, the files are shuffled with `seed`
    (when `shuffle`) and the last fraction is validation; subset='both' returns
    [training, validation] (validation unshuffled).
    """
    directory = os.fspath(directory)
    _check_arguments(directory, labels, label_mode, class_names, batch_size, max_length, format)
    _check_split(validation_split, subset, shuffle, seed)
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    seed = int(np.random.randint(1e6)) if seed is None else int(seed)
    inferred = labels == "inferred"
    files, per_file, names = list_files(
        directory, class_names if inferred else None, follow_links, (".txt",), inferred
    )
    if labels is not None and not inferred:
        per_file = np.asarray(labels, dtype=np.int64)
        if len(per_file) != len(files):
            raise ValueError(
                "Expected one label per .txt file in sorted path order, received: "
                f"len(labels)={len(per_file)} for {len(files)} files in directory={directory!r}"
            )
        names = [str(v) for v in sorted(set(per_file.tolist()))]
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(
            f"Expected exactly 2 classes with label_mode='binary', received: class_names={names}"
        )
    if verbose:
        found = f"Found {len(files)} files"
        print(found + "." if labels is None else f"{found} belonging to {len(names)} classes.")
    parts = ["training", "validation"] if subset == "both" else [subset]
    out = []
    for part in parts:
        if part is None:
            rows = split_shuffled(len(files), 0.0, "training", seed if shuffle else None)
        else:
            rows = split_shuffled(len(files), validation_split, part, seed if shuffle else None)
            if verbose:
                print(f"Using {len(rows)} files for {part}.")
            if not len(rows):
                raise ValueError(
                    f"Expected {part} .txt files in directory={directory!r}, received: none "
                    f"(validation_split={validation_split} of {len(files)} files)"
                )
        out.append(
            TextDataset(
                directory,
                [files[r] for r in rows],
                None if labels is None else per_file[rows],
                label_mode,
                names if labels is not None else None,
                batch_size,
                max_length,
                shuffle and part != "validation",
                seed,
            )
        )
    return out if subset == "both" else out[0]


def _check_arguments(
    directory, labels, label_mode, class_names, batch_size, max_length, fmt
) -> None:
    if not os.path.isdir(directory):
        raise ValueError(f"Expected an existing directory, received: directory={directory!r}")
    check_label_arguments(labels, label_mode, class_names, ".txt file")
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"Expected batch_size >= 1 or None, received: batch_size={batch_size!r}")
    if max_length is not None and (not isinstance(max_length, int) or max_length < 1):
        raise ValueError(f"Expected max_length >= 1 or None, received: max_length={max_length!r}")
    if fmt not in ("tf", "grain"):
        raise ValueError(f"Expected format 'tf' or 'grain', received: format={fmt!r}")
