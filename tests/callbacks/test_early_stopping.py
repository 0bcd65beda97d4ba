"""EarlyStopping driven through sequences of epoch logs (Keras semantics; Keras 3 as reference)."""

from __future__ import annotations

import numpy as np
import pytest
from callback_fakes import CopyingModel, drive, keras_or_skip

from lamina import callbacks

EARLY_STOPPING_CASES = [
    ({}, [1.0, 0.9, 0.95, 0.8], "val_loss", 3),  # patience 0: first non-improvement stops
    ({"patience": 2}, [1.0, 0.9, 0.95, 0.94, 0.93, 0.5], "val_loss", 4),
    ({"patience": 2}, [1.0, 0.9, 0.95, 0.85, 0.93, 0.8], "val_loss", 6),  # improvement resets
    ({"patience": 1, "min_delta": 0.05}, [1.0, 0.97, 0.96, 0.5], "val_loss", 2),
    ({"patience": 1, "min_delta": 0.05}, [1.0, 0.94, 0.96, 0.5], "val_loss", 3),
    ({"patience": 1}, [0.5, 0.6, 0.55, 0.58], "val_accuracy", 3),  # auto -> max
    ({"patience": 1, "mode": "min"}, [0.5, 0.6, 0.55, 0.58], "val_accuracy", 2),
    ({"patience": 1, "mode": "max"}, [1.0, 2.0, 1.5, 3.0], "val_score", 3),
    ({"patience": 1}, [0.5, 0.6, 0.55, 0.58], "val_auc", 3),
    ({"patience": 1}, [0.5, 0.6, 0.55, 0.58], "mae", 2),  # unknown names -> min
    ({"patience": 2, "baseline": 0.5}, [0.9, 0.8, 0.85, 0.7], "val_loss", 3),
    ({"patience": 2}, [0.9, 0.8, 0.85, 0.7], "val_loss", 4),  # same values without baseline
    ({"patience": 2, "baseline": 0.85}, [0.9, 0.8, 0.85, 0.7, 0.6], "val_loss", 5),
    ({"start_from_epoch": 2}, [1.0, 2.0, 3.0, 4.0, 5.0], "val_loss", 4),
    ({}, [1.0, 2.0, 3.0, 4.0, 5.0], "val_loss", 2),
]


@pytest.mark.parametrize("kwargs, values, monitor, epochs_run", EARLY_STOPPING_CASES)
def test_early_stopping_stops_at_the_right_epoch(kwargs, values, monitor, epochs_run):
    cb = callbacks.EarlyStopping(monitor=monitor, **kwargs)
    ran, model, _ = drive(cb, values, monitor)
    assert ran == epochs_run
    assert model.stop_training == (epochs_run < len(values))
    assert cb.stopped_epoch == (epochs_run - 1 if epochs_run < len(values) else 0)


def test_early_stopping_restores_best_weights():
    cb = callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    ran, model, _ = drive(cb, [1.0, 0.5, 0.7, 0.8, 0.1])
    assert ran == 4 and cb.best_epoch == 1 and cb.best == 0.5
    np.testing.assert_array_equal(model.weights[0], [1.0, 1.0])


def test_early_stopping_restores_best_weights_without_stopping():
    cb = callbacks.EarlyStopping(patience=5, restore_best_weights=True)
    ran, model, _ = drive(cb, [1.0, 0.2, 0.7])
    assert ran == 3 and not model.stop_training
    np.testing.assert_array_equal(model.weights[0], [1.0, 1.0])


def test_early_stopping_without_restore_keeps_last_weights_and_resets_between_runs():
    cb = callbacks.EarlyStopping(patience=1)
    drive(cb, [1.0, 2.0, 3.0])
    ran, model, _ = drive(cb, [5.0, 4.0, 3.0])  # reused: best and wait start over
    assert ran == 3 and not model.stop_training
    np.testing.assert_array_equal(model.weights[0], [2.0, 2.0])


def test_early_stopping_warns_on_missing_monitor_listing_keys():
    cb = callbacks.EarlyStopping(monitor="val_loss")
    with pytest.warns(UserWarning, match=r"'val_loss'.*Available metrics are: loss, accuracy"):
        ran, model, _ = drive(cb, [1.0, 2.0], monitor="loss", extra={"accuracy": 0.5})
    assert ran == 2 and not model.stop_training


def test_early_stopping_rejects_unknown_mode():
    with pytest.raises(ValueError, match=r"received: mode='maximum'"):
        callbacks.EarlyStopping(mode="maximum")


# Keras 3 refuses mode='auto' for names other than losses without compiled metrics: skip those.
KERAS_COMPARABLE = [c for c in EARLY_STOPPING_CASES if "loss" in c[2] or "mode" in c[0]]


@pytest.mark.parametrize("kwargs, values, monitor, epochs_run", KERAS_COMPARABLE)
def test_early_stopping_agrees_with_keras(kwargs, values, monitor, epochs_run):
    keras = keras_or_skip()
    theirs = keras.callbacks.EarlyStopping(monitor=monitor, restore_best_weights=True, **kwargs)
    ours = callbacks.EarlyStopping(monitor=monitor, restore_best_weights=True, **kwargs)
    ran_theirs, model_theirs, _ = drive(theirs, values, monitor, model=CopyingModel())
    ran_ours, model_ours, _ = drive(ours, values, monitor, model=CopyingModel())
    assert ran_ours == ran_theirs == epochs_run
    np.testing.assert_array_equal(model_ours.weights[0], model_theirs.weights[0])
