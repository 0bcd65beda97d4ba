"""Resolving losses (names, aliases, dicts, callables) and config round trips through
`get`, `serialize`, `deserialize` and `from_config`."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from loss_data import softmax, t64

from lamina import losses

RNG = np.random.default_rng(0)


def test_get_resolves_names_aliases_dicts_and_callables():
    assert isinstance(losses.get("mse"), losses.MeanSquaredError)
    assert isinstance(losses.get("MeanAbsoluteError"), losses.MeanAbsoluteError)
    assert isinstance(losses.get("log_loss"), losses.BinaryCrossentropy)
    assert isinstance(losses.get("kld"), losses.KLDivergence)
    assert isinstance(losses.get("sse"), losses.SumSquaredError)
    loss = losses.Huber(delta=2.5)
    assert losses.get(loss) is loss
    assert losses.get(None) is None
    with pytest.raises(ValueError, match="Did you mean: 'mean_squared_error'"):
        losses.get("mean_sqared_error")

    def my_loss(y_true, y_pred):
        return (y_true - y_pred).abs().sum(-1)

    wrapped = losses.get(my_loss)
    assert isinstance(wrapped, losses.LossFunctionWrapper) and wrapped.name == "my_loss"
    assert wrapped(t64([[1.0, 2.0]]), t64([[0.0, 0.0]])).item() == pytest.approx(3.0)
    with pytest.raises(ValueError, match="expected reduction"):
        losses.MeanSquaredError(reduction="avg")


@pytest.mark.parametrize(
    "loss",
    [
        losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1, name="bce"),
        losses.CategoricalCrossentropy(label_smoothing=0.2, reduction="sum"),
        losses.SparseCategoricalCrossentropy(ignore_class=0),
        losses.Huber(0.5),
        losses.CosineSimilarity(axis=-1),
        losses.SumSquaredError(),
        losses.LossFunctionWrapper(losses.mean_absolute_error, reduction="none"),
    ],
)
def test_config_round_trip(loss):
    config = loss.get_config()
    again = losses.get(losses.serialize(loss))
    assert type(again) is type(loss) and again.get_config() == config
    assert type(loss).from_config(config).get_config() == config
    y = torch.as_tensor(
        RNG.integers(0, 3, (4, 3))
        if loss.name != "sparse_categorical_crossentropy"
        else RNG.integers(0, 3, 4)
    )
    if loss.name == "bce":
        y = y.clamp(0, 1)
    p = t64(softmax(RNG.normal(size=(4, 3))))
    torch.testing.assert_close(again(y, p), loss(y, p))


def test_deserialize_names_dicts_and_custom_objects():
    assert isinstance(losses.deserialize("mse"), losses.MeanSquaredError)
    loss = losses.deserialize(
        {"class_name": "Huber", "config": {"delta": 0.3, "reduction": "sum", "name": "h"}}
    )
    assert isinstance(loss, losses.Huber)
    assert loss.get_config() == {"delta": 0.3, "reduction": "sum", "name": "h", "dtype": None}

    class Scaled(losses.Loss):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, y_true, y_pred):
            return self.factor * (y_pred - y_true).abs().mean(-1)

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    config = losses.serialize(Scaled(3.0, name="scaled"))
    again = losses.deserialize(config, custom_objects={"Scaled": Scaled})
    assert type(again) is Scaled and again.get_config() == config["config"]
    assert again(t64([[1.0, 2.0]]), t64([[0.0, 0.0]])).item() == pytest.approx(4.5)
    with pytest.raises(ValueError, match="Expected a known loss name"):
        losses.deserialize(config)
    with pytest.raises(TypeError, match="Expected a loss config"):
        losses.deserialize(["mse"])


def test_loss_base_takes_keras_argument_order():
    """Keras 3's Loss(name, reduction, dtype): a subclass passing its name first works."""

    class Named(losses.Loss):
        def call(self, y_true, y_pred):
            return (y_pred - y_true).square().mean(-1)

    loss = Named("my_loss", "sum")
    assert loss.name == "my_loss" and loss.reduction == "sum"
    assert loss(t64([[1.0], [2.0]]), t64([[0.0], [0.0]])).item() == pytest.approx(5.0)
