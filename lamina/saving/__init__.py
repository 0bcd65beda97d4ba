"""Saving and loading models: Lamina's `.lamina`, Keras 3's `.keras`, tf.keras's `.h5`.

Nothing in a file runs: configs name only registered classes (or `custom_objects`),
tensors are read with safetensors or h5py, never pickle. Writes are atomic.
"""

from lamina.saving.errors import FileFormatError, UnsafeFileError

__all__ = ["FileFormatError", "UnsafeFileError"]
