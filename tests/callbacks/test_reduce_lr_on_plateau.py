"""ReduceLROnPlateau: the learning rate after each epoch of logs (Keras 3 as reference)."""

from __future__ import annotations

import pytest
from callback_fakes import FakeModel, drive, keras_or_skip

from lamina import callbacks

PLATEAU_CASES = [
    ({"patience": 2, "factor": 0.5}, [1.0] * 7, [0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125]),
    (
        {"patience": 2, "factor": 0.5, "cooldown": 2},
        [1.0] * 9,
        [0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125],
    ),
    ({"patience": 1, "factor": 0.1, "min_lr": 0.005}, [1.0] * 4, [0.1, 0.01, 0.005, 0.005]),
    ({"patience": 1, "factor": 0.5}, [1.0, 0.9, 0.8, 0.8, 0.7], [0.1, 0.1, 0.1, 0.05, 0.05]),
    ({"patience": 1, "factor": 0.5}, [1.0, 0.99995, 0.9], [0.1, 0.05, 0.05]),  # min_delta 1e-4
    ({"patience": 1, "factor": 0.5, "min_delta": 0.0}, [1.0, 0.99995], [0.1, 0.1]),
]


@pytest.mark.parametrize("kwargs, values, expected_lrs", PLATEAU_CASES)
def test_reduce_lr_on_plateau_schedule(kwargs, values, expected_lrs):
    cb = callbacks.ReduceLROnPlateau(**kwargs)
    _, _, lrs = drive(cb, values)
    assert lrs == pytest.approx(expected_lrs)


def test_reduce_lr_on_plateau_auto_mode_maximises_accuracy_and_logs_rate():
    cb = callbacks.ReduceLROnPlateau(monitor="val_accuracy", patience=1, factor=0.5)
    _, _, lrs = drive(cb, [0.5, 0.6, 0.7, 0.7], monitor="val_accuracy")
    assert lrs == pytest.approx([0.1, 0.1, 0.1, 0.05])
    logs = {"val_accuracy": 1.0}
    cb.set_model(FakeModel(0.3))
    cb.on_epoch_end(0, logs)
    assert logs["learning_rate"] == 0.3
    with pytest.raises(ValueError, match=r"expected 0 <= factor < 1, received: factor=1.5"):
        callbacks.ReduceLROnPlateau(factor=1.5)


@pytest.mark.parametrize("kwargs, values, expected_lrs", PLATEAU_CASES)
def test_reduce_lr_on_plateau_agrees_with_keras(kwargs, values, expected_lrs):
    keras = keras_or_skip()
    _, _, lrs = drive(keras.callbacks.ReduceLROnPlateau(**kwargs), values)
    assert lrs == pytest.approx(expected_lrs)
