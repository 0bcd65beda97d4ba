"""Keras's `keras.preprocessing` path: image helpers and ImageDataGenerator live in
`lamina.preprocessing.image` (also importable from here); Keras 2's text `Tokenizer` in
`lamina.preprocessing.text`, `pad_sequences` in `lamina.preprocessing.sequence`."""

from lamina.preprocessing import image, sequence, text
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
    "sequence",
    "text",
]
