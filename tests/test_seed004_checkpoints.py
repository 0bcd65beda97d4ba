"""Seed 004's callback code runs as written (import changed) on the courses' MLP and CNN
on the real MNIST: EarlyStopping plus ModelCheckpoint('model.h5', save_best_only=True),
then load_model('model.h5') evaluates to the best epoch's accuracy and trains on."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

import lamina

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
import mnist_checkpoints  # noqa: E402


@pytest.mark.parametrize(
    "kind, name, samples, floor",
    [
        ("mlp", "model.h5", 20000, 0.94),
        ("cnn", "model.h5", 3000, 0.93),
        ("mlp", "model.keras", 6000, 0.89),
        ("mlp", "model.lamina", 6000, 0.89),
    ],
)
def test_seed_004_callbacks_save_the_best_model_and_it_reloads(
    tmp_path, kind, name, samples, floor
):
    lamina.utils.set_random_seed(0)
    path = str(tmp_path / name)
    result = mnist_checkpoints.run(kind, path, epochs=4, train_samples=samples, verbose=0)
    x_train, y_train, x_test, y_test = mnist_checkpoints.data(kind, samples)
    # The file holds the best epoch's model: its validation loss is the best one seen.
    reloaded = lamina.models.load_model(path)
    x_val, y_val = x_train[int(len(x_train) * 0.9) :], y_train[int(len(y_train) * 0.9) :]
    val_loss = reloaded.evaluate(x_val, y_val, verbose=0)[0]
    assert val_loss == pytest.approx(result["best_val_loss"], rel=1e-4)
    # It evaluates as the model that was saved, and well: the courses' networks on MNIST.
    loss, accuracy = reloaded.evaluate(x_test, y_test, verbose=0)
    assert accuracy == pytest.approx(result["reloaded_test_accuracy"], abs=1e-6)
    assert accuracy > floor
    # It trains on: one more epoch on the training data lowers the training loss.
    first = result["loss_after_one_more_epoch"]
    assert np.isfinite(first) and first < loss + 0.2
    again = result["reloaded_model"].fit(x_train, y_train, batch_size=128, epochs=1, verbose=0)
    assert again.history["loss"][0] < first
