"""Keras-named optimizers backed by `torch.optim`, with Keras's defaults and API.

    model.compile(optimizer=optimizers.Adam(1e-3, global_clipnorm=1.0), loss="mse")
    optimizers.get("adam"); optimizers.schedules.ExponentialDecay(0.1, 1000, 0.96)

`base` holds the Optimizer class, `sgd`, `adaptive`, `adam` and the one-file modules
(`lion`, `lamb`, `ftrl`, `adafactor`, `muon`, `schedule_free_adamw`: rules torch lacks,
over `keras_rule`) the Keras optimizers, `loss_scale_optimizer` and `multi_optimizer`
the wrappers (`wrapper`),
`torch_optimizer` the wrapper of any `torch.optim` optimizer, `update` the one update
every step goes through, `traced_rules` its tensor rules for the compiled step.
"""

from lamina.optimizers import schedules
from lamina.optimizers.adafactor import Adafactor
from lamina.optimizers.adam import Adam, Adamax, AdamW, Nadam
from lamina.optimizers.adaptive import Adadelta, Adagrad, RMSprop
from lamina.optimizers.base import Optimizer
from lamina.optimizers.ftrl import Ftrl
from lamina.optimizers.lamb import Lamb
from lamina.optimizers.lion import Lion
from lamina.optimizers.loss_scale_optimizer import LossScaleOptimizer
from lamina.optimizers.multi_optimizer import MultiOptimizer
from lamina.optimizers.muon import Muon
from lamina.optimizers.optimizer_map import OptimizerMap
from lamina.optimizers.schedule_free_adamw import ScheduleFreeAdamW
from lamina.optimizers.serialization import deserialize, get, serialize
from lamina.optimizers.sgd import SGD
from lamina.optimizers.torch_optimizer import TorchOptimizer
from lamina.optimizers.update import apply_update
from lamina.optimizers.variable_paths import tag_paths

__all__ = [
    "SGD",
    "Adadelta",
    "Adafactor",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "Ftrl",
    "Lamb",
    "Lion",
    "LossScaleOptimizer",
    "MultiOptimizer",
    "Muon",
    "Nadam",
    "Optimizer",
    "OptimizerMap",
    "RMSprop",
    "ScheduleFreeAdamW",
    "TorchOptimizer",
    "apply_update",
    "deserialize",
    "get",
    "schedules",
    "serialize",
    "tag_paths",
]
