"""The model test_saved_step.py trains, importable by the fresh process it starts too.

Built-in layers only: the step's signature names each layer's module, so a layer
class defined in a test module would give the fresh process another signature.
"""

from __future__ import annotations

import numpy as np

import lamina
from lamina import layers, optimizers


def make_model(jit):
    lamina.utils.set_random_seed(0)
    model = lamina.Sequential(
        [
            layers.Dense(16, activation="relu", input_shape=(6,)),
            layers.BatchNormalization(),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=optimizers.RMSprop(0.01, momentum=0.5),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=jit,
        device="cpu",
    )
    return model


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 6)).astype("float32")
    return x, rng.integers(0, 3, size=96)


def train(jit, epochs=3):
    model = make_model(jit)
    x, y = data()
    hist = model.fit(x, y, batch_size=16, epochs=epochs, shuffle=False, verbose=0)
    return model, hist.history


def train_fused(jit, epochs=2):
    """Four steps per call with a decaying rate: the saved graph takes the rates too."""
    lamina.utils.set_random_seed(0)
    model = lamina.Sequential(
        [
            layers.Dense(8, activation="relu", input_shape=(6,)),
            layers.Dense(3, activation="softmax"),
        ]
    )
    schedule = optimizers.schedules.ExponentialDecay(0.1, 2, 0.7)
    model.compile(
        optimizer=optimizers.SGD(schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=jit,
        steps_per_execution=4,
        device="cpu",
    )
    x, y = data()
    hist = model.fit(x, y, batch_size=8, epochs=epochs, shuffle=False, verbose=0)
    return model, hist.history
