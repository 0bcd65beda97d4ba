"""`lamina.applications.resnet50`: Keras's `keras.applications.resnet50` module (ResNet50 alone)."""

from lamina.applications.resnet import ResNet50, decode_predictions, preprocess_input

__all__ = ["ResNet50", "decode_predictions", "preprocess_input"]
