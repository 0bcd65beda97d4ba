"""Utilities, as `keras.utils`: labels, seeding, sessions, images and the progress bar.

from lamina.utils import to_categorical, set_random_seed
y = to_categorical(labels, 10)
"""

from lamina.utils import np_utils
from lamina.utils.image_dataset import image_dataset_from_directory
from lamina.utils.image_utils import array_to_img, img_to_array, load_img, save_img
from lamina.utils.numerical_utils import normalize, to_categorical
from lamina.utils.packing import pack_x_y_sample_weight, unpack_x_y_sample_weight
from lamina.utils.progbar import Progbar
from lamina.utils.rng_utils import set_random_seed
from lamina.utils.sequence_utils import pad_sequences
from lamina.utils.session import clear_session
from lamina.utils.text_dataset import text_dataset_from_directory
from lamina.utils.timeseries_dataset import timeseries_dataset_from_array

__all__ = [
    "to_categorical",
    "normalize",
    "np_utils",
    "set_random_seed",
    "clear_session",
    "Progbar",
    "load_img",
    "img_to_array",
    "array_to_img",
    "save_img",
    "image_dataset_from_directory",
    "timeseries_dataset_from_array",
    "text_dataset_from_directory",
    "pad_sequences",
    "pack_x_y_sample_weight",
    "unpack_x_y_sample_weight",
]
