"""Callbacks driven through sequences of epoch logs on a tiny fake model (Keras semantics)."""

from __future__ import annotations

import csv
import math
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


# ------------------------------------------------------------------------- EarlyStopping
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


# --------------------------------------------------------------------- ReduceLROnPlateau
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


# ----------------------------------------------------------------- LearningRateScheduler
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


# ------------------------------------------------------------------------------ History
def test_history_records_every_key_and_sets_model_history():
    history = callbacks.History()
    model = FakeModel()
    cbs = callbacks.CallbackList([history], model=model)
    cbs.on_train_begin()
    for epoch in range(3):
        cbs.on_epoch_end(
            epoch, {"loss": 1.0 / (epoch + 1), "val_loss": 2.0 - epoch, "accuracy": 0.1 * epoch}
        )
    assert history.epoch == [0, 1, 2]
    assert history.history == {
        "loss": [1.0, 0.5, 1.0 / 3],
        "val_loss": [2.0, 1.0, 0.0],
        "accuracy": [0.0, 0.1, 0.2],
    }
    assert model.history is history


def test_callback_list_add_history_and_params():
    cbs = callbacks.CallbackList([], add_history=True, model=FakeModel(), params={"epochs": 3})
    assert isinstance(cbs.history, callbacks.History) and len(cbs) == 1
    assert cbs.history.params == {"epochs": 3}
    late = callbacks.Callback()
    cbs.append(late)
    assert late.model is cbs.model and late.params == {"epochs": 3}


# ---------------------------------------------------------------------------- CSVLogger
def _read(path, sep=","):
    with open(path, newline="") as f:
        return list(csv.reader(f, delimiter=sep))


def test_csv_logger_writes_rows(tmp_path):
    path = tmp_path / "log.csv"
    cb = callbacks.CSVLogger(path)
    cbs = callbacks.CallbackList([cb], model=FakeModel())
    cbs.on_train_begin()
    cbs.on_epoch_end(0, {"loss": 0.5, "accuracy": 0.25})
    cbs.on_epoch_end(1, {"loss": 0.25})
    cbs.on_train_end()
    assert _read(path) == [["epoch", "accuracy", "loss"], ["0", "0.25", "0.5"], ["1", "NA", "0.25"]]


def test_csv_logger_append_and_separator(tmp_path):
    path = tmp_path / "log.csv"
    for start in (0, 2):
        cb = callbacks.CSVLogger(str(path), separator=";", append=True)
        cb.set_model(FakeModel())
        cb.on_train_begin()
        cb.on_epoch_end(start, {"loss": 1.0})
        cb.on_train_end()
    assert _read(path, ";") == [["epoch", "loss"], ["0", "1.0"], ["2", "1.0"]]
    cb = callbacks.CSVLogger(path)  # append=False overwrites
    cb.on_train_begin()
    cb.on_epoch_end(0, {"loss": 3.0})
    cb.on_train_end()
    assert _read(path) == [["epoch", "loss"], ["0", "3.0"]]


# ---------------------------------------------------------------------- LambdaCallback
def test_lambda_callback_calls_the_right_functions():
    calls = []
    cb = callbacks.LambdaCallback(
        on_train_begin=lambda logs: calls.append(("train_begin", logs)),
        on_epoch_begin=lambda epoch, logs: calls.append(("epoch_begin", epoch, logs)),
        on_epoch_end=lambda epoch, logs: calls.append(("epoch_end", epoch, logs)),
        on_batch_begin=lambda batch, logs: calls.append(("batch_begin", batch, logs)),
        on_batch_end=lambda batch, logs: calls.append(("batch_end", batch, logs)),
        on_train_end=lambda logs: calls.append(("train_end", logs)),
    )
    cbs = callbacks.CallbackList([cb], model=FakeModel())
    cbs.on_train_begin()
    cbs.on_epoch_begin(0)
    cbs.on_train_batch_begin(0)
    cbs.on_train_batch_end(0, {"loss": 2.0})
    cbs.on_batch_end(1, {"loss": 1.0})  # Keras 2 name of the same hook
    cbs.on_test_batch_end(0, {"loss": 9.0})  # not a training batch: not called
    cbs.on_epoch_end(0, {"loss": 1.5})
    cbs.on_train_end({"loss": 1.5})
    assert calls == [
        ("train_begin", None),
        ("epoch_begin", 0, None),
        ("batch_begin", 0, None),
        ("batch_end", 0, {"loss": 2.0}),
        ("batch_end", 1, {"loss": 1.0}),
        ("epoch_end", 0, {"loss": 1.5}),
        ("train_end", {"loss": 1.5}),
    ]


