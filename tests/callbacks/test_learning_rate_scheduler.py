"""LearningRateScheduler: the rate it sets at each epoch start, and bad schedules."""

from __future__ import annotations

import pytest
from callback_fakes import FakeModel

from lamina import callbacks


def test_learning_rate_scheduler_sets_rate_each_epoch():
    seen = []
    cb = callbacks.LearningRateScheduler(lambda epoch, lr: lr if epoch < 2 else lr * 0.5)
    model = FakeModel(0.1)
    cbs = callbacks.CallbackList([cb], model=model)
    for epoch in range(4):
        cbs.on_epoch_begin(epoch)
        seen.append(model.optimizer.learning_rate)
        logs = {"loss": 1.0}
        cbs.on_epoch_end(epoch, logs)
        assert logs["learning_rate"] == model.optimizer.learning_rate
    assert seen == pytest.approx([0.1, 0.1, 0.05, 0.025])


def test_learning_rate_scheduler_one_argument_schedule_and_bad_output():
    model = FakeModel()
    cb = callbacks.LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1))
    cb.set_model(model)
    cb.on_epoch_begin(2)
    assert model.optimizer.learning_rate == pytest.approx(0.03)
    bad = callbacks.LearningRateScheduler(lambda epoch, lr: "fast")
    bad.set_model(model)
    with pytest.raises(ValueError, match="expected the schedule to return a finite float"):
        bad.on_epoch_begin(0)
