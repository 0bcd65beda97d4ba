"""`Loss.validate`: the target mistakes caught before training, with messages that say
what to change, and the correct targets that pass."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from loss_data import onehot

from lamina import losses

RNG = np.random.default_rng(0)


def _raises(loss, y, out, *fragments):
    with pytest.raises(ValueError) as err:
        losses.get(loss).validate(y, out)
    msg = str(err.value)
    for f in fragments:
        assert f in msg, msg
    return msg


def test_validate_catches_target_mistakes():
    labels = RNG.integers(0, 10, 50)
    _raises(
        "categorical_crossentropy",
        labels,
        (None, 10),
        "Loss 'categorical_crossentropy' expected",
        "received: y_true.shape=(50,)",
        "sparse_categorical_crossentropy",
        "lamina.utils.to_categorical",
    )
    _raises(
        "categorical_crossentropy",
        labels[:, None],
        (None, 10),
        "received: y_true.shape=(50, 1)",
        "sparse_categorical_crossentropy",
    )
    _raises(
        "sparse_categorical_crossentropy",
        onehot(labels, 10),
        (None, 10),
        "Loss 'sparse_categorical_crossentropy' expected integer class labels",
        "received: y_true.shape=(50, 10)",
        "categorical_crossentropy",
    )
    _raises(
        "sparse_categorical_crossentropy",
        labels + 1,
        (None, 10),
        "expected class labels in [0, 10)",
        "min=1",
        "max=10",
        "C=10",
        "1-based",
    )
    _raises("sparse_categorical_crossentropy", labels, (None, 5), "min=0", "max=9", "C=5")
    _raises("sparse_categorical_crossentropy", torch.tensor([0, -1, 2]), (None, 3), "min=-1")
    _raises(
        "binary_crossentropy",
        np.array([0.0, 1.0, 2.0]),
        (None, 1),
        "Loss 'binary_crossentropy' expected targets in [0, 1]",
        "max=2",
    )
    _raises("binary_crossentropy", np.array([-1.0, 1.0]), (None, 1), "min=-1", "hinge")
    _raises(
        "mse",
        onehot(labels, 10),
        (None, 28, 10),
        "Loss 'mean_squared_error' expected targets of shape (N, 28, 10)",
        "received: y_true.shape=(50, 10)",
        "add a Flatten() layer before the Dense layers",
    )
    _raises("categorical_crossentropy", onehot(labels, 10), (None, 28, 10), "add a Flatten() layer")
    _raises("sparse_categorical_crossentropy", labels, (None, 28, 10), "add a Flatten() layer")
    _raises(
        "mse", RNG.normal(size=(50, 3)), (None, 1), "expected targets of shape (N, 1)", "(50, 3)"
    )
    _raises("mse", labels, (None, 10), "to_categorical")
    _raises("mse", np.array([[1.0], [np.nan]]), (None, 1), "expected finite targets")
    _raises(
        "categorical_crossentropy",
        onehot(labels % 1, 1),
        (None, 1),
        "one unit per class",
        "binary_crossentropy",
    )


def test_validate_accepts_correct_targets():
    labels = RNG.integers(0, 10, 50)
    losses.get("sparse_categorical_crossentropy").validate(labels, (None, 10))
    losses.get("sparse_categorical_crossentropy").validate(
        labels[:, None].astype(np.float32), (None, 10)
    )
    losses.get("sparse_categorical_crossentropy").validate(torch.as_tensor(labels), (None, 10))
    losses.SparseCategoricalCrossentropy(ignore_class=255).validate(np.r_[labels, 255], (None, 10))
    losses.get("sparse_categorical_crossentropy").validate(
        RNG.integers(0, 10, (4, 6)), (None, 6, 10)
    )
    losses.get("categorical_crossentropy").validate(onehot(labels, 10), (None, 10))
    losses.get("categorical_crossentropy").validate(np.zeros((4, 6, 3)), (None, 6, 3))
    losses.get("binary_crossentropy").validate(RNG.integers(0, 2, 50), (None, 1))
    losses.get("binary_crossentropy").validate(RNG.integers(0, 2, 50).astype(bool), (None, 1))
    losses.get("binary_crossentropy").validate(RNG.integers(0, 2, (50, 3)), (None, 3))
    losses.get("mse").validate(RNG.normal(size=(50, 3)), (None, 3))
    losses.get("mse").validate(RNG.normal(size=50), (None, 1))
    losses.get("mse").validate(RNG.normal(size=(50, 28, 28, 1)), (None, 28, 28, 1))
    losses.LossFunctionWrapper(lambda t, p: (t - p).abs()).validate(np.zeros((3, 9)), (None, 2))
