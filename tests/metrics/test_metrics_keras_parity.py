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
]


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


def _feed(metric, arrays, weights, to_input: Callable) -> np.ndarray:
    start = 0
    for size in SIZES:
        batch = [to_input(a[start : start + size]) for a in arrays]
        sw = None if weights is None else to_input(weights[start : start + size])
        metric.update_state(*batch, sample_weight=sw)
        start += size
    return np.asarray(keras.ops.convert_to_numpy(metric.result()), dtype=np.float64)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_result_matches_keras(case, weighted):
    name, kwargs, make = case
    rng = np.random.default_rng(zlib.crc32(f"{name}{make.__name__}".encode()))
    arrays = make(rng)
    weights = rng.uniform(0.0, 2.0, N).astype(np.float32) if weighted else None
    ours = _feed(getattr(metrics, name)(**kwargs), arrays, weights, torch.as_tensor)
    theirs = _feed(getattr(keras.metrics, name)(**kwargs), arrays, weights, np.asarray)
    np.testing.assert_allclose(ours, theirs, rtol=2e-5, atol=2e-6, err_msg=name)


def test_cases_cover_every_public_metric_that_keras_has():
    covered = {name for name, _, _ in CASES}
    public = {cls.__name__ for cls in _public_metric_classes()}
    keras_names = {n for n in public if hasattr(keras.metrics, n)} - {"Metric", "MeanMetricWrapper"}
    assert keras_names - covered == set()


def test_mean_metric_wrapper_matches_keras():
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


@pytest.mark.parametrize("cls", _public_metric_classes(), ids=lambda cls: cls.__name__)
def test_constructor_takes_keras_arguments_in_keras_order(cls):
    if cls is metrics.Metric or not hasattr(keras.metrics, cls.__name__):
        pytest.skip("no Keras metric of this name")
    ours = list(inspect.signature(cls.__init__).parameters.values())[1:]
    theirs = list(inspect.signature(getattr(keras.metrics, cls.__name__).__init__).parameters)[1:]
    assert [p.name for p in ours] == theirs[: len(ours)]
    kwargs = {"fn": lambda t, p: t} if cls is metrics.MeanMetricWrapper else {}
    if cls is not metrics.MeanMetricWrapper:
        keras.utils.clear_session()  # Keras numbers a repeated automatic name
        keras_default = getattr(keras.metrics, cls.__name__)()
        assert cls().name == keras_default.name
    for p in ours:
        default = inspect.signature(getattr(keras.metrics, cls.__name__).__init__).parameters[
            p.name
        ]
        if p.name not in ("name", "dtype", "fn", "kwargs"):
            assert p.default == default.default, p.name
    assert cls(**kwargs).dtype == torch.float32


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
    metric = cls(fn="mean_absolute_error") if cls is metrics.MeanMetricWrapper else cls()
    config = metric.get_config()
    again = cls.from_config(config)
    assert type(again) is cls and again.get_config() == config
    assert type(metrics.get(metrics.serialize(metric))) is cls
