"""Saving and loading models: Lamina's `.lamina`, Keras 3's `.keras`, tf.keras's `.h5`.

Nothing in a file runs: configs name only registered classes (or `custom_objects`),
tensors are read with safetensors or h5py, never pickle. Writes are atomic.
"""

from lamina.saving.api import load_model, load_weights, save_model, save_weights
from lamina.saving.errors import FileFormatError, UnsafeFileError
from lamina.saving.registration import (
    custom_object_scope,
    get_registered_name,
    register_serializable,
)

register_keras_serializable = register_serializable  # Keras's spelling

__all__ = [
    "FileFormatError",
    "UnsafeFileError",
    "custom_object_scope",
    "get_registered_name",
    "load_model",
    "load_weights",
    "register_keras_serializable",
    "register_serializable",
    "save_model",
    "save_weights",
]
