"""Opening HDF5 files from others with h5py, checked as a whole before any tensor is read.

An HDF5 file can point outside itself (external links, external raw storage, virtual
datasets that read other files), name a filter plugin for the HDF5 library to load,
declare a dataset far larger than the file (reading it allocates the declared size),
link a group into itself, or nest without end. Keras's files do none of these, so
`open_h5` refuses them all, each with a `FileFormatError` (an `UnsafeFileError` for
anything reaching outside the file) naming the file and the object inside it.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import h5py
import numpy as np

from lamina.saving.errors import FileFormatError, UnsafeFileError, where

MAX_DEPTH = 64
MAX_OBJECTS = 200_000
MAX_ATTR_BYTES = 64 << 20  # layer_names / model_config attributes are far smaller
# Filters built into HDF5 and h5py: anything else makes HDF5 load a plugin from disk.
SAFE_FILTERS = {1: "gzip", 2: "shuffle", 3: "fletcher32", 4: "szip", 5: "nbit", 6: "scaleoffset"}
SAFE_FILTERS[32000] = "lzf"
COMPRESSION_RATIO = 1_100  # gzip's ceiling is ~1,032:1
_SLACK = 1 << 16  # small datasets may be stored compactly or left at their fill value


class CheckedH5:
    """An HDF5 file that passed `check`: `label` names it in errors, `size` is its bytes."""

    def __init__(self, file: h5py.File, label: str, size: int) -> None:
        self.file = file
        self.label = label
        self.size = size

    def where(self, inner: str) -> str:
        return f"{self.label} at {inner!r}"

    def group(self, inner: str) -> h5py.Group | None:
        """The group at `inner` ("" for the root), or None when the file has none there."""
        if not inner:
            return self.file
        found = self.file.get(inner)
        if found is None:
            return None
        if not isinstance(found, h5py.Group):
            raise FileFormatError(f"Expected a group, received: a dataset in {self.where(inner)}")
        return found

    def array(self, dataset: Any, inner: str) -> np.ndarray:
        """A dataset's values as a NumPy array (numbers or booleans only)."""
        if not isinstance(dataset, h5py.Dataset):
            raise FileFormatError(
                f"Expected a dataset of numbers, received: a group in {self.where(inner)}"
            )
        if dataset.dtype.kind not in "biuf":
            raise FileFormatError(
                f"Expected a dataset of numbers, received: dtype={dataset.dtype} in "
                f"{self.where(inner)}"
            )
        try:
            return np.asarray(dataset[()])
        except (OSError, ValueError, TypeError, RuntimeError) as err:
            raise FileFormatError(
                f"Expected a readable dataset, received: a damaged one in {self.where(inner)} "
                f"({err})"
            ) from None

    def text_attr(self, obj: Any, name: str, inner: str) -> str | None:
        """A string attribute (stored as str or bytes), None when absent."""
        if name not in obj.attrs:
            return None
        value = _attr(obj, name, self.where(inner))
        if isinstance(value, np.ndarray) and value.shape == ():
            value = value.item()
        value = _decoded(value, name, self.where(inner))
        if not isinstance(value, str):
            raise FileFormatError(
                f"Expected attribute {name!r} to be a string, received: {type(value).__name__} "
                f"in {self.where(inner)}"
            )
        return value

    def names_attr(self, obj: Any, name: str, inner: str) -> list[str] | None:
        """A list-of-strings attribute (Keras's `layer_names`, `weight_names`), also chunked
        as `name0`, `name1`, ... when it outgrew one object header."""
        if name in obj.attrs:
            chunks = [_attr(obj, name, self.where(inner))]
        elif f"{name}0" in obj.attrs:
            chunks, i = [], 0
            while f"{name}{i}" in obj.attrs:
                chunks.append(_attr(obj, f"{name}{i}", self.where(inner)))
                i += 1
        else:
            return None
        out: list[str] = []
        for chunk in chunks:
            values = np.asarray(chunk).reshape(-1) if np.size(chunk) else []
            for v in values:
                text = _decoded(v, name, self.where(inner))
                if not isinstance(text, str):
                    raise FileFormatError(
                        f"Expected attribute {name!r} to hold strings, received: {v!r} in "
                        f"{self.where(inner)}"
                    )
                out.append(text)
        return out


