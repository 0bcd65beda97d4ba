"""Lamina: a Keras-compatible deep-learning library on PyTorch.

import lamina as keras
model = keras.Sequential([keras.layers.Dense(10, activation="softmax", input_shape=(784,))])
"""

__version__ = "0.1.0"

from lamina import (  # noqa: F401
    activations,
    applications,
    backend,
    callbacks,
    config,
    constraints,
    datasets,
    initializers,
    layers,
    losses,
    metrics,
    models,
    optimizers,
    preprocessing,
    random,
    registry,
    regularizers,
    saving,
    utils,
)
from lamina.layers import Input  # noqa: F401
from lamina.models import Model, Sequential  # noqa: F401
