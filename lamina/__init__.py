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
    classic,
    config,
    constraints,
    datasets,
    explain,
    initializers,
    layers,
    losses,
    metrics,
    models,
    ops,
    optimizers,
    preprocessing,
    random,
    registry,
    regularizers,
    saving,
    utils,
)
from lamina.layers import Input, Layer  # noqa: F401
from lamina.losses import Loss  # noqa: F401
from lamina.metrics import Metric  # noqa: F401
from lamina.models import Model, Sequential  # noqa: F401
from lamina.optimizers import Optimizer  # noqa: F401
from lamina.reporting import report  # noqa: F401
from lamina.variables import Variable  # noqa: F401
