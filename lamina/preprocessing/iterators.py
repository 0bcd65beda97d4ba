"""The iterators `ImageDataGenerator.flow` and `.flow_from_directory` return.

Keras Sequences: `len(it)` batches, `it[i]` and `next(it)` give NumPy batches (x float32,
labels), the order reshuffles after each epoch (`on_epoch_end`), and `seed` makes it repeat:
with a seed, batch k is shuffled/augmented from `seed + k` (k counts every batch served), so
the first epoch's order equals Keras's for the same seed (Keras seeds NumPy the same way).

File iterators (`DirectoryIterator`, `DataFrameIterator`) drop files that cannot be read
and keep `filenames`, `classes`, `n`, ... equal to what they yield
(`lamina/data/image_bad_files.py`). So `index_array` is a permutation of range(n) over the
samples as they were when the pass started (`_rows_of` maps it to the files of that
moment), and `len()` is the pass's batch count until the next pass begins.

Training reads them faster: `model.fit(it)` calls `device_epoch(device)`, which moves the raw
(uint8) images of each batch to the model's device and converts, augments and standardises
them there, yielding torch batches with no NumPy round trip (`lamina/data/adapter.py`).
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Iterator as PyIterator
from typing import Any

import numpy as np
import torch

from lamina.utils.image_utils import save_img

Batch = tuple[Any, Any, Any]


def _error(where: str, expected: str, **received: Any) -> ValueError:
    got = ", ".join(f"{k}={v!r}" for k, v in received.items())
    return ValueError(
        f"{where} (lamina/preprocessing/iterators.py): Expected {expected}, received: {got}"
    )


class BatchIndexError(IndexError, ValueError):
    """A batch index out of range (a ValueError too, as Keras raises)."""


class Iterator:
    """Base image iterator: index bookkeeping shared by the array and directory iterators.

    Subclasses provide `_raw(indices) -> (kept indices, raw image tensor on the CPU)` and
    `_labels(kept, x)`, returning the y (and sample weight) for those samples. Indices are
    sample ids: `_rows_of(positions in index_array)`, the identity unless a subclass maps
    them (file iterators: rows of their file list).
    """

    white_list_formats = ("png", "jpg", "jpeg", "bmp", "ppm", "tif", "tiff")

    def __init__(self, n: int, batch_size: int, shuffle: bool, seed: int | None) -> None:
        name = type(self).__name__
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise _error(name, "a positive int batch_size", batch_size=batch_size)
        if batch_size < 1:
            raise _error(name, "a positive int batch_size", batch_size=batch_size)
        if not isinstance(shuffle, (bool, np.bool_)):
            raise _error(name, "shuffle True or False", shuffle=shuffle)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise _error(name, "seed None or an int", seed=seed)
        self.n = int(n)
        self.batch_size = int(batch_size)
        self.seed = None if seed is None else int(seed)
        self.shuffle = bool(shuffle)
        self.batch_index = 0
        self.total_batches_seen = 0
        self.lock = threading.Lock()
        self.index_array: np.ndarray | None = None
        self.index_generator = self._flow_index()

    # ------------------------------------------------------------------ ordering
    def _set_index_array(self) -> None:
        """Start a pass: its order over the current samples (fixed until the next pass)."""
        self._begin_pass()
        if not self.shuffle:
            self.index_array = np.arange(self.n)
        elif self.seed is not None:
            self.index_array = np.random.RandomState(
                self.seed + self.total_batches_seen
            ).permutation(self.n)
        else:
            self.index_array = np.random.permutation(self.n)

    def _begin_pass(self) -> None:
        """Hook: freeze what positions in `index_array` mean for the pass that starts."""

    def _rows_of(self, positions: np.ndarray) -> np.ndarray:
        """The sample ids at these positions of `index_array` (the identity here)."""
        return positions

    def _batch_generator(self) -> torch.Generator:
        """The augmentation RNG of the next batch (counts the batch)."""
        if self.seed is not None:
            seed = self.seed + self.total_batches_seen
        else:
            seed = int(np.random.randint(2**31 - 1))
        self.total_batches_seen += 1
        return torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        """Batches in the current pass (from `n` before the first pass)."""
        n = self.n if self.index_array is None else len(self.index_array)
        return (n + self.batch_size - 1) // self.batch_size

    def _indices(self, idx: int) -> np.ndarray:
        if self.index_array is None:
            self._set_index_array()
        assert self.index_array is not None
        return self._rows_of(self.index_array[self.batch_size * idx : self.batch_size * (idx + 1)])

    def __getitem__(self, idx: int) -> Any:
        if not isinstance(idx, (int, np.integer)) or not 0 <= idx < len(self):
            raise BatchIndexError(
                f"{type(self).__name__} (lamina/preprocessing/iterators.py): Expected a batch "
                f"index in [0, {len(self)}), received: idx={idx!r}"
            )
        if self.index_array is None:  # as Keras: the first order comes from seed + batches seen
            self._set_index_array()
        gen = self._batch_generator()
        return self._numpy_batch(self._indices(int(idx)), gen)

    def on_epoch_end(self) -> None:
        self._set_index_array()

    def reset(self) -> None:
        self.batch_index = 0

    def _flow_index(self) -> PyIterator[np.ndarray]:
        self.reset()
        while True:
            if self.batch_index == 0:
                self._set_index_array()
            assert self.index_array is not None
            n = len(self.index_array)  # the pass's samples (n may shrink during it)
            current = (self.batch_index * self.batch_size) % n if n else 0
            if n > current + self.batch_size:
                self.batch_index += 1
            else:
                self.batch_index = 0
            yield self._rows_of(self.index_array[current : current + self.batch_size])

    def __iter__(self) -> Iterator:
        return self

    def __next__(self) -> Any:
        with self.lock:
            index_array = next(self.index_generator)
            gen = self._batch_generator()
        return self._numpy_batch(index_array, gen)

    def next(self) -> Any:
        """Keras 2's spelling of `next(it)`."""
        return self.__next__()

    # ------------------------------------------------------------------ batches
    def _raw(self, indices: np.ndarray) -> tuple[np.ndarray, torch.Tensor]:
        raise NotImplementedError

    def _labels(self, kept: np.ndarray, x: torch.Tensor, device: torch.device) -> tuple:
        raise NotImplementedError

    def _transform(self, raw: torch.Tensor, gen: torch.Generator, kept: np.ndarray) -> torch.Tensor:
        x = self.image_data_generator.transform_batch(raw, gen)
        if self.save_to_dir:
            self._save(x, kept)
        return x

    def _save(self, x: torch.Tensor, kept: np.ndarray) -> None:
        images = x.detach().float().cpu().numpy()
        for img, j in zip(images, kept):
            name = f"{self.save_prefix}_{int(j)}_{np.random.randint(10**7)}.{self.save_format}"
            save_img(os.path.join(self.save_to_dir, name), img, scale=True)

    def _build(self, kept: np.ndarray, raw: torch.Tensor, gen: torch.Generator, device) -> Batch:
        x = self._transform(raw.to(device, non_blocking=True), gen, kept)
        return (x, *self._labels(kept, x, torch.device(device)))

    def _numpy_batch(self, indices: np.ndarray, gen: torch.Generator) -> Any:
        kept, raw = self._raw(indices)
        x, y, sw = self._build(kept, raw, gen, "cpu")
        x_np = [_image_numpy(t) for t in x] if isinstance(x, list) else _image_numpy(x)
        if y is None:
            return x_np
        y_np = x_np.copy() if y is x else _to_numpy(y)
        if sw is None:
            return x_np, y_np
        return x_np, y_np, _to_numpy(sw)

    # ------------------------------------------------------------------ fast path
    def device_epoch(self, device: torch.device | str) -> PyIterator[Batch]:
        """One epoch of (x, y, sample_weight) torch batches on `device`, in iterator order,
        then `on_epoch_end()` (used by model.fit/evaluate/predict)."""
        if self.index_array is None:
            self._set_index_array()
        for i in range(len(self)):
            indices = self._indices(i)
            gen = self._batch_generator()
            kept, raw = self._raw(indices)
            yield self._build(kept, raw, gen, device)
        self.on_epoch_end()

    def _first_raw(self) -> torch.Tensor:
        """Up to two raw images (the first samples) to build a model on."""
        return self._raw(np.arange(min(2, self.n)))[1]

    def device_first_x(self, device: torch.device | str) -> torch.Tensor:
        """A small standardised batch (no augmentation, no counting) to build a model on."""
        raw = self._first_raw()
        gen = self.image_data_generator
        x = raw.to(device).to(gen.working_dtype).to(gen.dtype_torch)
        return gen.standardize_batch(x)