def test_lambda_callback_rejects_unknown_hooks():
    with pytest.raises(
        TypeError, match=r"received: on_epoch_ends=\.\.\. Did you mean: 'on_epoch_end'"
    ):
        callbacks.LambdaCallback(on_epoch_ends=print)


def test_needs_batch_hooks_reports_only_real_batch_work():
    class Batchy(callbacks.Callback):
        def on_batch_end(self, batch, logs=None):
            pass

    epoch_only = callbacks.LambdaCallback(on_epoch_end=lambda e, logs: None)
    assert not callbacks.CallbackList([callbacks.History(), epoch_only]).needs_batch_hooks("train")
    assert callbacks.CallbackList([Batchy()]).needs_batch_hooks("train")
    assert not callbacks.CallbackList([Batchy()]).needs_batch_hooks("test")
    batch_lambda = callbacks.LambdaCallback(on_batch_begin=lambda b, logs: None)
    assert callbacks.CallbackList([batch_lambda]).needs_batch_hooks("train")
    assert callbacks.CallbackList([callbacks.TerminateOnNaN()]).needs_batch_hooks("train")


def test_keras2_batch_hook_names_receive_train_batches():
    seen = []

    class Legacy(callbacks.Callback):
        def on_batch_begin(self, batch, logs=None):
            seen.append(("begin", batch))

        def on_batch_end(self, batch, logs=None):
            seen.append(("end", batch, logs))

    cbs = callbacks.CallbackList([Legacy()])
    cbs.on_train_batch_begin(3)
    cbs.on_train_batch_end(3, {"loss": 1.0})
    assert seen == [("begin", 3), ("end", 3, {"loss": 1.0})]


# ---------------------------------------------------------------------- TerminateOnNaN
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


# --------------------------------------------------- Keras 3 itself, when installed
@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


class CopyingModel(FakeModel):
    def get_weights(self):  # like Keras models (Keras's EarlyStopping relies on the copy)
        return [w.copy() for w in self.weights]


# Keras 3 refuses mode='auto' for names other than losses without compiled metrics: skip those.
KERAS_COMPARABLE = [c for c in EARLY_STOPPING_CASES if "loss" in c[2] or "mode" in c[0]]


@pytest.mark.parametrize("kwargs, values, monitor, epochs_run", KERAS_COMPARABLE)
def test_early_stopping_agrees_with_keras(keras, kwargs, values, monitor, epochs_run):
    theirs = keras.callbacks.EarlyStopping(monitor=monitor, restore_best_weights=True, **kwargs)
    ours = callbacks.EarlyStopping(monitor=monitor, restore_best_weights=True, **kwargs)
    ran_theirs, model_theirs, _ = drive(theirs, values, monitor, model=CopyingModel())
    ran_ours, model_ours, _ = drive(ours, values, monitor, model=CopyingModel())
    assert ran_ours == ran_theirs == epochs_run
    np.testing.assert_array_equal(model_ours.weights[0], model_theirs.weights[0])


@pytest.mark.parametrize("kwargs, values, expected_lrs", PLATEAU_CASES)
def test_reduce_lr_on_plateau_agrees_with_keras(keras, kwargs, values, expected_lrs):
    _, _, lrs = drive(keras.callbacks.ReduceLROnPlateau(**kwargs), values)
    assert lrs == pytest.approx(expected_lrs)
