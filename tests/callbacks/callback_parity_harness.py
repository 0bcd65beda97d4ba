"""Twin models (Keras 3 on torch, the oracle, and Lamina) and a driver that runs a callback
of either through the same scripted hooks, so callbacks compare without sharing training."""

from __future__ import annotations

import os

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")
import keras  # noqa: E402

import lamina  # noqa: E402

RNG = np.random.default_rng(23)
X = RNG.normal(size=(16, 3)).astype("float32")
Y = RNG.normal(size=(16, 2)).astype("float32")
X_VAL = RNG.normal(size=(8, 3)).astype("float32")
Y_VAL = RNG.normal(size=(8, 2)).astype("float32")
KERNEL = RNG.normal(size=(3, 2)).astype("float32")
BIAS = np.zeros(2, "float32")


def keras_model(optimizer=None, metrics=("mae",)):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="dense")])
    model.compile(
        optimizer=optimizer or keras.optimizers.SGD(0.1), loss="mse", metrics=list(metrics)
    )
    model.set_weights([KERNEL, BIAS])
    return model


def lamina_model(optimizer=None, metrics=("mae",)):
    model = lamina.Sequential([lamina.layers.Input((3,)), lamina.layers.Dense(2, name="dense")])
    model.compile(
        optimizer=optimizer or lamina.optimizers.SGD(0.1), loss="mse", metrics=list(metrics)
    )
    model.build((None, 3))
    model.set_weights([KERNEL, BIAS])
    return model


def rate(model) -> float:
    return float(np.asarray(keras.ops.convert_to_numpy(model.optimizer.learning_rate)))


def mark(model, value: float) -> None:
    model.set_weights([np.full(w.shape, value, "float32") for w in model.get_weights()])


def marker(model) -> float:
    return float(model.get_weights()[0].flat[0])


def drive(cb, model, epoch_logs, params=None):
    """Epoch e: weights all e, on_epoch_begin, on_epoch_end(e, logs[e]); stop when asked.

    Returns what a comparison needs: the epoch training stopped at, the rate after each
    epoch, the logs as the callback left them and the final weights' marker."""
    cb.set_model(model)
    cb.set_params({"epochs": len(epoch_logs), "steps": 1, "verbose": 0, **(params or {})})
    model.stop_training = False
    cb.on_train_begin({})
    stopped, rates, seen = None, [], []
    for epoch, logs in enumerate(epoch_logs):
        mark(model, epoch)
        cb.on_epoch_begin(epoch, {})
        logs = dict(logs)
        cb.on_epoch_end(epoch, logs)
        seen.append(logs)
        rates.append(round(rate(model), 7))
        if model.stop_training:
            stopped = epoch
            break
    cb.on_train_end({})
    return {"stopped": stopped, "rates": rates, "logs": seen, "marker": marker(model)}