@contextmanager
def open_h5(
    source: str | os.PathLike | bytes | IO[bytes], label: Any = None
) -> Iterator[CheckedH5]:
    """The HDF5 file at `source` (a path, bytes, or a binary file object), checked."""
    if isinstance(source, (str, os.PathLike)):
        text = where(label if label is not None else source)
        if not os.path.isfile(source):
            raise FileFormatError(f"Expected an HDF5 file, received: {text}, which is no file")
        size = os.path.getsize(source)
        opener: Any = os.fspath(source)
    else:
        if isinstance(source, (bytes, bytearray)):
            source = io.BytesIO(bytes(source))
        text = where(label)
        pos = source.tell()
        size = source.seek(0, io.SEEK_END) - pos
        source.seek(pos)
        opener = source
    try:
        file = h5py.File(opener, "r")
    except (OSError, ValueError, RuntimeError) as err:
        raise FileFormatError(
            f"Expected an HDF5 file, received: {text}, which is not one ({err})"
        ) from None
    try:
        checked = CheckedH5(file, text, size)
        try:
            check(checked)
        except (OSError, RuntimeError, ValueError, TypeError, KeyError) as err:
            if isinstance(err, FileFormatError):
                raise
            raise FileFormatError(
                f"Expected an HDF5 file with readable object headers, received: {text}, "
                f"which is damaged ({err})"
            ) from None
        yield checked
    finally:
        file.close()


