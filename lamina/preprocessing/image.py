"""`keras.preprocessing.image`: image files to arrays and back, and ImageDataGenerator.

from lamina.preprocessing.image import ImageDataGenerator, load_img, img_to_array
"""

from lamina.preprocessing.dataframe_iterator import DataFrameIterator
from lamina.preprocessing.directory_iterator import DirectoryIterator
from lamina.preprocessing.image_generator import ImageDataGenerator
from lamina.preprocessing.iterators import Iterator, NumpyArrayIterator
from lamina.utils.image_utils import array_to_img, img_to_array, load_img, save_img

__all__ = [
    "DataFrameIterator",
    "DirectoryIterator",
    "ImageDataGenerator",
    "Iterator",
    "NumpyArrayIterator",
    "array_to_img",
    "img_to_array",
    "load_img",
    "save_img",
]