def _image_numpy(t: torch.Tensor) -> np.ndarray:
    return t.numpy() if t.dtype != torch.bfloat16 else t.float().numpy()


def _to_numpy(t: Any) -> Any:
    if isinstance(t, (list, tuple)):  # multi_output targets
        return [_to_numpy(v) for v in t]
    if isinstance(t, torch.Tensor):
        return t.detach().cpu().numpy()
    return t


def _check_save(where: str, save_to_dir: Any, save_format: str) -> None:
    if save_to_dir is not None and not os.path.isdir(save_to_dir):
        raise _error(where, "save_to_dir an existing directory", save_to_dir=save_to_dir)
    if save_format.lower() not in ("png", "jpg", "jpeg", "bmp", "gif", "tif", "tiff", "webp"):
        raise _error(
            where, "save_format an image format like 'png' or 'jpeg'", save_format=save_format
        )


class NumpyArrayIterator(Iterator):
    """Batches from in-memory images `x` (N, H, W, C) and optional `y` / `sample_weight`."""

    def __init__(
        self,
        x: Any,
        y: Any,
        image_data_generator: Any,
        batch_size: int = 32,
        shuffle: bool = False,
        sample_weight: Any = None,
        seed: int | None = None,
        data_format: str | None = None,
        save_to_dir: str | None = None,
        save_prefix: str = "",
        save_format: str = "png",
        subset: str | None = None,
        ignore_class_split: bool = False,
        dtype: str | None = None,
    ) -> None:
        where = "NumpyArrayIterator"
        if data_format not in (None, "channels_last"):
            raise _error(where, "data_format 'channels_last'", data_format=data_format)
        x, misc = _split_misc(x)
        if isinstance(x, torch.Tensor):
            x = x.detach().cpu().numpy()
        x = np.asarray(x)
        bad = [i for i, m in enumerate(misc) if len(m) != len(x)]
        if bad:
            raise _error(
                where,
                "every array of x_misc (x=(images, x_misc)) as long as the images",
                x_len=len(x),
                x_misc_lens=[len(m) for m in misc],
            )
        if x.dtype == object or x.dtype.kind not in "biuf":
            raise _error(where, "a numeric array of images x", x_dtype=str(x.dtype))
        if x.ndim != 4:
            raise _error(where, "x of rank 4 (samples, height, width, channels)", x_shape=x.shape)
        if x.shape[-1] not in (1, 3, 4):
            warnings.warn(
                f"NumpyArrayIterator: expected 1, 3 or 4 channels on the last axis "
                f"(channels_last), received: x.shape={x.shape}",
                stacklevel=3,
            )
        y = None if y is None else _as_array(y)
        if y is not None and len(y) != len(x):
            raise _error(where, "x and y of the same length", x_len=len(x), y_len=len(y))
        sample_weight = None if sample_weight is None else _as_array(sample_weight)
        if sample_weight is not None and len(sample_weight) != len(x):
            raise _error(
                where,
                "one sample_weight per image",
                x_len=len(x),
                sample_weight_len=len(sample_weight),
            )
        if subset is not None:
            if subset not in ("training", "validation"):
                raise _error(where, "subset None, 'training' or 'validation'", subset=subset)
            split = image_data_generator._validation_split
            if not split:
                raise _error(
                    where,
                    "validation_split > 0 in the ImageDataGenerator when subset is set",
                    validation_split=split,
                )
            cut = int(len(x) * split)  # Keras: the FIRST fraction is the validation subset
            if y is not None and not ignore_class_split:
                if not np.array_equal(np.unique(y[:cut]), np.unique(y[cut:])):
                    raise _error(
                        where,
                        "the same classes in both subsets (shuffle sorted data first, or pass "
                        "ignore_class_split=True)",
                        validation_classes=np.unique(y[:cut]).tolist()[:10],
                        training_classes=np.unique(y[cut:]).tolist()[:10],
                    )
            part = slice(None, cut) if subset == "validation" else slice(cut, None)
            x = x[part]
            misc = [m[part] for m in misc]
            y = None if y is None else y[part]
            sample_weight = None if sample_weight is None else sample_weight[part]
            if len(x) == 0:
                raise _error(where, "samples in the subset", subset=subset, samples=0)
        if len(x) == 0:
            raise _error(where, "at least one image", x_len=0)
        _check_save(where, save_to_dir, save_format)
        # uint8 stays uint8 (4x less memory; converted on the device); the rest as float32
        if x.dtype != np.uint8 and x.dtype != np.float64:
            x = x.astype(np.float32, copy=False)
        elif x.dtype == np.float64:
            x = x.astype(np.float32)
        self.x = torch.from_numpy(np.ascontiguousarray(x))
        # Keras's x=(images, x_misc): arrays that travel with each batch, not augmented
        self.x_misc = [torch.from_numpy(np.ascontiguousarray(_misc_dtype(m))) for m in misc]
        self.y = y
        self.sample_weight = sample_weight
        self.image_data_generator = image_data_generator
        self.dtype = dtype or image_data_generator.dtype
        self.data_format = "channels_last"
        self.save_to_dir = save_to_dir
        self.save_prefix = save_prefix
        self.save_format = save_format
        self._on_device: dict[str, tuple] = {}
        super().__init__(len(x), batch_size, shuffle, seed)

    def _raw(self, indices: np.ndarray) -> tuple[np.ndarray, torch.Tensor]:
        return indices, self.x[torch.from_numpy(np.asarray(indices, dtype=np.int64))]

    def _with_misc(self, x: torch.Tensor, kept: np.ndarray, device: torch.device) -> Any:
        """x, or [x, *x_misc rows] when the iterator was given x=(images, x_misc)."""
        if not self.x_misc:
            return x
        idx = torch.from_numpy(np.asarray(kept, dtype=np.int64))
        return [x, *(m[idx].to(device) for m in self.x_misc)]

    def _build(self, kept: np.ndarray, raw: torch.Tensor, gen: torch.Generator, device) -> Batch:
        x, y, sw = super()._build(kept, raw, gen, device)
        return self._with_misc(x, kept, torch.device(device)), y, sw

    def device_first_x(self, device: torch.device | str) -> Any:
        x = super().device_first_x(device)
        return self._with_misc(x, np.arange(x.shape[0]), torch.device(device))

    def _labels(self, kept: np.ndarray, x: torch.Tensor, device: torch.device) -> tuple:
        if self.y is None:
            return None, None
        if device.type == "cpu":
            return self.y[kept], None if self.sample_weight is None else self.sample_weight[kept]
        y_all, sw_all = self._device_arrays(device)
        idx = torch.from_numpy(np.asarray(kept, dtype=np.int64)).to(device)
        return y_all[idx], None if sw_all is None else sw_all[idx]

    def _device_arrays(self, device: torch.device) -> tuple:
        key = str(device)
        if key not in self._on_device:
            self._on_device[key] = (
                _label_tensor(self.y).to(device),
                None
                if self.sample_weight is None
                else _label_tensor(self.sample_weight).to(device),
            )
        return self._on_device[key]

    def device_epoch(self, device: torch.device | str) -> PyIterator[Batch]:
        """As the base, but with the whole `x` moved to the device once, then gathered there."""
        device = torch.device(device)
        if device.type == "cpu":
            yield from self._cpu_epoch()
            return
        x_dev = self.x.to(device)
        if self.index_array is None:
            self._set_index_array()
        for i in range(len(self)):
            kept = self._indices(i)
            gen = self._batch_generator()
            raw = x_dev[torch.from_numpy(np.asarray(kept, dtype=np.int64)).to(device)]
            x = self._transform(raw, gen, kept)
            yield (self._with_misc(x, kept, device), *self._labels(kept, x, device))
        self.on_epoch_end()

    def _cpu_epoch(self) -> PyIterator[Batch]:
        cpu = torch.device("cpu")
        if self.index_array is None:
            self._set_index_array()
        for i in range(len(self)):
            kept = self._indices(i)
            gen = self._batch_generator()
            _, raw = self._raw(kept)
            x = self._transform(raw, gen, kept)
            y, sw = (None, None) if self.y is None else self._device_arrays(cpu)
            idx = torch.from_numpy(np.asarray(kept, dtype=np.int64))
            x = self._with_misc(x, kept, cpu)
            yield (x, None if y is None else y[idx], None if sw is None else sw[idx])
        self.on_epoch_end()


