"""Lamina: a Keras-compatible deep-learning library on PyTorch.

    import lamina as keras
    model = keras.Sequential([keras.layers.Dense(10, activation="softmax", input_shape=(784,))])
"""

__version__ = "0.1.0"

from lamina import activations, config, initializers, layers, registry, regularizers  # noqa: F401
from lamina import models  # noqa: E402,F401
from lamina.layers import Input  # noqa: E402,F401
from lamina.models import Model, Sequential  # noqa: E402,F401
