"""Keras-named optimizers backed by `torch.optim`, with Keras's defaults and API.

    model.compile(optimizer=optimizers.Adam(1e-3, global_clipnorm=1.0), loss="mse")
    optimizers.get("adam"); optimizers.schedules.ExponentialDecay(0.1, 1000, 0.96)

`base` holds the Optimizer class, `sgd`, `adaptive` and `adam` the Keras optimizers,
`torch_optimizer` the wrapper of any `torch.optim` optimizer, `update` the one update
every step goes through, `traced_rules` its tensor rules for the compiled step.
"""

from lamina.optimizers import schedules
from lamina.optimizers.adam import Adam, Adamax, AdamW, Nadam
from lamina.optimizers.adaptive import Adadelta, Adagrad, RMSprop
from lamina.optimizers.base import Optimizer
from lamina.optimizers.serialization import deserialize, get, serialize
from lamina.optimizers.sgd import SGD
from lamina.optimizers.torch_optimizer import TorchOptimizer
from lamina.optimizers.update import apply_update

__all__ = [
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "Nadam",
    "Optimizer",
    "RMSprop",
    "TorchOptimizer",
    "apply_update",
    "deserialize",
    "get",
    "schedules",
    "serialize",
]
