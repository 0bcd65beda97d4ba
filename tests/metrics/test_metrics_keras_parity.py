"""Every public metric of lamina.metrics against Keras 3's same-named metric (the oracle).

Each case builds both metrics with the same arguments, feeds them the same random batches
(with and without sample weights) and compares `result()`; the constructors must take
Keras's arguments in Keras's order. Every public Metric class must also be written out
with a `class` statement in lamina/metrics/ and survive get_config/from_config.
"""

from __future__ import annotations

import inspect
import os
import re
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from metric_batches import softmax

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
# Keras warns that the IoU metrics truncate float weights to their int32 counts (as we do)
pytestmark = pytest.mark.filterwarnings("ignore:You are passing weight as `float`")

from keras.src.utils.naming import to_snake_case  # noqa: E402

from lamina import metrics  # noqa: E402

N, C = 24, 5
SIZES = (7, 11, 6)


def _labels(rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, C, N)


def _sparse(rng):
    y = _labels(rng)
    return y, softmax(rng.normal(size=(N, C)) * 2 + np.eye(C)[y]).astype(np.float32)


def _sparse_column(rng):
    y, p = _sparse(rng)
    return y[:, None].astype(np.float32), p


def _onehot(rng):
    y, p = _sparse(rng)
    return np.eye(C, dtype=np.float32)[y], p


def _onehot_logits(rng):
    y = _labels(rng)
    return np.eye(C, dtype=np.float32)[y], (rng.normal(size=(N, C)) * 2).astype(np.float32)


def _sparse_logits(rng):
    y, z = _onehot_logits(rng)
    return y.argmax(-1), z


def _binary(rng):
    return rng.integers(0, 2, (N, 1)).astype(np.float32), rng.uniform(size=(N, 1)).astype(
        np.float32
    )


def _binary_multi(rng):
    return rng.integers(0, 2, (N, 3)).astype(np.float32), rng.uniform(size=(N, 3)).astype(
        np.float32
    )


def _binary_flat(rng):
    y, p = _binary(rng)
    return y[:, 0], p[:, 0]


def _binary_logits(rng):
    y, _ = _binary(rng)
    return y, (rng.normal(size=(N, 1)) * 2).astype(np.float32)


def _binary_probs(rng):
    y, _ = _binary_multi(rng)
    return y, rng.uniform(0.05, 0.95, (N, 3)).astype(np.float32)


def _exact(rng):
    y = _labels(rng)
    return y, np.where(rng.uniform(size=N) < 0.6, y, (y + 1) % C)


def _regression(rng):
    return rng.normal(size=(N, 3)).astype(np.float32), rng.normal(size=(N, 3)).astype(np.float32)


def _positive(rng):
    return (
        rng.uniform(0.5, 2.0, (N, 3)).astype(np.float32),
        rng.uniform(0.0, 3.0, (N, 3)).astype(np.float32),
    )


def _signs(rng):
    return rng.choice([-1.0, 1.0], (N, 3)).astype(np.float32), rng.normal(size=(N, 3)).astype(
        np.float32
    )


def _distributions(rng):
    return softmax(rng.normal(size=(N, C))).astype(np.float32), softmax(
        rng.normal(size=(N, C))
    ).astype(np.float32)


def _counts(rng):
    return rng.poisson(2.0, (N, 3)).astype(np.float32), rng.uniform(0.2, 4.0, (N, 3)).astype(
        np.float32
    )


def _correlated(rng):
    y = rng.normal(size=(N, 6))
    return y.astype(np.float32), (0.7 * y + 0.5 * rng.normal(size=(N, 6))).astype(np.float32)


def _class_ids(rng):
    """Integer labels and integer predictions, right about half the time."""
    y = _labels(rng)
    return y, np.where(rng.uniform(size=N) < 0.5, y, rng.integers(0, C, N))


def _class_ids_2d(rng):
    """(N, 4) maps of integer labels and predictions (segmentation-like)."""
    y = rng.integers(0, C, (N, 4))
    return y, np.where(rng.uniform(size=(N, 4)) < 0.5, y, rng.integers(0, C, (N, 4)))


