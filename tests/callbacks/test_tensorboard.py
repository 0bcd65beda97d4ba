"""TensorBoard: the event files, read back with TensorBoard's own EventAccumulator, hold
History's values under Keras's names, batch values, histograms and the graph."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import lamina as keras
from lamina import callbacks, layers
from lamina.saving.weight_names import weight_tensors

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def model_and_data():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            layers.Dense(8, activation="relu", input_shape=(4,)),
            layers.Dropout(0.2),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=False,
    )
    rng = np.random.default_rng(0)
    return model, rng.normal(size=(64, 4)).astype("float32"), rng.integers(0, 3, 64)


def read(folder) -> event_accumulator.EventAccumulator:
    acc = event_accumulator.EventAccumulator(
        str(folder), size_guidance={"scalars": 0, "histograms": 0}
    )
    acc.Reload()
    return acc


def values(acc, tag):
    return [e.value for e in acc.Scalars(tag)], [e.step for e in acc.Scalars(tag)]


def test_epoch_scalars_equal_the_history(tmp_path):
    model, x, y = model_and_data()
    board = callbacks.TensorBoard(tmp_path, histogram_freq=1, update_freq=2)
    history = model.fit(
        x, y, batch_size=8, epochs=3, validation_split=0.25, verbose=0, callbacks=[board]
    )
    train, val = read(tmp_path / "train"), read(tmp_path / "validation")
    for name in ("loss", "accuracy"):
        got, steps = values(train, f"epoch_{name}")
        assert got == list(np.float32(history.history[name])) and steps == [0, 1, 2]
        got, steps = values(val, f"epoch_{name}")
        assert got == list(np.float32(history.history[f"val_{name}"])) and steps == [0, 1, 2]
    assert values(train, "epoch_learning_rate")[0] == [np.float32(0.001)] * 3
    # 6 batches an epoch, one value every 2: at global batches 2, 4, ..., 18
    assert values(train, "batch_loss")[1] == list(range(2, 19, 2))
    assert "batch_loss" not in val.Tags()["scalars"]
    histograms = train.Tags()["histograms"]
    assert sorted(histograms) == sorted(weight_tensors(model))  # "dense_3/kernel", ...
    assert [e.step for e in train.Histograms(histograms[0])] == [0, 1, 2]
    assert train.Tags()["graph"]


def test_epoch_only_and_no_validation(tmp_path):
    model, x, y = model_and_data()
    board = callbacks.TensorBoard(tmp_path, write_graph=False)
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[board])
    train = read(tmp_path / "train")
    assert values(train, "epoch_loss")[0] == list(np.float32(history.history["loss"]))
    assert "batch_loss" not in train.Tags()["scalars"] and not train.Tags()["graph"]
    assert not (tmp_path / "validation").exists()
    assert not callbacks.CallbackList([board]).needs_batch_hooks("train")


def test_a_graph_that_cannot_be_traced_is_skipped_with_a_warning(tmp_path):
    class Untraceable(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(3, activation="softmax")

        def call(self, x, training=False):
            if float(x.sum()) > 1e9:  # data-dependent Python control flow
                return self.dense(x * 2)
            return self.dense(x)

    model = Untraceable()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", jit_compile=False)
    _, x, y = model_and_data()
    board = callbacks.TensorBoard(tmp_path)
    with pytest.warns(UserWarning, match="TensorBoard could not trace"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[board])
    assert read(tmp_path / "train").Tags()["scalars"]


def test_a_missing_tensorboard_names_the_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    model, x, y = model_and_data()
    with pytest.raises(ImportError, match="pip install tensorboard"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.TensorBoard(tmp_path)])


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="update_freq="):
        callbacks.TensorBoard(update_freq=0)
    with pytest.raises(ValueError, match="histogram_freq="):
        callbacks.TensorBoard(histogram_freq=-1)
    with pytest.warns(UserWarning, match="profile_batch"):
        callbacks.TensorBoard(profile_batch=3)
