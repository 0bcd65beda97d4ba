"""Utilities, as `keras.utils`: labels, seeding, sessions, images, audio and text folders,
the progress bar, custom-object registration, file caching, datasets and model plots.

from lamina.utils import to_categorical, set_random_seed
y = to_categorical(labels, 10)
"""

from lamina.random.dtypes import standardize_dtype
from lamina.utils import np_utils
from lamina.utils.audio_dataset import audio_dataset_from_directory
from lamina.utils.config import Config
from lamina.utils.dataset_split import split_dataset
from lamina.utils.feature_space import FeatureSpace
from lamina.utils.file_utils import get_file
from lamina.utils.image_dataset import image_dataset_from_directory
from lamina.utils.image_utils import array_to_img, img_to_array, load_img, save_img
from lamina.utils.io_utils import (
    disable_interactive_logging,
    enable_interactive_logging,
    is_interactive_logging_enabled,
)
from lamina.utils.model_visualization import model_to_dot, plot_model
from lamina.utils.numerical_utils import normalize, to_categorical
from lamina.utils.object_registration import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from lamina.utils.packing import pack_x_y_sample_weight, unpack_x_y_sample_weight
from lamina.utils.progbar import Progbar
from lamina.utils.py_dataset import PyDataset, Sequence
from lamina.utils.rng_utils import set_random_seed
from lamina.utils.sequence_utils import pad_sequences
from lamina.utils.serialization import deserialize_keras_object, serialize_keras_object
from lamina.utils.session import clear_session
from lamina.utils.symbolic_utils import get_source_inputs, is_keras_tensor
from lamina.utils.text_dataset import text_dataset_from_directory
from lamina.utils.timeseries_dataset import timeseries_dataset_from_array

__all__ = [
    "Config",
    "CustomObjectScope",
    "FeatureSpace",
    "Progbar",
    "PyDataset",
    "Sequence",
    "array_to_img",
    "audio_dataset_from_directory",
    "clear_session",
    "custom_object_scope",
    "deserialize_keras_object",
    "disable_interactive_logging",
    "enable_interactive_logging",
    "get_custom_objects",
    "get_file",
    "get_registered_name",
    "get_registered_object",
    "get_source_inputs",
    "image_dataset_from_directory",
    "img_to_array",
    "is_interactive_logging_enabled",
    "is_keras_tensor",
    "load_img",
    "model_to_dot",
    "normalize",
    "np_utils",
    "pack_x_y_sample_weight",
    "pad_sequences",
    "plot_model",
    "register_keras_serializable",
    "save_img",
    "serialize_keras_object",
    "set_random_seed",
    "split_dataset",
    "standardize_dtype",
    "text_dataset_from_directory",
    "timeseries_dataset_from_array",
    "to_categorical",
    "unpack_x_y_sample_weight",
]