def _sparse_with_ignored(rng):
    y, p = _sparse(rng)
    y[::4] = -1
    return y, p


def _binary_edges(rng):
    """Binary labels with predictions that hit 0, 1 and the thresholds exactly."""
    y, p = _binary_multi(rng)
    p.reshape(-1)[::5] = rng.choice([0.0, 0.25, 0.5, 1.0], p.size // 5 + (p.size % 5 > 0))
    return y, p


def _values(rng):
    return (rng.normal(size=N).astype(np.float32),)


def _values_2d(rng):
    return (rng.normal(size=(N, 4)).astype(np.float32),)


# (class name, constructor kwargs, input maker); the class is looked up in both libraries.
CASES: list[tuple[str, dict, Callable]] = [
    ("Mean", {}, _values),
    ("Mean", {}, _values_2d),
    ("Sum", {}, _values),
    ("Sum", {}, _values_2d),
    ("Accuracy", {}, _exact),
    ("BinaryAccuracy", {}, _binary),
    ("BinaryAccuracy", {"threshold": 0.7}, _binary_multi),
    ("BinaryAccuracy", {}, _binary_flat),
    ("CategoricalAccuracy", {}, _onehot),
    ("SparseCategoricalAccuracy", {}, _sparse),
    ("SparseCategoricalAccuracy", {}, _sparse_column),
    ("TopKCategoricalAccuracy", {}, _onehot),
    ("TopKCategoricalAccuracy", {"k": 2}, _onehot),
    ("SparseTopKCategoricalAccuracy", {}, _sparse),
    ("SparseTopKCategoricalAccuracy", {"k": 2}, _sparse),
    ("MeanSquaredError", {}, _regression),
    ("MeanAbsoluteError", {}, _regression),
    ("MeanAbsolutePercentageError", {}, _positive),
    ("MeanSquaredLogarithmicError", {}, _positive),
    ("RootMeanSquaredError", {}, _regression),
    ("BinaryCrossentropy", {}, _binary_probs),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, _binary_logits),
    ("CategoricalCrossentropy", {}, _onehot),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.2}, _onehot_logits),
    ("SparseCategoricalCrossentropy", {}, _sparse),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, _sparse_logits),
    ("Precision", {}, _binary_multi),
    ("Precision", {"thresholds": [0.2, 0.5, 0.8]}, _binary_multi),
    ("Precision", {"top_k": 2}, _binary_multi),
    ("Precision", {"class_id": 1, "thresholds": 0.4}, _binary_multi),
    ("Recall", {}, _binary_multi),
    ("Recall", {"thresholds": [0.3, 0.6], "top_k": 1}, _binary_multi),
    ("Recall", {"class_id": 2}, _binary_multi),
    ("AUC", {}, _binary_flat),
    ("AUC", {"num_thresholds": 17, "curve": "PR"}, _binary_flat),
    ("AUC", {"summation_method": "minoring"}, _binary_multi),
    ("AUC", {"curve": "PR", "summation_method": "majoring"}, _binary_multi),
    ("AUC", {"thresholds": [0.1, 0.35, 0.5, 0.9]}, _binary_flat),
    ("AUC", {"from_logits": True}, _binary_logits),
    ("AUC", {"multi_label": True}, _binary_multi),
    (
        "AUC",
        {"multi_label": True, "num_labels": 3, "label_weights": [1.0, 2.0, 0.5]},
        _binary_multi,
    ),
    ("FBetaScore", {"beta": 2.0}, _onehot),
    ("FBetaScore", {"average": "weighted", "beta": 0.5, "threshold": 0.3}, _onehot),
    ("F1Score", {}, _onehot),
    ("F1Score", {"average": "micro"}, _onehot),
    ("F1Score", {"average": "macro", "threshold": 0.25}, _binary_multi),
    ("SparseCategoricalCrossentropy", {"ignore_class": -1}, _sparse_with_ignored),
    ("CategoricalCrossentropy", {"axis": -1, "label_smoothing": 0.1}, _onehot),
    ("Hinge", {}, _signs),
    ("Hinge", {}, _binary_multi),
    ("SquaredHinge", {}, _signs),
    ("CategoricalHinge", {}, _onehot),
    ("KLDivergence", {}, _distributions),
    ("Poisson", {}, _counts),
    ("CosineSimilarity", {}, _regression),
    ("CosineSimilarity", {"axis": 1}, _regression),
    ("LogCoshError", {}, _regression),
    ("PearsonCorrelation", {}, _correlated),
    ("PearsonCorrelation", {"axis": 1}, _correlated),
    ("ConcordanceCorrelation", {}, _correlated),
    ("R2Score", {}, _correlated),
    ("R2Score", {"class_aggregation": None}, _correlated),
    (
        "R2Score",
        {"class_aggregation": "variance_weighted_average", "num_regressors": 3},
        _correlated,
    ),
    ("TruePositives", {}, _binary_multi),
    ("TruePositives", {"thresholds": [0.2, 0.5, 0.8]}, _binary_multi),
    ("TruePositives", {"thresholds": [0.0, 0.25, 0.5, 0.75, 1.0]}, _binary_edges),
    ("FalsePositives", {"thresholds": 0.3}, _binary_multi),
    ("FalsePositives", {"thresholds": [0.0, 0.25, 0.5, 0.75, 1.0]}, _binary_edges),
    ("TrueNegatives", {}, _binary_flat),
    ("TrueNegatives", {"thresholds": [0.1, 0.6]}, _binary_edges),
    ("FalseNegatives", {"thresholds": [0.0, 0.5, 1.0]}, _binary_edges),
    ("FalseNegatives", {}, _binary_multi),
    ("SensitivityAtSpecificity", {"specificity": 0.6}, _binary_multi),
    ("SensitivityAtSpecificity", {"specificity": 0.8, "num_thresholds": 1}, _binary_flat),
    ("SpecificityAtSensitivity", {"sensitivity": 0.7, "num_thresholds": 9}, _binary_edges),
    ("SpecificityAtSensitivity", {"sensitivity": 0.5, "class_id": 1}, _binary_multi),
    ("PrecisionAtRecall", {"recall": 0.6}, _binary_flat),
    ("PrecisionAtRecall", {"recall": 0.4, "num_thresholds": 5}, _binary_edges),
    ("RecallAtPrecision", {"precision": 0.5}, _binary_multi),
    ("RecallAtPrecision", {"precision": 0.7, "class_id": 2, "num_thresholds": 11}, _binary_multi),
    ("IoU", {"num_classes": C, "target_class_ids": [0, 2]}, _class_ids),
    ("IoU", {"num_classes": C, "target_class_ids": [1], "dtype": "float32"}, _class_ids),
    ("IoU", {"num_classes": C, "target_class_ids": [0, 3], "ignore_class": 1}, _class_ids_2d),
    ("IoU", {"num_classes": C, "target_class_ids": [1, 2], "sparse_y_pred": False}, _sparse),
    ("MeanIoU", {"num_classes": C}, _class_ids),
    ("MeanIoU", {"num_classes": C, "ignore_class": 0, "dtype": "float32"}, _class_ids_2d),
    ("MeanIoU", {"num_classes": C, "sparse_y_true": False, "sparse_y_pred": False}, _onehot),
    ("BinaryIoU", {}, _binary_multi),
    ("BinaryIoU", {"target_class_ids": [1], "threshold": 0.3}, _binary_flat),
    ("OneHotIoU", {"num_classes": C, "target_class_ids": [0, 1, 4]}, _onehot),
    ("OneHotIoU", {"num_classes": C, "target_class_ids": [2], "dtype": "float32"}, _onehot),
    ("OneHotMeanIoU", {"num_classes": C}, _onehot),
    ("OneHotMeanIoU", {"num_classes": C, "ignore_class": 0, "dtype": "float32"}, _onehot),
]


