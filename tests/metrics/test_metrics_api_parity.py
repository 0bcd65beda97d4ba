"""lamina.metrics' functions, base classes and (de)serialization against Keras 3's.

The metric functions (Keras's are its loss functions, plus the correlations and the
accuracy functions) must give Keras's values, shapes and dtypes; a user's Metric and
MeanMetricWrapper must behave as on Keras's base classes; get, serialize and deserialize
must resolve to the metric Keras resolves to and read each other's configs.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable

import metric_inputs as mi
import numpy as np
import pytest
import torch
from metric_inputs import N

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

from lamina import metrics  # noqa: E402

FUNCTION_CASES: dict[str, list[tuple[dict, Callable]]] = {
    "binary_accuracy": [({}, mi.binary_multi), ({"threshold": 0.7}, mi.binary)],
    "categorical_accuracy": [({}, mi.onehot)],
    "sparse_categorical_accuracy": [({}, mi.sparse), ({}, mi.sparse_column)],
    "top_k_categorical_accuracy": [({}, mi.onehot), ({"k": 2}, mi.onehot)],
    "sparse_top_k_categorical_accuracy": [({"k": 2}, mi.sparse), ({"k": 3}, mi.sparse_column)],
    "binary_crossentropy": [({}, mi.binary_probs), ({"from_logits": True}, mi.binary_logits)],
    "binary_focal_crossentropy": [
        ({}, mi.binary_probs),
        ({"apply_class_balancing": True, "from_logits": True}, mi.binary_logits),
    ],
    "categorical_crossentropy": [({}, mi.onehot), ({"from_logits": True}, mi.onehot_logits)],
    "categorical_focal_crossentropy": [({}, mi.onehot), ({"gamma": 1.0}, mi.onehot)],
    "sparse_categorical_crossentropy": [({}, mi.sparse), ({"from_logits": True}, mi.sparse_logits)],
    "categorical_hinge": [({}, mi.onehot)],
    "hinge": [({}, mi.signs), ({}, mi.binary_multi)],
    "squared_hinge": [({}, mi.signs)],
    "huber": [({}, mi.regression), ({"delta": 0.5}, mi.regression)],
    "kl_divergence": [({}, mi.distributions)],
    "log_cosh": [({}, mi.regression)],
    "mean_absolute_error": [({}, mi.regression)],
    "mean_absolute_percentage_error": [({}, mi.positive)],
    "mean_squared_error": [({}, mi.regression)],
    "mean_squared_logarithmic_error": [({}, mi.positive)],
    "poisson": [({}, mi.counts)],
    "pearson_correlation": [({}, mi.correlated), ({"axis": 0}, mi.correlated)],
    "concordance_correlation": [({}, mi.correlated), ({"axis": 0}, mi.correlated)],
}


def _check_function(name: str, kwargs: dict, make: Callable) -> None:
    y, p = make(np.random.default_rng(zlib.crc32(f"{name}{kwargs}".encode())))
    got = getattr(metrics, name)(torch.as_tensor(y), torch.as_tensor(p), **kwargs)
    want = getattr(keras.metrics, name)(
        keras.ops.convert_to_tensor(y), keras.ops.convert_to_tensor(p), **kwargs
    )
    assert tuple(got.shape) == tuple(want.shape)
    assert str(got.dtype)[6:] == keras.backend.standardize_dtype(want.dtype)
    np.testing.assert_allclose(
        got.numpy(), keras.ops.convert_to_numpy(want), rtol=2e-5, atol=2e-6, err_msg=name
    )


def _check_metric_base() -> None:
    """A user's streaming metric on each library's base class: same results and resets."""

    class OursMax(metrics.Metric):
        def __init__(self, name="max_error", dtype=None):
            super().__init__(name=name, dtype=dtype)
            self.add_state("total")
            self.add_state("count")

        def update_state(self, y_true, y_pred, sample_weight=None):
            err = (y_true - y_pred).abs().amax(-1)
            self._follow(err)
            self._add("total", err.sum())
            self._add("count", err.numel())

        def result(self):
            return self.total / self.count

    class TheirsMax(keras.metrics.Metric):
        def __init__(self, name="max_error", dtype=None):
            super().__init__(name=name, dtype=dtype)
            self.total = self.add_variable(shape=(), initializer="zeros", name="total")
            self.count = self.add_variable(shape=(), initializer="zeros", name="count")

        def update_state(self, y_true, y_pred, sample_weight=None):
            err = keras.ops.max(keras.ops.abs(y_true - y_pred), axis=-1)
            self.total.assign_add(keras.ops.sum(err))
            self.count.assign_add(keras.ops.cast(keras.ops.size(err), "float32"))

        def result(self):
            return self.total / self.count

    arrays = mi.regression(np.random.default_rng(3))
    ours, theirs = OursMax(), TheirsMax()
    for _ in range(2):
        got = mi.feed(ours, arrays, None, torch.as_tensor)
        want = mi.feed(theirs, arrays, None, keras.ops.convert_to_tensor)
        np.testing.assert_allclose(got, want, rtol=1e-6)
        ours.reset_state()
        theirs.reset_state()
    assert ours.name == theirs.name == "max_error"
    assert ours.get_config() == {"name": "max_error", "dtype": None}
    assert theirs.get_config()["name"] == "max_error"


def _check_mean_metric_wrapper() -> None:
    rng = np.random.default_rng(5)
    arrays = mi.regression(rng)
    for weights in (None, rng.uniform(0.0, 2.0, N).astype(np.float32)):
        ours = metrics.MeanMetricWrapper(lambda t, p: (t - p).abs().amax(-1), name="max_err")
        theirs = keras.metrics.MeanMetricWrapper(
            lambda t, p: keras.ops.max(keras.ops.abs(t - p), axis=-1), name="max_err"
        )
        np.testing.assert_allclose(
            mi.feed(ours, arrays, weights, torch.as_tensor),
            mi.feed(theirs, arrays, weights, np.asarray),
            rtol=1e-5,
        )
    # a wrapped function with options, as the Keras metric classes are built
    ours = metrics.MeanMetricWrapper(metrics.huber, delta=0.3)
    theirs = keras.metrics.MeanMetricWrapper(keras.metrics.huber, delta=0.3)
    np.testing.assert_allclose(
        mi.feed(ours, arrays, None, torch.as_tensor),
        mi.feed(theirs, arrays, None, np.asarray),
        rtol=1e-5,
    )
    assert ours.name == theirs.name == "mean_metric_wrapper"


GET_IDENTIFIERS = [
    "mse",
    "MeanSquaredError",
    "categorical_crossentropy",
    "binary_accuracy",
    "PearsonCorrelation",
    "hinge",
    {"class_name": "R2Score", "config": {"class_aggregation": None}},
    {"class_name": "TruePositives", "config": {"thresholds": [0.3, 0.6]}},
]


def _resolved_value(metric, arrays, to_input) -> np.ndarray:
    """The result of a resolved metric, or the batch mean of a resolved function."""
    if callable(metric) and not hasattr(metric, "update_state"):
        values = metric(*[to_input(a) for a in arrays])
        return np.asarray(keras.ops.convert_to_numpy(values), dtype=np.float64).mean(0)
    return mi.feed(metric, arrays, None, to_input)


def _check_get() -> None:
    """`get` gives the metric Keras gives (Keras may give the bare function: same mean)."""
    for identifier in GET_IDENTIFIERS:
        rng = np.random.default_rng(zlib.crc32(str(identifier).encode()))
        maker = (
            mi.binary_multi
            if "ccuracy" in str(identifier) or "Positive" in str(identifier)
            else mi.onehot
        )
        if identifier in ("mse", "MeanSquaredError", "PearsonCorrelation") or "R2" in str(
            identifier
        ):
            maker = mi.correlated
        arrays = maker(rng)
        ours, theirs = metrics.get(identifier), keras.metrics.get(identifier)
        got = _resolved_value(ours, arrays, torch.as_tensor)
        want = _resolved_value(theirs, arrays, np.asarray)
        if want.ndim > got.ndim:
            want = want.mean()
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6, err_msg=str(identifier))


SERIALIZED = [
    ("AUC", {"num_thresholds": 7, "curve": "PR"}),
    ("MeanIoU", {"num_classes": 3, "ignore_class": 0}),
    ("R2Score", {"num_regressors": 2}),
    ("PrecisionAtRecall", {"recall": 0.3, "num_thresholds": 11}),
    ("FalseNegatives", {"thresholds": [0.2, 0.7]}),
    ("PearsonCorrelation", {"axis": 0}),
]


def _check_serialization(kind: str) -> None:
    """serialize gives Keras's class_name and config values; deserialize takes Keras's dict."""
    for name, kwargs in SERIALIZED:
        ours, theirs = getattr(metrics, name)(**kwargs), getattr(keras.metrics, name)(**kwargs)
        ours_conf, theirs_conf = metrics.serialize(ours), keras.metrics.serialize(theirs)
        assert ours_conf["class_name"] == theirs_conf["class_name"] == name
        for key, value in theirs_conf["config"].items():
            if key not in ("name", "dtype"):
                assert mi.plain(ours_conf["config"][key]) == mi.plain(value), (name, key)
        if kind == "deserialize":
            again = metrics.deserialize(theirs_conf)
            assert type(again) is type(ours)
            for key, value in kwargs.items():
                assert mi.plain(again.get_config()[key]) == mi.plain(value)
            assert type(metrics.deserialize(ours_conf)) is type(ours)
            keras_again = keras.metrics.deserialize(
                {"class_name": name, "config": ours_conf["config"]}
            )
            assert type(keras_again).__name__ == name
    if kind == "deserialize":
        assert type(metrics.deserialize("MeanSquaredError")) is metrics.MeanSquaredError
        assert type(keras.metrics.deserialize("MeanSquaredError")).__name__ == "MeanSquaredError"


# Every Keras metric name Lamina has that is not a metric class -> its cases.
METRICS_API_PARITY: dict[str, object] = {
    **{f"metrics.{name}": cases for name, cases in FUNCTION_CASES.items()},
    "metrics.Metric": "a custom streaming metric on each base class, with reset_state",
    "metrics.MeanMetricWrapper": "custom functions, with and without weights and options",
    "metrics.get": GET_IDENTIFIERS,
    "metrics.serialize": SERIALIZED,
    "metrics.deserialize": SERIALIZED,
}


@pytest.mark.parametrize("name", sorted(METRICS_API_PARITY))
def test_metrics_api_parity(name):
    short = name.removeprefix("metrics.")
    if short in FUNCTION_CASES:
        for kwargs, make in FUNCTION_CASES[short]:
            _check_function(short, kwargs, make)
    elif short == "Metric":
        _check_metric_base()
    elif short == "MeanMetricWrapper":
        _check_mean_metric_wrapper()
    elif short == "get":
        _check_get()
    else:
        _check_serialization(short)


def test_parity_dict_covers_every_keras_metric_function_and_base():
    names = {n for n in dir(keras.metrics) if not n.startswith("_") and not n[0].isupper()}
    names |= {"Metric", "MeanMetricWrapper"}
    assert {n for n in names if not hasattr(metrics, n)} == set()
    assert {f"metrics.{n}" for n in names} == set(METRICS_API_PARITY)
