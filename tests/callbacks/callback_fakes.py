"""A tiny stand-in for a model, and a driver that runs callbacks through epochs of logs."""

from __future__ import annotations

import os

import numpy as np
import pytest

from lamina import callbacks


class FakeOptimizer:
    def __init__(self, learning_rate: float = 0.1):
        self.learning_rate = learning_rate


class FakeModel:
    """What the engine guarantees: stop_training, optimizer, get_weights/set_weights."""

    def __init__(self, learning_rate: float = 0.1):
        self.stop_training = False
        self.optimizer = FakeOptimizer(learning_rate)
        self.weights = [np.zeros(2)]

    def get_weights(self):
        return self.weights  # deliberately aliased: callbacks must copy what they keep

    def set_weights(self, weights):
        self.weights = [np.array(w) for w in weights]


class CopyingModel(FakeModel):
    def get_weights(self):  # like Keras models (Keras's EarlyStopping relies on the copy)
        return [w.copy() for w in self.weights]


def drive(cb, values, monitor="val_loss", model=None, extra=None):
    """Run epochs with logs {monitor: value}; weights in epoch e are all e. Returns (epochs run, model, lrs)."""
    model = model or FakeModel()
    cbs = callbacks.CallbackList(
        [cb], model=model, params={"epochs": len(values), "steps": 1, "verbose": 0}
    )
    cbs.on_train_begin()
    ran, lrs = 0, []
    for epoch, value in enumerate(values):
        model.weights[0][:] = epoch  # in place, like training
        cbs.on_epoch_begin(epoch)
        cbs.on_epoch_end(epoch, {monitor: value, **(extra or {})})
        lrs.append(model.optimizer.learning_rate)
        ran = epoch + 1
        if model.stop_training:
            break
    cbs.on_train_end()
    return ran, model, lrs


def keras_or_skip():
    """Keras 3 itself (on torch), the reference; the test is skipped when it is missing."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")