IOU_NAMES = {"IoU", "MeanIoU", "BinaryIoU", "OneHotIoU", "OneHotMeanIoU"}


def _public_metric_classes() -> list[type]:
    return sorted(
        {
            obj
            for name, obj in vars(metrics).items()
            if not name.startswith("_")
            and isinstance(obj, type)
            and issubclass(obj, metrics.Metric)
        },
        key=lambda cls: cls.__name__,
    )


def _ids(case):
    name, kwargs, make = case
    return f"{name}-{make.__name__[1:]}-{'-'.join(map(str, kwargs.values())) or 'default'}"


def _feed(metric, arrays, weights, to_input: Callable, sizes=SIZES) -> np.ndarray:
    start = 0
    for size in sizes:
        batch = [to_input(a[start : start + size]) for a in arrays]
        sw = None if weights is None else to_input(weights[start : start + size])
        metric.update_state(*batch, sample_weight=sw)
        start += size
    return np.asarray(keras.ops.convert_to_numpy(metric.result()), dtype=np.float64)


def _plain(value):
    """Config values comparable across libraries (tuples, arrays and tensors as lists)."""
    if hasattr(value, "shape") or isinstance(value, tuple):
        return np.asarray(keras.ops.convert_to_numpy(value)).tolist()
    return value


