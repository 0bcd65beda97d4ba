"""ModelCheckpoint: files written through model.save / save_weights, Keras's filepath
templates, and a monitor that fit can never log is an error when fit starts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina as keras
from lamina import callbacks, layers


def model_and_data():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [layers.Dense(4, activation="relu", input_shape=(3,)), layers.Dense(1)]
    )
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"], jit_compile=False)
    rng = np.random.default_rng(0)
    return (
        model,
        rng.normal(size=(32, 3)).astype("float32"),
        rng.normal(size=(32, 1)).astype("float32"),
    )


def test_templates_and_the_best_model(tmp_path):
    model, x, y = model_and_data()
    path = str(tmp_path / "m-{epoch:02d}-{val_loss:.4f}.keras")
    history = model.fit(
        x,
        y,
        epochs=3,
        validation_split=0.25,
        verbose=0,
        callbacks=[callbacks.ModelCheckpoint(path, save_best_only=True)],
    )
    losses = history.history["val_loss"]
    best = [i for i, v in enumerate(losses) if v == min(losses[: i + 1])]
    expected = sorted(f"m-{i + 1:02d}-{losses[i]:.4f}.keras" for i in best)
    assert sorted(p.name for p in tmp_path.iterdir()) == expected
    last = keras.models.load_model(tmp_path / expected[-1])
    assert isinstance(last, keras.Model)


def test_weights_only_goes_through_save_weights(tmp_path):
    model, x, y = model_and_data()
    path = str(tmp_path / "w-{epoch}.weights.h5")
    model.fit(
        x,
        y,
        epochs=2,
        verbose=0,
        callbacks=[callbacks.ModelCheckpoint(path, save_weights_only=True)],
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w-1.weights.h5", "w-2.weights.h5"]
    fresh, _, _ = model_and_data()
    fresh.load_weights(tmp_path / "w-2.weights.h5")
    assert all(torch.equal(a, b) for a, b in zip(fresh.weights, model.weights))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"filepath": "m.keras", "save_best_only": True}, "received: 'val_loss'; no validation"),
        ({"filepath": "m.keras", "save_best_only": True, "monitor": "acc"}, "received: 'acc'"),
        ({"filepath": "m-{val_mae:.2f}.keras"}, "received: 'val_mae'; no validation"),
    ],
)
def test_a_monitor_fit_never_logs_fails_before_training(tmp_path, kwargs, message):
    model, x, y = model_and_data()
    kwargs["filepath"] = str(tmp_path / kwargs["filepath"])
    before = [w.detach().clone() for w in model.weights]
    with pytest.raises(ValueError, match=message):
        model.fit(x, y, epochs=2, verbose=0, callbacks=[callbacks.ModelCheckpoint(**kwargs)])
    assert all(torch.equal(a, b.detach()) for a, b in zip(before, model.weights))  # no step ran
    assert list(tmp_path.iterdir()) == []


def test_without_save_best_only_the_monitor_is_not_needed(tmp_path):
    model, x, y = model_and_data()
    model.fit(
        x, y, epochs=1, verbose=0, callbacks=[callbacks.ModelCheckpoint(tmp_path / "m.keras")]
    )
    assert (tmp_path / "m.keras").is_file()


def test_early_stopping_and_plateau_only_warn(tmp_path):
    model, x, y = model_and_data()
    with pytest.warns(UserWarning, match="val_loss"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.EarlyStopping()])
    with pytest.warns(UserWarning, match="val_loss"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.ReduceLROnPlateau()])


def test_file_names_are_checked_when_made():
    with pytest.raises(ValueError, match=r"ending in \.lamina, \.keras"):
        callbacks.ModelCheckpoint("ckpt.pt")
    with pytest.raises(ValueError, match=r"ending in \.weights\.h5"):
        callbacks.ModelCheckpoint("ckpt.keras", save_weights_only=True)


def test_best_is_part_of_a_backup():
    cb = callbacks.ModelCheckpoint("m.keras", save_best_only=True)
    cb.best, cb._mode, cb._batches = 0.25, "min", 7
    other = callbacks.ModelCheckpoint("m.keras", save_best_only=True)
    other._restore_state(cb._backup_state())
    assert (other.best, other._mode, other._batches) == (0.25, "min", 7)