def check(h5: CheckedH5) -> None:
    """Walk every link once: refuse links out, cycles, deep nesting and oversized datasets."""
    seen: set[tuple[int, int]] = set()
    budget = [MAX_OBJECTS, 0]  # objects left, declared bytes so far

    def visit(group: h5py.Group, inner: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise FileFormatError(
                f"Expected groups nested at most {MAX_DEPTH} deep, received: deeper in "
                f"{h5.where(inner)}"
            )
        _check_attrs(group, h5, inner)
        try:
            names = list(group.keys())
        except (OSError, RuntimeError, ValueError) as err:
            raise FileFormatError(
                f"Expected a readable group, received: {h5.where(inner)} ({err})"
            ) from None
        for name in names:
            path = f"{inner}/{name}" if inner else name
            budget[0] -= 1
            if budget[0] < 0:
                raise FileFormatError(
                    f"Expected at most {MAX_OBJECTS} objects, received: more in {h5.label}"
                )
            _check_link(group, name, h5, path)
            try:
                obj = group[name]
            except (OSError, KeyError, RuntimeError, ValueError) as err:
                raise FileFormatError(
                    f"Expected a readable object, received: {h5.where(path)} ({err})"
                ) from None
            key = _address(obj)
            if key in seen:
                raise FileFormatError(
                    f"Expected each object under one name (a tree), received: {h5.where(path)} "
                    "linked again (a cycle or a shared object)"
                )
            seen.add(key)
            if isinstance(obj, h5py.Group):
                visit(obj, path, depth + 1)
            elif isinstance(obj, h5py.Dataset):
                budget[1] += _check_dataset(obj, h5, path)
                if budget[1] > h5.size * COMPRESSION_RATIO + _SLACK:
                    raise FileFormatError(
                        f"Expected datasets whose declared sizes fit in the file's "
                        f"{h5.size} bytes, received: {budget[1]} bytes declared up to "
                        f"{h5.where(path)}"
                    )
            else:
                raise FileFormatError(
                    f"Expected groups and datasets only, received: {type(obj).__name__} in "
                    f"{h5.where(path)}"
                )

    seen.add(_address(h5.file))
    visit(h5.file, "", 0)


def _check_link(group: h5py.Group, name: str, h5: CheckedH5, path: str) -> None:
    try:
        link = group.get(name, getlink=True)
    except (OSError, KeyError, RuntimeError, ValueError, TypeError) as err:
        raise FileFormatError(
            f"Expected a plain link, received: {h5.where(path)} of an unknown kind ({err})"
        ) from None
    if isinstance(link, h5py.ExternalLink):
        raise UnsafeFileError(
            f"Expected objects inside the file, received: an external link to "
            f"{link.filename!r}:{link.path!r} in {h5.where(path)}"
        )
    if isinstance(link, h5py.SoftLink):
        raise UnsafeFileError(
            f"Expected no soft links (Keras writes none), received: a link to {link.path!r} "
            f"in {h5.where(path)}"
        )
    if not isinstance(link, h5py.HardLink):
        raise FileFormatError(
            f"Expected a hard link, received: {type(link).__name__} in {h5.where(path)}"
        )


def _check_dataset(ds: h5py.Dataset, h5: CheckedH5, path: str) -> int:
    """Refuse storage outside the file and plugin filters; returns the declared bytes."""
    try:
        if ds.is_virtual:
            raise UnsafeFileError(
                f"Expected data stored in the file, received: a virtual dataset in {h5.where(path)}"
            )
        plist = ds.id.get_create_plist()
        if plist.get_external_count() > 0:
            raise UnsafeFileError(
                f"Expected data stored in the file, received: external storage "
                f"{plist.get_external(0)[0]!r} in {h5.where(path)}"
            )
        filters = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
        shape, itemsize = ds.shape, ds.dtype.itemsize
    except FileFormatError:
        raise
    except (OSError, RuntimeError, ValueError, TypeError) as err:
        raise FileFormatError(
            f"Expected a readable dataset header, received: {h5.where(path)} ({err})"
        ) from None
    unknown = [f for f in filters if f not in SAFE_FILTERS]
    if unknown:
        raise UnsafeFileError(
            f"Expected HDF5's built-in filters ({', '.join(SAFE_FILTERS.values())}), "
            f"received: filter ids {unknown} (a plugin HDF5 would load) in {h5.where(path)}"
        )
    _check_attrs(ds, h5, path)
    declared = int(np.prod(shape, dtype=object)) * itemsize if shape is not None else 0
    room = h5.size * (COMPRESSION_RATIO if filters else 1) + _SLACK
    if declared > room:
        raise FileFormatError(
            f"Expected a dataset no larger than the file allows ({h5.size} bytes), received: "
            f"shape={shape} of {ds.dtype} ({declared} bytes) in {h5.where(path)}"
        )
    return declared


def _check_attrs(obj: Any, h5: CheckedH5, path: str) -> None:
    try:
        names = list(obj.attrs.keys())
        for name in names:
            info = obj.attrs.get_id(name)
            shape = info.shape or ()
            size = int(np.prod(shape, dtype=object)) * max(info.dtype.itemsize, 1)
            if size > MAX_ATTR_BYTES:
                raise FileFormatError(
                    f"Expected attributes under {MAX_ATTR_BYTES} bytes, received: {name!r} of "
                    f"shape {shape} in {h5.where(path)}"
                )
    except FileFormatError:
        raise
    except (OSError, RuntimeError, ValueError, TypeError, KeyError) as err:
        raise FileFormatError(
            f"Expected readable attributes, received: {h5.where(path)} ({err})"
        ) from None


def _attr(obj: Any, name: str, text: str) -> Any:
    try:
        return obj.attrs[name]
    except (OSError, RuntimeError, ValueError, TypeError, KeyError) as err:
        raise FileFormatError(
            f"Expected a readable attribute {name!r}, received: {text} ({err})"
        ) from None


def _address(obj: Any) -> tuple[int, int]:
    """The object's identity in the file (hard links to one object share it)."""
    info = h5py.h5o.get_info(obj.id)
    return (info.fileno, info.addr)


def _decoded(value: Any, name: str, text: str) -> Any:
    """`value` as str when it is UTF-8 bytes; other values pass through unchanged."""
    try:
        if isinstance(value, str):
            value.encode("utf-8")  # h5py hands undecodable bytes over as surrogates
            return value
        if not isinstance(value, bytes):
            return value
        return value.decode("utf-8", errors="strict")
    except (UnicodeDecodeError, UnicodeEncodeError):
        raise FileFormatError(
            f"Expected attribute {name!r} to be UTF-8 text, received: {value[:40]!r} in {text}"
        ) from None