def _check_case(name: str, kwargs: dict, make: Callable) -> None:
    """Keras's result after several batches, unweighted and weighted, then after
    reset_state and more batches; and Keras's config, accepted both ways."""
    rng = np.random.default_rng(zlib.crc32(f"{name}{make.__name__}{kwargs}".encode()))
    arrays = make(rng)
    for weighted in (False, True):
        weights = rng.uniform(0.0, 2.0, N).astype(np.float32) if weighted else None
        sparse_true = kwargs.get("sparse_y_true", True) and "OneHot" not in name
        if weighted and name in IOU_NAMES and arrays[0].ndim > 1 and sparse_true:
            # the IoU metrics flatten every input: one weight per entry, as in Keras
            weights = rng.uniform(0.0, 2.0, arrays[0].shape).astype(np.float32)
        ours, theirs = getattr(metrics, name)(**kwargs), getattr(keras.metrics, name)(**kwargs)
        got = _feed(ours, arrays, weights, torch.as_tensor)
        want = _feed(theirs, arrays, weights, np.asarray)
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6, err_msg=f"{name} {weighted}")
        ours.reset_state()
        theirs.reset_state()
        # after a reset only the new batches count (the last two, in another order)
        tail = [a[SIZES[0] :][::-1].copy() for a in arrays]
        tail_w = None if weights is None else weights[SIZES[0] :][::-1].copy()
        got = _feed(ours, tail, tail_w, torch.as_tensor, SIZES[1:])
        want = _feed(theirs, tail, tail_w, np.asarray, SIZES[1:])
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6, err_msg=f"{name} reset")
    ours_config, theirs_config = ours.get_config(), theirs.get_config()
    for key, value in theirs_config.items():
        assert key in ours_config, key
        if key not in ("name", "dtype"):  # Keras numbers automatic names; dtype None is floatx
            assert _plain(ours_config[key]) == _plain(value), key
    again = getattr(metrics, name).from_config(theirs_config).get_config()
    for key, value in theirs_config.items():
        if key != "dtype":
            assert _plain(again[key]) == _plain(value), key
    getattr(keras.metrics, name).from_config(
        {k: v for k, v in ours_config.items() if k in theirs_config or k == "axis"}
    )


IOU_NAMES = {"IoU", "MeanIoU", "BinaryIoU", "OneHotIoU", "OneHotMeanIoU"}
# the constructor arguments a metric cannot do without
REQUIRED: dict[str, dict] = {
    "IoU": {"num_classes": C, "target_class_ids": [0, 1]},
    "OneHotIoU": {"num_classes": C, "target_class_ids": [0, 1]},
    "MeanIoU": {"num_classes": C},
    "OneHotMeanIoU": {"num_classes": C},
    "SensitivityAtSpecificity": {"specificity": 0.5},
    "SpecificityAtSensitivity": {"sensitivity": 0.5},
    "PrecisionAtRecall": {"recall": 0.5},
    "RecallAtPrecision": {"precision": 0.5},
    "MeanMetricWrapper": {"fn": "mean_absolute_error"},
}


