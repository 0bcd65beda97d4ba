"""Learning-rate schedules (optimizers/schedules.py): Keras's formulas, per-step use by an
optimizer, config round trips, and Keras 3 itself."""

from __future__ import annotations

import math

import pytest
import torch
from least_squares import import_keras, run_lamina

from lamina import optimizers
from lamina.optimizers import schedules


@pytest.fixture(scope="module")
def keras():
    return import_keras()


SCHEDULE_CASES = [
    (schedules.ExponentialDecay(0.1, decay_steps=4, decay_rate=0.5), lambda s: 0.1 * 0.5 ** (s / 4)),
    (schedules.ExponentialDecay(0.1, 4, 0.5, staircase=True), lambda s: 0.1 * 0.5 ** (s // 4)),
    (schedules.PiecewiseConstantDecay([3, 6], [1.0, 0.5, 0.1]), lambda s: 1.0 if s <= 3 else 0.5 if s <= 6 else 0.1),
    (schedules.InverseTimeDecay(0.1, decay_steps=2, decay_rate=0.5), lambda s: 0.1 / (1 + 0.5 * s / 2)),
    (schedules.InverseTimeDecay(0.1, 2, 0.5, staircase=True), lambda s: 0.1 / (1 + 0.5 * (s // 2))),
    (schedules.CosineDecay(0.1, decay_steps=8, alpha=0.1),
     lambda s: 0.1 * (0.9 * 0.5 * (1 + math.cos(math.pi * min(s, 8) / 8)) + 0.1)),
    (schedules.CosineDecay(0.0, decay_steps=8, warmup_target=0.2, warmup_steps=4),
     lambda s: 0.2 * s / 4 if s < 4 else 0.2 * 0.5 * (1 + math.cos(math.pi * min(s - 4, 8) / 8))),
    (schedules.PolynomialDecay(0.1, decay_steps=8, end_learning_rate=0.01, power=2.0),
     lambda s: 0.09 * (1 - min(s, 8) / 8) ** 2 + 0.01),
]  # fmt: skip


@pytest.mark.parametrize("schedule, formula", SCHEDULE_CASES, ids=lambda c: type(c).__name__)
def test_schedule_values_and_per_step_use(schedule, formula):
    for s in range(14):
        assert schedule(s) == pytest.approx(formula(s), rel=1e-12, abs=1e-15)
    assert schedule(torch.tensor(5)) == pytest.approx(formula(5))
    # Linear loss sum(w): gradient 1, so SGD moves w by exactly the sum of per-step rates.
    w = torch.nn.Parameter(torch.zeros((), dtype=torch.float64))
    opt = optimizers.SGD(learning_rate=schedule)
    opt.build([w])
    for s in range(10):
        assert opt.learning_rate == pytest.approx(formula(s))
        w.grad = torch.ones((), dtype=torch.float64)
        opt.step()
    assert w.item() == pytest.approx(-sum(formula(s) for s in range(10)), rel=1e-12)
    clone = schedules.deserialize(schedules.serialize(schedule))
    assert clone.get_config() == schedule.get_config()


def test_legacy_decay_argument():
    w = torch.nn.Parameter(torch.zeros((), dtype=torch.float64))
    opt = optimizers.SGD(learning_rate=0.1, decay=0.5)
    opt.build([w])
    for _ in range(4):
        w.grad = torch.ones((), dtype=torch.float64)
        opt.step()
    assert w.item() == pytest.approx(-sum(0.1 / (1 + 0.5 * s) for s in range(4)))


def test_learning_rate_property_updates_param_groups():
    opt = optimizers.Adam(learning_rate=0.01)
    run_lamina(opt, steps=1)
    opt.learning_rate = 0.5
    assert opt.learning_rate == 0.5 and opt.lr == 0.5
    assert all(g["lr"] == 0.5 for g in opt.torch_optimizer.param_groups)
    with pytest.raises(
        ValueError, match=r"expected learning_rate >= 0, received: learning_rate=-1"
    ):
        opt.learning_rate = -1
    scheduled = optimizers.SGD(learning_rate=schedules.ExponentialDecay(0.1, 10, 0.5))
    assert isinstance(scheduled.schedule, schedules.ExponentialDecay)
    with pytest.raises(TypeError, match="LearningRateSchedule"):
        scheduled.learning_rate = 0.1


@pytest.mark.parametrize("schedule, formula", SCHEDULE_CASES, ids=lambda c: type(c).__name__)
def test_schedules_match_keras_itself(keras, schedule, formula):
    theirs = getattr(keras.optimizers.schedules, type(schedule).__name__)(**schedule.get_config())
    for s in range(14):
        assert schedule(s) == pytest.approx(float(theirs(s)), rel=1e-5, abs=1e-9)  # Keras: float32


def test_lamina_schedules_is_the_optimizers_module():
    from lamina import schedules as old_path

    assert old_path.ExponentialDecay is schedules.ExponentialDecay
    assert old_path.deserialize is schedules.deserialize
