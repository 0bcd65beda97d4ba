"""Keras's `keras.preprocessing` path: image helpers live in `lamina.preprocessing.image`."""

from lamina.preprocessing import image

__all__ = ["image"]
