"""Every public name of keras.optimizers.schedules against Keras 3 (torch backend): values
at many steps for several configurations, configs, and serialization."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

import lamina
from lamina.optimizers import schedules

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

STEPS = [0, 1, 2, 3, 5, 7, 10, 11, 15, 20, 31, 50, 63, 99, 100, 101, 150, 250, 1000]
CONFIGS = {
    "CosineDecay": [
        {"initial_learning_rate": 0.1, "decay_steps": 100},
        {"initial_learning_rate": 0.1, "decay_steps": 50, "alpha": 0.2},
        {"initial_learning_rate": 0.0, "decay_steps": 80, "warmup_target": 0.1, "warmup_steps": 20},
        {"initial_learning_rate": 0.01, "decay_steps": 30, "alpha": 0.1, "warmup_target": 0.2, "warmup_steps": 7},
    ],
    "CosineDecayRestarts": [
        {"initial_learning_rate": 0.1, "first_decay_steps": 10},
        {"initial_learning_rate": 0.1, "first_decay_steps": 10, "t_mul": 1.0, "m_mul": 0.5},
        {"initial_learning_rate": 0.5, "first_decay_steps": 7, "t_mul": 1.5, "m_mul": 0.9, "alpha": 0.1},
    ],
    "ExponentialDecay": [
        {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.9},
        {"initial_learning_rate": 0.1, "decay_steps": 7, "decay_rate": 0.5, "staircase": True},
    ],
    "InverseTimeDecay": [
        {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5},
        {"initial_learning_rate": 0.1, "decay_steps": 3, "decay_rate": 2.0, "staircase": True},
    ],
    "PiecewiseConstantDecay": [
        {"boundaries": [10, 50, 100], "values": [0.1, 0.05, 0.01, 0.001]},
        {"boundaries": [0], "values": [1.0, 0.5]},
    ],
    "PolynomialDecay": [
        {"initial_learning_rate": 0.1, "decay_steps": 100},
        {"initial_learning_rate": 0.1, "decay_steps": 30, "end_learning_rate": 0.01, "power": 2.0},
        {"initial_learning_rate": 0.1, "decay_steps": 30, "power": 0.5, "cycle": True},
    ],
}  # fmt: skip


def values(schedule) -> list[float]:
    return [float(np.asarray(schedule(s))) for s in STEPS]


def check_values(name: str) -> None:
    for config in CONFIGS[name]:
        theirs = getattr(keras.optimizers.schedules, name)(**config)
        ours = getattr(schedules, name)(**config)
        np.testing.assert_allclose(values(ours), values(theirs), rtol=2e-6, atol=1e-8, err_msg=name)
        kc, lc = theirs.get_config(), ours.get_config()
        assert lc == {k: kc[k] for k in kc}, (name, lc, kc)


class _Halving:
    """One custom schedule written twice, against each base class."""

    @staticmethod
    def rate(step):
        return 0.1 * 0.5 ** (int(step) // 2)


def check_base() -> None:
    """A user subclass of LearningRateSchedule drives an optimizer the same way in both."""

    class Theirs(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            return keras.ops.convert_to_tensor(_Halving.rate(keras.ops.convert_to_numpy(step)))

        def get_config(self):
            return {}

    class Ours(schedules.LearningRateSchedule):
        def __call__(self, step):
            return _Halving.rate(step)

        def get_config(self):
            return {}

    w0 = np.array([1.0, -2.0], "float32")
    kv = keras.Variable(w0.copy())
    kopt = keras.optimizers.SGD(learning_rate=Theirs())
    lp = torch.nn.Parameter(torch.tensor(w0.copy()))
    lopt = lamina.optimizers.SGD(learning_rate=Ours())
    for step in range(6):
        g = np.array([1.0, 0.5 * step], "float32")
        kopt.apply([keras.ops.convert_to_tensor(g)], [kv])
        lopt.apply([torch.tensor(g)], [lp])
    np.testing.assert_allclose(lp.detach().numpy(), kv.numpy(), rtol=1e-6)
    with pytest.raises(NotImplementedError):
        schedules.LearningRateSchedule()(0)


def check_serialization(which: str) -> None:
    for name, configs in CONFIGS.items():
        ours = getattr(schedules, name)(**configs[-1])
        theirs = getattr(keras.optimizers.schedules, name)(**configs[-1])
        ks, ls = keras.optimizers.schedules.serialize(theirs), schedules.serialize(ours)
        assert ls["class_name"] == ks["class_name"] and ls["config"] == ks["config"]
        if which == "deserialize":
            back = schedules.deserialize({"class_name": ks["class_name"], "config": ks["config"]})
            assert type(back) is type(ours)
            np.testing.assert_allclose(values(back), values(ours), rtol=1e-12)


SCHEDULES_PARITY = {
    **{f"optimizers.schedules.{n}": (lambda n=n: check_values(n)) for n in CONFIGS},
    "optimizers.schedules.LearningRateSchedule": check_base,
    "optimizers.schedules.serialize": lambda: check_serialization("serialize"),
    "optimizers.schedules.deserialize": lambda: check_serialization("deserialize"),
}


@pytest.mark.parametrize("name", sorted(SCHEDULES_PARITY))
def test_schedule_parity(name):
    SCHEDULES_PARITY[name]()