def _split_misc(x: Any) -> tuple[Any, list[np.ndarray]]:
    """Keras's flow(x=(images, x_misc)): x_misc is one array or a list of arrays."""
    if not isinstance(x, (tuple, list)):
        return x, []
    if len(x) != 2:
        raise _error(
            "NumpyArrayIterator",
            "x as images, or a tuple (images, x_misc)",
            x_type=type(x).__name__,
            x_len=len(x),
        )
    images, misc = x
    parts = list(misc) if isinstance(misc, (tuple, list)) else [misc]
    return images, [_as_array(m) for m in parts]


def _misc_dtype(a: np.ndarray) -> np.ndarray:
    if a.dtype == object or a.dtype.kind not in "biuf":
        raise _error("NumpyArrayIterator", "numeric x_misc arrays", x_misc_dtype=str(a.dtype))
    return a.astype(np.float32) if a.dtype == np.float64 else a


def _as_array(v: Any) -> np.ndarray:
    if isinstance(v, torch.Tensor):
        return v.detach().cpu().numpy()
    return np.asarray(v)


def _label_tensor(a: np.ndarray) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(a))
    return t.float() if t.dtype in (torch.float64, torch.float16) else t


__all__ = ["BatchIndexError", "Iterator", "NumpyArrayIterator"]
