"""Shared dataset plumbing: the cache folder, atomic .npz writes and verified loads.

Caches are plain, uncompressed .npz files read with `allow_pickle=False`, so a
cache file can never run code; a cache that fails verification is rebuilt.
"""

from __future__ import annotations

import os
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from lamina.io_utils import atomic_write

# key -> (shape, dtype, maximum allowed value or None)
ArraySpec = Mapping[str, tuple[tuple[int, ...], np.dtype, int | None]]


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are not on this machine; the message says how to get them."""


def lamina_home() -> Path:
    """`$LAMINA_HOME`, or ~/.lamina (the analogue of Keras's ~/.keras)."""
    env = os.environ.get("LAMINA_HOME")
    return Path(env).expanduser() if env else Path.home() / ".lamina"


def cache_dir() -> Path:
    """Where decoded datasets are cached: `$LAMINA_HOME/datasets` (default ~/.lamina/datasets)."""
    return lamina_home() / "datasets"


def cache_path(name: str | os.PathLike[str]) -> Path:
    """A cache file name relative to `cache_dir()`, or an absolute path as given."""
    path = Path(name).expanduser()
    return path if path.is_absolute() else cache_dir() / path


def check_arrays(arrays: Mapping[str, np.ndarray], spec: ArraySpec, source: str) -> None:
    """Raise ValueError unless `arrays` has exactly the keys, shapes, dtypes and ranges of `spec`."""
    if set(arrays) != set(spec):
        raise ValueError(
            f"Expected arrays {sorted(spec)} in {source}, received: keys={sorted(arrays)}"
        )
    for key, (shape, dtype, max_value) in spec.items():
        arr = arrays[key]
        if arr.shape != shape or arr.dtype != dtype:
            raise ValueError(
                f"Expected {key} with shape {shape} and dtype {np.dtype(dtype).name} in {source}, "
                f"received: shape={arr.shape}, dtype={arr.dtype.name}"
            )
        if max_value is not None and arr.size and int(arr.max()) > max_value:
            raise ValueError(
                f"Expected {key} values <= {max_value} in {source}, received: max={int(arr.max())}"
            )


def load_cached(path: Path, spec: ArraySpec) -> dict[str, np.ndarray] | None:
    """The verified arrays of the cache at `path`; None (with a warning if corrupt) to rebuild."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {key: f[key] for key in f.files}
        check_arrays(arrays, spec, str(path))
        return arrays
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as err:
        warnings.warn(
            f"Rebuilding the dataset cache {path}: it failed verification ({err}).",
            RuntimeWarning,
            stacklevel=3,
        )
        return None


def save_cache(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Write an uncompressed .npz atomically (temp file + os.replace); warn if impossible.

    Readers never see a half-written file, and concurrent writers each replace it whole.
    The file's mode follows the umask, as with `open()`.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path, fsync=True) as f:
            np.savez(f, **arrays)
    except OSError as err:
        warnings.warn(
            f"Could not write the dataset cache {path} ({err}); the data will be decoded "
            "again next time. Set LAMINA_HOME to a writable folder to cache it.",
            RuntimeWarning,
            stacklevel=3,
        )
