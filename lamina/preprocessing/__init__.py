"""Keras's `keras.preprocessing` path: image helpers and ImageDataGenerator live in
`lamina.preprocessing.image` (also importable from here)."""

from lamina.preprocessing import image
from lamina.preprocessing.image import (
    DataFrameIterator,
    DirectoryIterator,
    ImageDataGenerator,
    NumpyArrayIterator,
)

__all__ = [
    "DataFrameIterator",
    "DirectoryIterator",
    "ImageDataGenerator",
    "NumpyArrayIterator",
    "image",
]
