"""Turn what users pass to `fit` (arrays, tensors, Datasets, DataLoaders, Keras
Sequences) into batches of device tensors.

Arrays go to the device once; each epoch shuffles an index tensor on the device
and gathers batches from it, so there is no per-sample Python work and no host
sync per step. Strings (raw text for a TextVectorization or StringLookup inside the
model) stay NumPy object arrays of str on the host, gathered with the same order.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from lamina.config import torch_dtype
from lamina.tree import flatten, map_structure

Batch = tuple[Any, Any, Any]


def is_text(x: Any) -> bool:
    """Strings: a NumPy array of str/bytes, or a list/tuple whose leaves are str/bytes."""
    if isinstance(x, np.ndarray):
        if x.dtype.kind in "US":
            return True
        return x.dtype.kind == "O" and isinstance(next(iter(x.flat), None), (str, bytes))
    if isinstance(x, (list, tuple)) and x:
        first = x[0]
        while isinstance(first, (list, tuple)) and first:
            first = first[0]
        return isinstance(first, (str, bytes))
    return False


def as_text(x: Any) -> np.ndarray:
    """Strings as a NumPy object array (no fixed-width copy of long texts)."""
    if isinstance(x, np.ndarray):
        return x if x.dtype.kind == "O" else x.astype(object)
    if isinstance(x[0], (list, tuple)):
        return np.array([list(row) for row in x], dtype=object)
    arr = np.empty(len(x), dtype=object)
    arr[:] = list(x)
    return arr


def text_leaves(x: Any) -> Any:
    """`x` with each list of strings made one array (so it is one input, not many)."""
    if is_text(x):
        return as_text(x)
    if isinstance(x, dict):
        return {k: text_leaves(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(text_leaves(v) for v in x)
    return x


def to_tensor(x: Any, device: torch.device, name: str = "x") -> Any:
    """A NumPy array, list or tensor as a device tensor (float64/uint8 -> float32); arrays
    of strings stay on the host as object arrays (the model's text layer reads them)."""
    if is_text(x) and name.startswith("x"):
        return as_text(x)
    if isinstance(x, torch.Tensor):
        t = x
    else:
        arr = np.asarray(x)
        if arr.dtype == object:
            raise TypeError(
                f"Expected a numeric array for {name}, received: {name}.dtype=object "
                "(ragged lists? pad them to one length first)"
            )
        if arr.dtype.kind not in "biuf":
            raise TypeError(
                f"Expected a numeric array for {name}, received: {name}.dtype={arr.dtype}"
            )
        t = torch.from_numpy(np.ascontiguousarray(arr))
    if t.dtype in (torch.float64, torch.float16, torch.uint8) and name.startswith("x"):
        t = t.to(torch_dtype(None))
    elif t.dtype == torch.float64:
        t = t.to(torch_dtype(None))
    return t.to(device, non_blocking=True)


def _length(structure: Any, name: str) -> int:
    lengths = {int(t.shape[0]) for t in flatten(structure)}
    if len(lengths) != 1:
        raise ValueError(
            f"Expected all arrays in {name} to have the same number of samples, "
            f"received: lengths={sorted(lengths)}"
        )
    return lengths.pop()


def _all_finite(t: torch.Tensor) -> bool:
    """No NaN or Inf, without a full-size temporary: min and max propagate NaN."""
    low, high = torch.aminmax(t)
    return bool(torch.isfinite(low) & torch.isfinite(high))


def check_finite(structure: Any, name: str) -> None:
    """Raise a clear error when float inputs hold NaN or Inf (checked once, before training)."""
    for i, t in enumerate(flatten(structure)):
        if not isinstance(t, torch.Tensor):
            continue  # strings
        if t.is_floating_point() and t.numel() and not _all_finite(t):
            bad = (~torch.isfinite(t)).nonzero()[0].tolist()
            label = name if len(flatten(structure)) == 1 else f"{name}[{i}]"
            raise ValueError(
                f"Expected finite values in {label}, received: NaN or Inf at index {tuple(bad)} "
                f"(sample {bad[0]}). Clean or impute the data before training."
            )


class ArrayData:
    """In-memory arrays as device tensors, batched by index slicing."""

    def __init__(
        self,
        x: Any,
        y: Any = None,
        sample_weight: Any = None,
        batch_size: int | None = 32,
        shuffle: bool = True,
        device: torch.device | str = "cpu",
    ) -> None:
        self.device = torch.device(device)
        self.x = map_structure(lambda a: to_tensor(a, self.device, "x"), text_leaves(x))
        self.y = None if y is None else map_structure(lambda a: to_tensor(a, self.device, "y"), y)
        self.sample_weight = (
            None
            if sample_weight is None
            else to_tensor(sample_weight, self.device, "sample_weight")
        )
        self.n = _length(self.x, "x")
        if self.y is not None:
            ny = _length(self.y, "y")
            if ny != self.n:
                raise ValueError(
                    f"Expected x and y to have the same number of samples, "
                    f"received: len(x)={self.n}, len(y)={ny}"
                )
        if self.sample_weight is not None and self.sample_weight.shape[0] != self.n:
            raise ValueError(
                f"Expected one sample weight per sample ({self.n}), "
                f"received: len(sample_weight)={self.sample_weight.shape[0]}"
            )
        if self.n == 0:
            raise ValueError("Expected at least one sample, received: len(x)=0")
        self.batch_size = int(batch_size or 32)
        if self.batch_size <= 0:
            raise ValueError(f"Expected a positive batch_size, received: batch_size={batch_size}")
        self.shuffle = shuffle
        self.order: torch.Tensor | None = None  # the current epoch's permutation

    def __len__(self) -> int:
        return math.ceil(self.n / self.batch_size)

    def split(self, fraction: float) -> tuple[ArrayData, ArrayData]:
        """Keras's validation_split: the last `fraction` of samples, before shuffling."""
        if not 0.0 < fraction < 1.0:
            raise ValueError(
                f"Expected 0 < validation_split < 1, received: validation_split={fraction}"
            )
        cut = int(self.n * (1.0 - fraction))
        if cut == 0 or cut == self.n:
            raise ValueError(
                f"Expected validation_split to leave samples on both sides, received: "
                f"validation_split={fraction} with {self.n} samples"
            )

        def part(sl: slice) -> ArrayData:
            out = ArrayData.__new__(ArrayData)
            out.__dict__.update(self.__dict__)
            out.x = map_structure(lambda t: t[sl], self.x)
            out.y = None if self.y is None else map_structure(lambda t: t[sl], self.y)
            out.sample_weight = None if self.sample_weight is None else self.sample_weight[sl]
            out.n = cut if sl.start is None else self.n - cut
            return out

        return part(slice(None, cut)), part(slice(cut, None))

    def first_x(self) -> Any:
        return map_structure(lambda t: t[:2], self.x)

    def epoch(self, start: int = 0, order: torch.Tensor | None = None) -> Iterator[Batch]:
        """One epoch's batches; with shuffle, in a new order drawn from torch's generator.

        A resumed epoch passes the `order` it had (kept in `self.order`, which a backup
        saves) and the batch to `start` from: the batches before it are skipped unread.
        """
        bs = self.batch_size
        if order is not None:
            self._check_order(order)
            perm = order.to(self.device)
        else:
            perm = torch.randperm(self.n, device=self.device) if self.shuffle else None
        self.order = perm
        for first in range(start * bs, self.n, bs):
            index: Any = slice(first, first + bs) if perm is None else perm[first : first + bs]
            yield self.rows(index)

    def _check_order(self, order: torch.Tensor) -> None:
        if tuple(order.shape) != (self.n,) or order.dtype != torch.int64:
            raise ValueError(
                f"Expected a saved shuffle order of {self.n} int64 indices, received: "
                f"shape={tuple(order.shape)}, dtype={order.dtype} (is this the same data?)"
            )

    def rows(self, index: Any) -> Batch:
        """The batch of rows `index` (a slice: views; an index tensor: one gather each)."""
        return (
            _take(self.x, index),
            None if self.y is None else _take(self.y, index),
            None if self.sample_weight is None else _take(self.sample_weight, index),
        )


def _take(structure: Any, index: Any) -> Any:
    """Rows `index` (a slice: views; an index tensor: one gather) of every array."""
    if isinstance(index, slice):
        return map_structure(lambda t: t[index], structure)
    host: list[np.ndarray] = []  # the index on the host once, for string arrays

    def take(t: Any) -> Any:
        if isinstance(t, np.ndarray):
            if not host:
                host.append(index.cpu().numpy())
            return t[host[0]]
        return t.index_select(0, index)

    return map_structure(take, structure)


def _is_py_dataset(source: Any) -> bool:
    """A Keras PyDataset (lamina.utils.PyDataset or a look-alike): it runs its own epochs."""
    return hasattr(source, "num_batches") and hasattr(source, "max_queue_size")


class IterableData:
    """Batches from a DataLoader, a Keras Sequence (len + getitem) or an iterable."""

    def __init__(self, source: Any, device: torch.device | str, steps: int | None = None) -> None:
        self.source = source
        self.device = torch.device(device)
        self.steps = steps
        self._peeked: Any = None  # first_x's batch from a one-shot iterator, replayed

    def __len__(self) -> int:
        if self.steps is not None:
            return self.steps
        try:
            if _is_py_dataset(self.source):
                return self.source.num_batches or 0
            return len(self.source)
        except (TypeError, NotImplementedError):
            return 0  # unknown: the progress bar shows a count without a total

    def _unpack(self, batch: Any) -> Batch:
        if isinstance(batch, dict) and "x" in batch:
            batch = (batch["x"], batch.get("y"), batch.get("sample_weight"))
        if isinstance(batch, (tuple, list)) and 1 <= len(batch) <= 3 and not _is_array(batch):
            parts = list(batch) + [None] * (3 - len(batch))
        else:
            parts = [batch, None, None]
        x, y, sw = parts
        x = text_leaves(x)
        dev = self.device
        if dev.type == "cuda":  # page-locked host memory: the copy runs asynchronously
            x, y, sw = (None if v is None else map_structure(_pinned, v) for v in (x, y, sw))
        return (
            map_structure(lambda a: to_tensor(a, dev, "x"), x),
            None if y is None else map_structure(lambda a: to_tensor(a, dev, "y"), y),
            None if sw is None else to_tensor(sw, dev, "sample_weight"),
        )

    def _iterate(self) -> Iterator[Any]:
        src = self.source
        if _is_py_dataset(src):
            yield from src  # its own epoch: on_epoch_begin, workers' prefetching, on_epoch_end
        elif (
            hasattr(src, "__getitem__")
            and hasattr(src, "__len__")
            and not isinstance(src, DataLoader)
        ):
            for i in range(len(src)):
                yield src[i]
            if hasattr(src, "on_epoch_end"):
                src.on_epoch_end()
        else:
            if self._peeked is not None:  # the batch first_x took from a one-shot iterator
                batch, self._peeked = self._peeked, None
                yield batch
            # a for loop, not `yield from`: stopping an epoch early (steps_per_epoch) must not
            # close a generator the next epoch goes on reading
            for batch in src:
                yield batch

    def first_x(self) -> Any:
        src = self.source
        if _is_py_dataset(src) and hasattr(src, "__getitem__") and (src.num_batches or 0) > 0:
            return self._unpack(src[0])[0]  # a peek that starts no epoch
        if hasattr(src, "__next__"):  # a generator or iterator: take its first batch, replay it
            if self._peeked is None:
                try:
                    self._peeked = next(src)
                except StopIteration:
                    raise ValueError(
                        "Expected at least one batch, received: an exhausted iterator"
                    ) from None
            return self._unpack(self._peeked)[0]
        for batch in self._iterate():
            return self._unpack(batch)[0]
        raise ValueError("Expected at least one batch, received: an empty dataset")

    def _batches(self) -> Iterator[Batch]:
        # islice stops after `steps` batches without reading one more (which a generator
        # shared across epochs would lose)
        for batch in itertools.islice(self._iterate(), self.steps):
            yield self._unpack(batch)

    def epoch(self, start: int = 0, order: Any = None) -> Iterator[Batch]:
        """One epoch's batches. A resumed epoch (`start` > 0) reads and drops the batches
        before `start`: the same batches follow when the source repeats its order
        (`order` is for arrays; an iterable keeps its own)."""
        batches = self._batches()
        for _ in range(start):
            if next(batches, None) is None:
                break
        if self.device.type == "cuda":  # prefetch: copy batch i+1 while step i runs
            return one_ahead(batches)
        return batches


class DeviceSequenceData(IterableData):
    """Sequences that build their batches on the device themselves (ImageDataGenerator's
    iterators): `source.device_epoch(device)` yields (x, y, sample_weight) device tensors,
    so raw uint8 images go to the device and are converted and augmented there.

    With `steps`, each epoch takes `steps` batches from one continuing stream (a new pass,
    reshuffled, starts whenever the previous one ends), as Keras 2's fit_generator did.
    """

    def __init__(self, source: Any, device: torch.device | str, steps: int | None = None) -> None:
        super().__init__(source, device, steps)
        self._stream: Iterator[Batch] | None = None

    def first_x(self) -> Any:
        return self.source.device_first_x(self.device)

    def _forever(self) -> Iterator[Batch]:
        while True:
            yield from self.source.device_epoch(self.device)

    def _batches(self) -> Iterator[Batch]:
        if self.steps is None:
            yield from self.source.device_epoch(self.device)
            return
        if self._stream is None:
            self._stream = self._forever()
        for _ in range(self.steps):
            yield next(self._stream)


def one_ahead(batches: Iterator[Any]) -> Iterator[Any]:
    """Yield the same items, fetching each one step early (its device copy overlaps)."""
    ahead = None
    for batch in batches:
        if ahead is not None:
            yield ahead[0]
        ahead = (batch,)
    if ahead is not None:
        yield ahead[0]


def _pinned(a: Any) -> Any:
    """A CPU tensor or array in pinned memory (unchanged when it is not on the CPU)."""
    if isinstance(a, np.ndarray) and a.dtype.kind in "biuf":
        a = torch.from_numpy(np.ascontiguousarray(a))
    if isinstance(a, torch.Tensor) and a.device.type == "cpu" and not a.is_pinned():
        return a.pin_memory()
    return a


def _is_array(batch: Any) -> bool:
    return isinstance(batch, (list, tuple)) and all(np.isscalar(v) for v in batch)


def adapt(
    x: Any,
    y: Any = None,
    sample_weight: Any = None,
    batch_size: int | None = None,
    shuffle: bool = True,
    device: torch.device | str = "cpu",
    steps: int | None = None,
) -> ArrayData | IterableData:
    """Pick the adapter for `x`; `y` must be None when `x` yields batches itself.

    ImageDataGenerator iterators (anything with `device_epoch`/`device_first_x`) take the
    fast path, `DeviceSequenceData`: batches built on the device, no NumPy round trip.
    """
    if x is None:
        raise ValueError("Expected input data, received: x=None")
    if isinstance(x, Dataset) and not isinstance(x, DataLoader):
        if y is not None:
            raise ValueError("Expected y=None when x is a Dataset (it yields (x, y)), received: y")
        x = DataLoader(x, batch_size=batch_size or 32, shuffle=shuffle)
    if isinstance(x, DataLoader) or _yields_batches(x):
        if y is not None:
            raise ValueError(
                f"Expected y=None when x yields batches ({type(x).__name__}), received: y={type(y).__name__}"
            )
        if hasattr(x, "device_epoch") and hasattr(x, "device_first_x"):
            return DeviceSequenceData(x, device, steps)
        return IterableData(x, device, steps)
    return ArrayData(x, y, sample_weight, batch_size, shuffle, device)


def _yields_batches(x: Any) -> bool:
    if isinstance(x, (np.ndarray, torch.Tensor, list, tuple, dict)):
        return False
    return hasattr(x, "__iter__") or (hasattr(x, "__getitem__") and hasattr(x, "__len__"))