def _two_columns(rng):
    y, p = _binary_multi(rng)
    return y, p


# keras.metrics functions -> [(kwargs, input maker)]
FUNCTION_CASES: dict[str, list[tuple[dict, Callable]]] = {
    "binary_accuracy": [({}, _binary_multi), ({"threshold": 0.7}, _binary)],
    "categorical_accuracy": [({}, _onehot)],
    "sparse_categorical_accuracy": [({}, _sparse), ({}, _sparse_column)],
    "top_k_categorical_accuracy": [({}, _onehot), ({"k": 2}, _onehot)],
    "sparse_top_k_categorical_accuracy": [({"k": 2}, _sparse), ({"k": 3}, _sparse_column)],
    "binary_crossentropy": [({}, _binary_probs), ({"from_logits": True}, _binary_logits)],
    "binary_focal_crossentropy": [
        ({}, _binary_probs),
        ({"apply_class_balancing": True, "from_logits": True}, _binary_logits),
    ],
    "categorical_crossentropy": [({}, _onehot), ({"from_logits": True}, _onehot_logits)],
    "categorical_focal_crossentropy": [({}, _onehot), ({"gamma": 1.0}, _onehot)],
    "sparse_categorical_crossentropy": [({}, _sparse), ({"from_logits": True}, _sparse_logits)],
    "categorical_hinge": [({}, _onehot)],
    "hinge": [({}, _signs), ({}, _binary_multi)],
    "squared_hinge": [({}, _signs)],
    "huber": [({}, _regression), ({"delta": 0.5}, _regression)],
    "kl_divergence": [({}, _distributions)],
    "log_cosh": [({}, _regression)],
    "mean_absolute_error": [({}, _regression)],
    "mean_absolute_percentage_error": [({}, _positive)],
    "mean_squared_error": [({}, _regression)],
    "mean_squared_logarithmic_error": [({}, _positive)],
    "poisson": [({}, _counts)],
    "pearson_correlation": [({}, _correlated), ({"axis": 0}, _correlated)],
    "concordance_correlation": [({}, _correlated), ({"axis": 0}, _correlated)],
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

    arrays = _regression(np.random.default_rng(3))
    ours, theirs = OursMax(), TheirsMax()
    for _ in range(2):
        got = _feed(ours, arrays, None, torch.as_tensor)
        want = _feed(theirs, arrays, None, keras.ops.convert_to_tensor)
        np.testing.assert_allclose(got, want, rtol=1e-6)
        ours.reset_state()
        theirs.reset_state()
    assert ours.name == theirs.name == "max_error"
    assert ours.get_config() == {"name": "max_error", "dtype": None}
    assert theirs.get_config()["name"] == "max_error"


def _check_mean_metric_wrapper() -> None:
    rng = np.random.default_rng(5)
    arrays = _regression(rng)
    for weights in (None, rng.uniform(0.0, 2.0, N).astype(np.float32)):
        ours = metrics.MeanMetricWrapper(lambda t, p: (t - p).abs().amax(-1), name="max_err")
        theirs = keras.metrics.MeanMetricWrapper(
            lambda t, p: keras.ops.max(keras.ops.abs(t - p), axis=-1), name="max_err"
        )
        np.testing.assert_allclose(
            _feed(ours, arrays, weights, torch.as_tensor),
            _feed(theirs, arrays, weights, np.asarray),
            rtol=1e-5,
        )
    # a wrapped function with options, as the Keras metric classes are built
    ours = metrics.MeanMetricWrapper(metrics.huber, delta=0.3)
    theirs = keras.metrics.MeanMetricWrapper(keras.metrics.huber, delta=0.3)
    np.testing.assert_allclose(
        _feed(ours, arrays, None, torch.as_tensor),
        _feed(theirs, arrays, None, np.asarray),
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
    return _feed(metric, arrays, None, to_input)


def _check_get() -> None:
    """`get` gives the metric Keras gives (Keras may give the bare function: same mean)."""
    for identifier in GET_IDENTIFIERS:
        rng = np.random.default_rng(zlib.crc32(str(identifier).encode()))
        maker = (
            _binary_multi
            if "ccuracy" in str(identifier) or "Positive" in str(identifier)
            else _onehot
        )
        if identifier in ("mse", "MeanSquaredError", "PearsonCorrelation") or "R2" in str(
            identifier
        ):
            maker = _correlated
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
                assert _plain(ours_conf["config"][key]) == _plain(value), (name, key)
        if kind == "deserialize":
            again = metrics.deserialize(theirs_conf)
            assert type(again) is type(ours)
            for key, value in kwargs.items():
                assert _plain(again.get_config()[key]) == _plain(value)
            assert type(metrics.deserialize(ours_conf)) is type(ours)
            keras_again = keras.metrics.deserialize(
                {"class_name": name, "config": ours_conf["config"]}
            )
            assert type(keras_again).__name__ == name
    if kind == "deserialize":
        assert type(metrics.deserialize("MeanSquaredError")) is metrics.MeanSquaredError
        assert type(keras.metrics.deserialize("MeanSquaredError")).__name__ == "MeanSquaredError"


def _cases_by_name() -> dict[str, list]:
    grouped: dict[str, list] = {}
    for name, kwargs, make in CASES:
        grouped.setdefault(name, []).append((kwargs, make))
    return grouped


# Every Keras metric name Lamina has -> its cases (the key's kind decides the comparison).
METRICS_PARITY: dict[str, object] = {
    **{f"metrics.{name}": cases for name, cases in _cases_by_name().items()},
    **{f"metrics.{name}": cases for name, cases in FUNCTION_CASES.items()},
    "metrics.Metric": "a custom streaming metric on each base class, with reset_state",
    "metrics.MeanMetricWrapper": "custom functions, with and without weights and options",
    "metrics.get": GET_IDENTIFIERS,
    "metrics.serialize": SERIALIZED,
    "metrics.deserialize": SERIALIZED,
}


@pytest.mark.parametrize("name", sorted(METRICS_PARITY))
def test_metrics_parity(name):
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
    elif short in ("serialize", "deserialize"):
        _check_serialization(short)
    else:
        for kwargs, make in METRICS_PARITY[name]:
            _check_case(short, kwargs, make)


def test_parity_dict_covers_every_keras_metric_name():
    public = {n for n in dir(keras.metrics) if not n.startswith("_")}
    assert {n for n in public if not hasattr(metrics, n)} == set()
    assert {f"metrics.{n}" for n in public} == set(METRICS_PARITY)


def _public_metric_classes() -> list[type]:
    return sorted(
        {
            obj
            for name, obj in vars(metrics).items()
            if not name.startswith("_")
            and isinstance(obj, type)
            and issubclass(obj, metrics.Metric)
        },
        key=lambda cls: cls.__name__,
    )


@pytest.mark.parametrize("cls", _public_metric_classes(), ids=lambda cls: cls.__name__)
def test_constructor_takes_keras_arguments_in_keras_order(cls):
    if not hasattr(keras.metrics, cls.__name__):
        pytest.skip("no Keras metric of this name")
    keras_cls = getattr(keras.metrics, cls.__name__)
    ours = list(inspect.signature(cls.__init__).parameters.values())[1:]
    theirs = inspect.signature(keras_cls.__init__).parameters
    assert [p.name for p in ours] == list(theirs)[1:]
    for p in ours:
        if p.name not in ("name", "dtype", "fn", "kwargs"):
            assert p.default == theirs[p.name].default, p.name
    kwargs = REQUIRED.get(cls.__name__, {})
    if cls is not metrics.MeanMetricWrapper:
        # Keras's default name: the argument's default, else the snake-cased class name
        # (numbered when repeated, which the comparison leaves out)
        default = theirs["name"].default or to_snake_case(cls.__name__)
        assert cls(**kwargs).name == default
        assert str(cls(**kwargs).dtype)[6:] == keras_cls(**kwargs).dtype


@pytest.mark.parametrize("cls", _public_metric_classes(), ids=lambda cls: cls.__name__)
def test_metric_class_is_written_out_in_the_metrics_package(cls):
    module = inspect.getmodule(cls)
    assert module is not None and module.__name__.startswith("lamina.metrics.")
    source = Path(inspect.getsourcefile(cls)).read_text()
    assert re.search(rf"^class {cls.__name__}\b", source, re.M), cls


@pytest.mark.parametrize("cls", _public_metric_classes(), ids=lambda cls: cls.__name__)
def test_metric_class_config_round_trip(cls):
    if cls is metrics.Metric:
        pytest.skip("abstract")
    metric = cls(**REQUIRED.get(cls.__name__, {}))
    config = metric.get_config()
    again = cls.from_config(config)
    assert type(again) is cls and again.get_config() == config
    assert type(metrics.get(metrics.serialize(metric))) is cls
    assert metrics.deserialize(metrics.serialize(metric)).get_config() == config


@pytest.mark.parametrize(
    "name,kwargs,make",
    [
        ("MeanIoU", {"num_classes": C}, _class_ids),
        ("OneHotIoU", {"num_classes": C, "target_class_ids": [1, 3]}, _onehot),
        ("TruePositives", {"thresholds": [0.0, 0.25, 0.5, 0.75, 1.0]}, _binary_edges),
        ("SpecificityAtSensitivity", {"sensitivity": 0.6}, _binary_multi),
        ("R2Score", {"num_regressors": 2}, _correlated),
        ("PearsonCorrelation", {}, _correlated),
    ],
)
def test_states_are_sums_that_ranks_can_all_reduce(name, kwargs, make):
    """Lamina's design (metrics/base.py): summing two ranks' states gives the whole result."""
    arrays = make(np.random.default_rng(11))
    weights = np.random.default_rng(12).uniform(0.0, 2.0, N).astype(np.float32)
    if name == "MeanIoU":
        weights = np.floor(weights)
    whole, first, second = (getattr(metrics, name)(**kwargs) for _ in range(3))
    half = N // 2
    whole.update_state(*map(torch.as_tensor, arrays), sample_weight=torch.as_tensor(weights))
    first.update_state(*(torch.as_tensor(a[:half]) for a in arrays), sample_weight=weights[:half])
    second.update_state(*(torch.as_tensor(a[half:]) for a in arrays), sample_weight=weights[half:])
    for mine, theirs in zip(first.state_tensors(), second.state_tensors()):
        mine.add_(theirs)
    torch.testing.assert_close(first.result(), whole.result(), rtol=1e-5, atol=1e-6)


def test_cosine_similarity_config_keeps_axis():
    """Keras's CosineSimilarity.get_config drops `axis` (a Keras bug); Lamina keeps it."""
    config = metrics.CosineSimilarity(axis=1).get_config()
    assert (
        config["axis"] == 1 and metrics.CosineSimilarity.from_config(config).get_config() == config
    )
    assert "axis" not in keras.metrics.CosineSimilarity(axis=1).get_config()


def test_sparse_top_k_from_sorted_ids_matches_keras():
    rng = np.random.default_rng(8)
    ids = np.argsort(-rng.normal(size=(N, C)), axis=-1).astype(np.float32)
    y = rng.integers(0, C, N).astype(np.float32)
    for k in (1, 3):
        ours = metrics.SparseTopKCategoricalAccuracy(k=k, from_sorted_ids=True)
        theirs = keras.metrics.SparseTopKCategoricalAccuracy(k=k, from_sorted_ids=True)
        np.testing.assert_allclose(
            _feed(ours, (y, ids), None, torch.as_tensor), _feed(theirs, (y, ids), None, np.asarray)
        )


def test_iou_counts_in_int32_and_truncates_float_weights_like_keras():
    metric = metrics.MeanIoU(num_classes=3)
    metric.update_state(
        torch.tensor([0, 1, 2]), torch.tensor([0, 1, 1]), sample_weight=[1.9, 0.5, 1.0]
    )
    assert metric.total_cm.dtype == torch.int32
    assert metric.total_cm.tolist() == [[1, 0, 0], [0, 0, 0], [0, 1, 0]]
