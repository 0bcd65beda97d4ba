"""metrics.get and serialize: Keras's 'accuracy' rule, names, functions, losses, configs."""

from __future__ import annotations

import pytest
import torch

from lamina import losses, metrics


def test_accuracy_resolution_rule_keeps_user_name():
    cases = [
        ("accuracy", "binary_crossentropy", (None, 1), metrics.BinaryAccuracy),
        ("accuracy", losses.BinaryCrossentropy(), (None, 3), metrics.BinaryAccuracy),
        ("acc", "sparse_categorical_crossentropy", (None, 10), metrics.SparseCategoricalAccuracy),
        ("accuracy", losses.CategoricalCrossentropy(), (None, 10), metrics.CategoricalAccuracy),
        ("accuracy", "mse", (None, 1), metrics.BinaryAccuracy),
        ("accuracy", "mse", (None, 4), metrics.CategoricalAccuracy),
        ("accuracy", None, None, metrics.Accuracy),
        ("accuracy", "binary_focal_crossentropy", (None, 3), metrics.BinaryAccuracy),
        ("accuracy", "categorical_focal_crossentropy", (None, 3), metrics.CategoricalAccuracy),
        (
            "accuracy",
            losses.CategoricalGeneralizedCrossEntropy(),
            (None, 3),
            metrics.SparseCategoricalAccuracy,
        ),
    ]
    for ident, loss, shape, cls in cases:
        m = metrics.get(ident, loss=loss, output_shape=shape)
        assert type(m) is cls and m.name == ident, (ident, loss, shape, m)
    # logits: BinaryAccuracy thresholds at 0 (= sigmoid 0.5)
    m = metrics.get("accuracy", loss=losses.BinaryCrossentropy(from_logits=True))
    m.update_state(torch.tensor([1.0, 0.0, 1.0]), torch.tensor([0.3, -0.2, -1.0]))
    assert m.result().item() == pytest.approx(2 / 3)
    m = metrics.get("crossentropy", loss="binary_crossentropy")
    assert isinstance(m, metrics.BinaryCrossentropy) and m.name == "crossentropy"


def test_get_names_instances_functions_and_errors():
    assert type(metrics.get("mse")) is metrics.MeanSquaredError and metrics.get("mse").name == "mse"
    assert metrics.get("MeanAbsoluteError").name == "mean_absolute_error"
    assert (
        type(metrics.get("auc")) is metrics.AUC
        and type(metrics.get("rmse")) is metrics.RootMeanSquaredError
    )
    m = metrics.Precision(thresholds=0.3)
    assert metrics.get(m) is m
    with pytest.raises(ValueError, match="Did you mean: 'accuracy'"):
        metrics.get("acuracy")

    def my_metric(y_true, y_pred):
        return (y_true - y_pred).abs()

    wrapped = metrics.get(my_metric)
    assert isinstance(wrapped, metrics.MeanMetricWrapper) and wrapped.name == "my_metric"
    wrapped.update_state(torch.tensor([[1.0, 3.0]]), torch.tensor([[0.0, 0.0]]))
    assert wrapped.result().item() == pytest.approx(2.0)
    huber = metrics.get("huber")  # any loss function name works as a metric
    huber.update_state(torch.tensor([[0.0]]), torch.tensor([[3.0]]))
    assert huber.result().item() == pytest.approx(2.5) and huber.name == "huber"
    from_loss = metrics.get(losses.MeanAbsoluteError())
    from_loss.update_state(torch.tensor([[1.0, 2.0]]), torch.tensor([[0.0, 0.0]]))
    assert from_loss.result().item() == pytest.approx(1.5)


@pytest.mark.parametrize(
    "metric",
    [
        metrics.BinaryAccuracy(threshold=0.3, name="ba"),
        metrics.TopKCategoricalAccuracy(k=3),
        metrics.Precision(thresholds=[0.2, 0.7], class_id=1),
        metrics.AUC(num_thresholds=50, curve="PR"),
        metrics.AUC(thresholds=[0.3, 0.6]),
        metrics.F1Score(average="macro", threshold=0.5),
        metrics.RootMeanSquaredError(dtype="float64"),
    ],
)
def test_metric_config_round_trip(metric):
    config = metric.get_config()
    again = metrics.get(metrics.serialize(metric))
    assert type(again) is type(metric) and again.get_config() == config
