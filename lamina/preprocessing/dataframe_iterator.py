"""`DataFrameIterator`: flow_from_dataframe's batches from a table of file names and labels.

Keras's rules: `x_col` names the image files (relative to `directory`, or as given when it
is None); with `validate_filenames`, rows whose file is missing or not an image format are
dropped with one warning. Labels follow `class_mode`: 'categorical' (a class name, or a list
of names for multi-label rows), 'binary' (two classes), 'sparse' (integer indices), 'raw'
(the column's values, or several columns as one array), 'multi_output' (one array per
column), 'input' (the images) or None. With `validation_split`, the FIRST fraction of the
rows is the 'validation' subset. The table is any pandas DataFrame, or a dict of columns.
Files that exist but cannot be read follow `on_bad_file` as in flow_from_directory: the
iterator's `filenames`, `classes`, `labels`, `n` and `samples` always describe exactly the
rows it yields (`lamina/data/image_bad_files.py`), and `bad_files` lists the files left out.

    it = ImageDataGenerator(rescale=1 / 255).flow_from_dataframe(
        df, "photos", x_col="file", y_col="label", target_size=(64, 64))
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from lamina.preprocessing.directory_iterator import DirectoryIterator, _check_workers
from lamina.preprocessing.iterators import Iterator, _error

LABEL_MODES = ("categorical", "binary", "sparse")


def _columns(frame: Any) -> list[str]:
    cols = getattr(frame, "columns", None)
    if cols is None and isinstance(frame, dict):
        cols = frame.keys()
    if cols is None:
        raise _error(
            "flow_from_dataframe",
            "a pandas DataFrame or a dict of columns",
            dataframe=type(frame).__name__,
        )
    return [str(c) for c in cols]


def _column(frame: Any, name: str, what: str) -> list[Any]:
    names = _columns(frame)
    if name not in names:
        raise _error("flow_from_dataframe", f"{what} to name a column of {names}", **{what: name})
    values = frame[name]
    values = values.tolist() if hasattr(values, "tolist") else list(values)
    return values


class DataFrameIterator(DirectoryIterator):
    """Batches from the rows of a table: image file names and their labels."""

    allowed_class_modes = ("binary", "categorical", "input", "multi_output", "raw", "sparse", None)

    def __init__(
        self,
        dataframe: Any,
        directory: str | os.PathLike | None = None,
        image_data_generator: Any = None,
        x_col: str = "filename",
        y_col: str | Sequence[str] = "class",
        weight_col: str | None = None,
        target_size: tuple[int, int] = (256, 256),
        color_mode: str = "rgb",
        classes: Sequence[str] | None = None,
        class_mode: str | None = "categorical",
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int | None = None,
        data_format: str | None = None,
        save_to_dir: str | None = None,
        save_prefix: str = "",
        save_format: str = "png",
        subset: str | None = None,
        interpolation: str = "nearest",
        keep_aspect_ratio: bool = False,
        dtype: str | None = None,
        validate_filenames: bool = True,
        cache: bool | str = False,
        workers: int | None = None,
        on_bad_file: str = "skip",
    ) -> None:
        from lamina.data.image_folder import ImageFolder

        where = "flow_from_dataframe"
        split = self._check_args(
            where, class_mode, data_format, subset, image_data_generator, save_to_dir, save_format
        )
        _check_workers(where, workers)
        if directory is not None and not os.path.isdir(directory):
            raise _error(where, "directory None or an existing folder", directory=directory)
        files = _column(dataframe, x_col, "x_col")
        rows = np.arange(len(files))
        if validate_filenames:
            rows = self._valid_files(files, directory, x_col)
        rows, self._y = self._targets(dataframe, y_col, class_mode, classes, rows)
        weights = None
        if weight_col is not None:
            weights = np.asarray(_column(dataframe, weight_col, "weight_col"), dtype=np.float64)
        if subset is not None:  # Keras: the first fraction of the rows is the validation set
            cut = int(split * len(rows))
            part = slice(0, cut) if subset == "validation" else slice(cut, None)
            rows = rows[part]
            if class_mode == "multi_output":
                self._y = [col[part] for col in self._y]
            elif self._y is not None:
                self._y = self._y[part]
        if len(rows) == 0:
            raise _error(where, "at least one usable row", rows=0, subset=subset)
        self._weights = None if weights is None else weights[rows]
        self.folder = ImageFolder(
            directory,
            files=[str(files[i]) for i in rows],
            target_size=tuple(target_size),
            color_mode=color_mode,
            interpolation=interpolation,
            keep_aspect_ratio=keep_aspect_ratio,
            seed=seed,
            cache=cache,
            num_workers=workers,
            on_bad_file=on_bad_file,
        )
        f = self.folder
        self.directory = directory
        self.x_col, self.y_col, self.weight_col = x_col, y_col, weight_col
        self.image_data_generator = image_data_generator
        self.target_size = tuple(int(v) for v in target_size)
        self.color_mode = color_mode
        self.image_shape = f.image_shape
        self.class_mode = class_mode
        self.num_classes = len(self.class_indices)
        self._track_files()
        self.dtype = dtype or image_data_generator.dtype
        self.data_format = "channels_last"
        self.save_to_dir, self.save_prefix, self.save_format = save_to_dir, save_prefix, save_format
        self.subset = subset
        self.interpolation = interpolation
        self.keep_aspect_ratio = keep_aspect_ratio
        if class_mode in LABEL_MODES:
            print(
                f"Found {self.samples} validated image filenames belonging to "
                f"{self.num_classes} classes."
            )
        else:
            print(f"Found {self.samples} validated image filenames.")
        Iterator.__init__(self, self.samples, batch_size, shuffle, seed)

    # ---------------------------------------------------------------- the table
    def _valid_files(self, files: list, directory: Any, x_col: str) -> np.ndarray:
        formats = tuple("." + f for f in self.white_list_formats)
        ok = [
            i
            for i, name in enumerate(files)
            if isinstance(name, (str, os.PathLike))
            and os.fspath(name).lower().endswith(formats)
            and os.path.isfile(os.path.join(os.fspath(directory or ""), os.fspath(name)))
        ]
        bad = len(files) - len(ok)
        if bad:
            good = set(ok)
            example = next(files[i] for i in range(len(files)) if i not in good)
            warnings.warn(
                f"Expected existing image files ({', '.join(self.white_list_formats)}) in "
                f"x_col={x_col!r}, received: {bad} invalid filename(s), e.g. {example!r}; "
                "these rows are ignored.",
                stacklevel=4,
            )
        return np.asarray(ok, dtype=np.int64)

    def _targets(
        self, frame: Any, y_col: Any, mode: str | None, classes: Any, rows: np.ndarray
    ) -> tuple[np.ndarray, Any]:
        """(the rows kept, their targets): class indices (lists for multi-label rows), an
        array for 'raw', a list of arrays for 'multi_output', or None."""
        self.class_indices: dict[str, int] = {}
        if mode in (None, "input"):
            return rows, None
        if mode == "multi_output":
            if isinstance(y_col, str) or not isinstance(y_col, Sequence):
                raise _error("flow_from_dataframe", "a list of columns in y_col", y_col=y_col)
            return rows, [_numeric(frame, c, mode)[rows] for c in y_col]
        if mode == "raw":
            if isinstance(y_col, str):
                return rows, _numeric(frame, y_col, mode)[rows]
            return rows, np.stack([_numeric(frame, c, mode) for c in y_col], -1)[rows]
        if not isinstance(y_col, str):
            raise _error("flow_from_dataframe", f"one column in y_col for {mode!r}", y_col=y_col)
        labels = [_column(frame, y_col, "y_col")[i] for i in rows]
        multi = mode == "categorical"
        for v in labels:
            ok = isinstance(v, str) or (
                multi and isinstance(v, (list, tuple)) and all(isinstance(u, str) for u in v)
            )
            if not ok:
                kinds = "a string, list or tuple" if multi else "a string"
                raise TypeError(
                    f"flow_from_dataframe: Expected each value of y_col={y_col!r} to be {kinds} "
                    f"for class_mode={mode!r}, received: {v!r} ({type(v).__name__})"
                )
        found = sorted({u for v in labels for u in ([v] if isinstance(v, str) else v)})
        names = [str(c) for c in classes] if classes is not None else found
        if mode == "binary" and len(names) != 2:
            raise _error("flow_from_dataframe", "2 classes for class_mode='binary'", classes=names)
        self.class_indices = {name: i for i, name in enumerate(names)}
        kept, ys = [], []
        for r, v in zip(rows, labels):
            if isinstance(v, str):
                if v in self.class_indices:
                    kept.append(r)
                    ys.append(self.class_indices[v])
            else:
                known = [self.class_indices[u] for u in v if u in self.class_indices]
                if known:
                    kept.append(r)
                    ys.append(known)
        return np.asarray(kept, dtype=np.int64), ys

    def _describe(self) -> None:
        """n, samples and filenames of the rows yielded (`classes`, `labels` read `_rows`)."""
        self.n = self.samples = len(self._rows)
        self.filenames = [self.folder.filenames[r] for r in self._rows]

    @property
    def classes(self) -> Any:
        """Each sample's class index (a list of indices for multi-label rows)."""
        if self.class_mode not in LABEL_MODES:
            return None
        ys = [self._y[r] for r in self._rows]
        if all(isinstance(v, int) for v in ys):
            return np.asarray(ys, dtype=np.int32)
        return ys

    @property
    def labels(self) -> Any:
        if self.class_mode in LABEL_MODES:
            return self.classes
        if self.class_mode == "raw":
            return self._y[self._rows]
        if self.class_mode == "multi_output":
            return [col[self._rows] for col in self._y]
        return self._y

    # ---------------------------------------------------------------- batches
    def _labels(self, kept: np.ndarray, x: torch.Tensor, device: torch.device) -> tuple:
        mode = self.class_mode
        sw = None
        if self._weights is not None:
            sw = torch.from_numpy(self._weights[kept]).to(device, torch.float32)
        if mode is None:
            return None, None
        if mode == "input":
            return x, sw
        dtype = torch.float32 if x.dtype == torch.bfloat16 else x.dtype
        if mode == "raw":
            return _tensor(self._y[kept], dtype, device), sw
        if mode == "multi_output":
            return [_tensor(col[kept], dtype, device) for col in self._y], sw
        ys = [self._y[i] for i in kept]
        if mode in ("binary", "sparse"):
            return torch.tensor(ys, dtype=dtype, device=device), sw
        hot = torch.zeros((len(ys), self.num_classes), dtype=dtype)
        for row, v in enumerate(ys):
            hot[row, v] = 1
        return hot.to(device), sw


def _numeric(frame: Any, name: str, mode: str) -> np.ndarray:
    """A target column as a numeric array (checked when the iterator is made)."""
    arr = np.asarray(_column(frame, name, "y_col"))
    if arr.dtype.kind not in "fiub":
        raise TypeError(
            f"flow_from_dataframe: Expected numeric values in y_col={name!r} for "
            f"class_mode={mode!r}, received: dtype={arr.dtype} (e.g. {arr.flat[0]!r})"
        )
    return arr


def _tensor(values: np.ndarray, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    return torch.as_tensor(np.asarray(values, dtype=np.float64)).to(device, dtype)


__all__ = ["DataFrameIterator"]
