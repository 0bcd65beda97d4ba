"""Keras's `keras.preprocessing` path: image helpers and ImageDataGenerator live in
`lamina.preprocessing.image` (also importable from here); Keras 2's text `Tokenizer` in
`lamina.preprocessing.text`, `pad_sequences` in `lamina.preprocessing.sequence`; the
dataset builders Keras 3 also exposes here come from `lamina.utils`."""

from lamina.preprocessing import image, sequence, text
from lamina.preprocessing.image import (
    DataFrameIterator,
    DirectoryIterator,
    ImageDataGenerator,
    NumpyArrayIterator,
)
from lamina.utils import (
    image_dataset_from_directory,
    text_dataset_from_directory,
    timeseries_dataset_from_array,
)

__all__ = [
    "DataFrameIterator",
    "DirectoryIterator",
    "ImageDataGenerator",
    "NumpyArrayIterator",
    "image",
    "sequence",
    "image_dataset_from_directory",
    "text",
    "text_dataset_from_directory",
    "timeseries_dataset_from_array",
]
