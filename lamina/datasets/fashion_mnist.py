"""Fashion-MNIST (Zalando clothing images), offline, as `keras.datasets.fashion_mnist`.

Read from the Debian package `dataset-fashion-mnist` (gzipped IDX files under
/usr/share/datasets/fashion-mnist), or from the folder given as `path=` or in
`$LAMINA_FASHION_MNIST_DIR` (same file names, gzipped or not).

    (x_train, y_train), (x_test, y_test) = lamina.datasets.fashion_mnist.load_data()
    fashion_mnist.CLASS_NAMES[y_train[0]]  # 'Ankle boot'
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from lamina.datasets._common import DatasetNotFoundError
from lamina.datasets.idx import read_idx

DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"
ENV_VAR = "LAMINA_FASHION_MNIST_DIR"
CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def data_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """The folder read: `path`, else `$LAMINA_FASHION_MNIST_DIR`, else the Debian location."""
    return Path(path if path is not None else os.environ.get(ENV_VAR) or DEFAULT_DIR)


def _find(folder: Path, stem: str) -> Path:
    for name in (stem + ".gz", stem):
        if (folder / name).is_file():
            return folder / name
    raise DatasetNotFoundError(
        f"Expected the Fashion-MNIST file {stem}.gz in a folder, received: path={str(folder)!r} "
        f"({'file missing' if folder.is_dir() else 'no such folder'}). Install the Debian "
        f"package with `apt-get install dataset-fashion-mnist` (files go to {DEFAULT_DIR}), "
        f"or pass path= / set {ENV_VAR} to a folder holding the four IDX files."
    )


def load_data(path: str | os.PathLike[str] | None = None):
    """Fashion-MNIST as `(x_train, y_train), (x_test, y_test)`: uint8 (N, 28, 28), (N,) labels."""
    folder = data_dir(path)
    arrays = {
        key: read_idx(
            _find(folder, stem), expected_dtype=np.uint8, expected_ndim=3 if key[0] == "x" else 1
        )
        for key, stem in FILES.items()
    }
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.shape[1:] != (28, 28) or len(x) != len(y):
            raise ValueError(
                f"Expected {split} images of shape (N, 28, 28) matching N labels in {folder}, "
                f"received: images={x.shape}, labels={y.shape}"
            )
        if y.size and int(y.max()) > 9:
            raise ValueError(
                f"Expected {split} labels in 0..9 in {folder}, received: max={int(y.max())}"
            )
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])
