"""TerminateOnNaN: a NaN or infinite loss stops training, after a batch or an epoch."""

from __future__ import annotations

import math

import numpy as np
import pytest
from callback_fakes import FakeModel

from lamina import callbacks


@pytest.mark.parametrize(
    "loss, stops", [(math.nan, True), (math.inf, True), (np.float32("nan"), True), (0.5, False)]
)
def test_terminate_on_nan(loss, stops):
    model = FakeModel()
    cbs = callbacks.CallbackList([callbacks.TerminateOnNaN()], model=model)
    cbs.on_train_batch_end(0, {"loss": 1.0})
    assert not model.stop_training
    cbs.on_train_batch_end(1, {"loss": loss})
    assert model.stop_training is stops
    model.stop_training = False
    cbs.on_epoch_end(0, {"loss": loss})
    assert model.stop_training is stops
