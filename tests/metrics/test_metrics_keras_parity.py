"""Every public metric class of lamina.metrics against Keras 3's same-named class (the oracle).

Each case builds both metrics with the same arguments, feeds them the same random batches
(with and without sample weights), compares `result()`, resets both and compares again,
and checks that each library accepts the other's config. The constructors must take
Keras's arguments in Keras's order with Keras's defaults, and every public Metric class
must be written out with a `class` statement in lamina/metrics/.
"""

from __future__ import annotations

import inspect
import os
import re
import zlib
from collections.abc import Callable
from pathlib import Path

import metric_inputs as mi
import numpy as np
import pytest
import torch
from metric_inputs import SIZES, C, N

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
# Keras warns that the IoU metrics truncate float weights to their int32 counts (as we do)
pytestmark = pytest.mark.filterwarnings("ignore:You are passing weight as `float`")

from keras.src.utils.naming import to_snake_case  # noqa: E402

from lamina import metrics  # noqa: E402

# (class name, constructor kwargs, input maker); the class is looked up in both libraries.
CASES: list[tuple[str, dict, Callable]] = [
    ("Mean", {}, mi.values),
    ("Mean", {}, mi.values_2d),
    ("Sum", {}, mi.values),
    ("Sum", {}, mi.values_2d),
    ("Accuracy", {}, mi.exact),
    ("BinaryAccuracy", {}, mi.binary),
    ("BinaryAccuracy", {"threshold": 0.7}, mi.binary_multi),
    ("BinaryAccuracy", {}, mi.binary_flat),
    ("CategoricalAccuracy", {}, mi.onehot),
    ("SparseCategoricalAccuracy", {}, mi.sparse),
    ("SparseCategoricalAccuracy", {}, mi.sparse_column),
    ("TopKCategoricalAccuracy", {}, mi.onehot),
    ("TopKCategoricalAccuracy", {"k": 2}, mi.onehot),
    ("SparseTopKCategoricalAccuracy", {}, mi.sparse),
    ("SparseTopKCategoricalAccuracy", {"k": 2}, mi.sparse),
    ("MeanSquaredError", {}, mi.regression),
    ("MeanAbsoluteError", {}, mi.regression),
    ("MeanAbsolutePercentageError", {}, mi.positive),
    ("MeanSquaredLogarithmicError", {}, mi.positive),
    ("RootMeanSquaredError", {}, mi.regression),
    ("BinaryCrossentropy", {}, mi.binary_probs),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, mi.binary_logits),
    ("CategoricalCrossentropy", {}, mi.onehot),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.2}, mi.onehot_logits),
    ("SparseCategoricalCrossentropy", {}, mi.sparse),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, mi.sparse_logits),
    ("Precision", {}, mi.binary_multi),
    ("Precision", {"thresholds": [0.2, 0.5, 0.8]}, mi.binary_multi),
    ("Precision", {"top_k": 2}, mi.binary_multi),
    ("Precision", {"class_id": 1, "thresholds": 0.4}, mi.binary_multi),
    ("Recall", {}, mi.binary_multi),
    ("Recall", {"thresholds": [0.3, 0.6], "top_k": 1}, mi.binary_multi),
    ("Recall", {"class_id": 2}, mi.binary_multi),
    ("AUC", {}, mi.binary_flat),
    ("AUC", {"num_thresholds": 17, "curve": "PR"}, mi.binary_flat),
    ("AUC", {"summation_method": "minoring"}, mi.binary_multi),
    ("AUC", {"curve": "PR", "summation_method": "majoring"}, mi.binary_multi),
    ("AUC", {"thresholds": [0.1, 0.35, 0.5, 0.9]}, mi.binary_flat),
    ("AUC", {"from_logits": True}, mi.binary_logits),
    ("AUC", {"multi_label": True}, mi.binary_multi),
    (
        "AUC",
        {"multi_label": True, "num_labels": 3, "label_weights": [1.0, 2.0, 0.5]},
        mi.binary_multi,
    ),
    ("FBetaScore", {"beta": 2.0}, mi.onehot),
    ("FBetaScore", {"average": "weighted", "beta": 0.5, "threshold": 0.3}, mi.onehot),
    ("F1Score", {}, mi.onehot),
    ("F1Score", {"average": "micro"}, mi.onehot),
    ("F1Score", {"average": "macro", "threshold": 0.25}, mi.binary_multi),
    ("SparseCategoricalCrossentropy", {"ignore_class": -1}, mi.sparse_with_ignored),
    ("CategoricalCrossentropy", {"axis": -1, "label_smoothing": 0.1}, mi.onehot),
    ("Hinge", {}, mi.signs),
    ("Hinge", {}, mi.binary_multi),
    ("SquaredHinge", {}, mi.signs),
    ("CategoricalHinge", {}, mi.onehot),
    ("KLDivergence", {}, mi.distributions),
    ("Poisson", {}, mi.counts),
    ("CosineSimilarity", {}, mi.regression),
    ("CosineSimilarity", {"axis": 1}, mi.regression),
    ("LogCoshError", {}, mi.regression),
    ("PearsonCorrelation", {}, mi.correlated),
    ("PearsonCorrelation", {"axis": 1}, mi.correlated),
    ("ConcordanceCorrelation", {}, mi.correlated),
    ("R2Score", {}, mi.correlated),
    ("R2Score", {"class_aggregation": None}, mi.correlated),
    (
        "R2Score",
        {"class_aggregation": "variance_weighted_average", "num_regressors": 3},
        mi.correlated,
    ),
    ("TruePositives", {}, mi.binary_multi),
    ("TruePositives", {"thresholds": [0.2, 0.5, 0.8]}, mi.binary_multi),
    ("TruePositives", {"thresholds": [0.0, 0.25, 0.5, 0.75, 1.0]}, mi.binary_edges),
    ("FalsePositives", {"thresholds": 0.3}, mi.binary_multi),
    ("FalsePositives", {"thresholds": [0.0, 0.25, 0.5, 0.75, 1.0]}, mi.binary_edges),
    ("TrueNegatives", {}, mi.binary_flat),
    ("TrueNegatives", {"thresholds": [0.1, 0.6]}, mi.binary_edges),
    ("FalseNegatives", {"thresholds": [0.0, 0.5, 1.0]}, mi.binary_edges),
    ("FalseNegatives", {}, mi.binary_multi),
    ("SensitivityAtSpecificity", {"specificity": 0.6}, mi.binary_multi),
    ("SensitivityAtSpecificity", {"specificity": 0.8, "num_thresholds": 1}, mi.binary_flat),
    ("SpecificityAtSensitivity", {"sensitivity": 0.7, "num_thresholds": 9}, mi.binary_edges),
    ("SpecificityAtSensitivity", {"sensitivity": 0.5, "class_id": 1}, mi.binary_multi),
    ("PrecisionAtRecall", {"recall": 0.6}, mi.binary_flat),
    ("PrecisionAtRecall", {"recall": 0.4, "num_thresholds": 5}, mi.binary_edges),
    ("RecallAtPrecision", {"precision": 0.5}, mi.binary_multi),
    ("RecallAtPrecision", {"precision": 0.7, "class_id": 2, "num_thresholds": 11}, mi.binary_multi),
    ("IoU", {"num_classes": C, "target_class_ids": [0, 2]}, mi.class_ids),
    ("IoU", {"num_classes": C, "target_class_ids": [1], "dtype": "float32"}, mi.class_ids),
    ("IoU", {"num_classes": C, "target_class_ids": [0, 3], "ignore_class": 1}, mi.class_ids_2d),
    ("IoU", {"num_classes": C, "target_class_ids": [1, 2], "sparse_y_pred": False}, mi.sparse),
    ("MeanIoU", {"num_classes": C}, mi.class_ids),
    ("MeanIoU", {"num_classes": C, "ignore_class": 0, "dtype": "float32"}, mi.class_ids_2d),
    ("MeanIoU", {"num_classes": C, "sparse_y_true": False, "sparse_y_pred": False}, mi.onehot),
    ("BinaryIoU", {}, mi.binary_multi),
    ("BinaryIoU", {"target_class_ids": [1], "threshold": 0.3}, mi.binary_flat),
    ("OneHotIoU", {"num_classes": C, "target_class_ids": [0, 1, 4]}, mi.onehot),
    ("OneHotIoU", {"num_classes": C, "target_class_ids": [2], "dtype": "float32"}, mi.onehot),
    ("OneHotMeanIoU", {"num_classes": C}, mi.onehot),
    ("OneHotMeanIoU", {"num_classes": C, "ignore_class": 0, "dtype": "float32"}, mi.onehot),
]


IOU_NAMES = {"IoU", "MeanIoU", "BinaryIoU", "OneHotIoU", "OneHotMeanIoU"}


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
        got = mi.feed(ours, arrays, weights, torch.as_tensor)
        want = mi.feed(theirs, arrays, weights, np.asarray)
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6, err_msg=f"{name} {weighted}")
        ours.reset_state()
        theirs.reset_state()
        # after a reset only the new batches count (the last two, in another order)
        tail = [a[SIZES[0] :][::-1].copy() for a in arrays]
        tail_w = None if weights is None else weights[SIZES[0] :][::-1].copy()
        got = mi.feed(ours, tail, tail_w, torch.as_tensor, SIZES[1:])
        want = mi.feed(theirs, tail, tail_w, np.asarray, SIZES[1:])
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6, err_msg=f"{name} reset")
    ours_config, theirs_config = ours.get_config(), theirs.get_config()
    for key, value in theirs_config.items():
        assert key in ours_config, key
        if key not in ("name", "dtype"):  # Keras numbers automatic names; dtype None is floatx
            assert mi.plain(ours_config[key]) == mi.plain(value), key
    again = getattr(metrics, name).from_config(theirs_config).get_config()
    for key, value in theirs_config.items():
        if key != "dtype":
            assert mi.plain(again[key]) == mi.plain(value), key
    getattr(keras.metrics, name).from_config(
        {k: v for k, v in ours_config.items() if k in theirs_config or k == "axis"}
    )


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


def _cases_by_name() -> dict[str, list]:
    grouped: dict[str, list] = {}
    for name, kwargs, make in CASES:
        grouped.setdefault(name, []).append((kwargs, make))
    return grouped


# Every Keras metric class Lamina has -> its cases (Metric and MeanMetricWrapper, the
# functions, get, serialize and deserialize: test_metrics_api_parity.py).
METRICS_PARITY: dict[str, list] = {
    f"metrics.{name}": cases for name, cases in _cases_by_name().items()
}


@pytest.mark.parametrize("name", sorted(METRICS_PARITY))
def test_metrics_parity(name):
    for kwargs, make in METRICS_PARITY[name]:
        _check_case(name.removeprefix("metrics."), kwargs, make)


def test_parity_dict_covers_every_keras_metric_class():
    classes = {
        n for n in dir(keras.metrics) if n[0].isupper() and n not in ("Metric", "MeanMetricWrapper")
    }
    assert {n for n in classes if not hasattr(metrics, n)} == set()
    assert {f"metrics.{n}" for n in classes} == set(METRICS_PARITY)


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
        ("MeanIoU", {"num_classes": C}, mi.class_ids),
        ("OneHotIoU", {"num_classes": C, "target_class_ids": [1, 3]}, mi.onehot),
        ("TruePositives", {"thresholds": [0.0, 0.25, 0.5, 0.75, 1.0]}, mi.binary_edges),
        ("SpecificityAtSensitivity", {"sensitivity": 0.6}, mi.binary_multi),
        ("R2Score", {"num_regressors": 2}, mi.correlated),
        ("PearsonCorrelation", {}, mi.correlated),
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
            mi.feed(ours, (y, ids), None, torch.as_tensor),
            mi.feed(theirs, (y, ids), None, np.asarray),
        )


def test_iou_counts_in_int32_and_truncates_float_weights_like_keras():
    metric = metrics.MeanIoU(num_classes=3)
    metric.update_state(
        torch.tensor([0, 1, 2]), torch.tensor([0, 1, 1]), sample_weight=[1.9, 0.5, 1.0]
    )
    assert metric.total_cm.dtype == torch.int32
    assert metric.total_cm.tolist() == [[1, 0, 0], [0, 0, 0], [0, 1, 0]]


def test_r2_score_falls_back_to_plain_r2_with_too_few_values_like_keras():
    y, p = mi.correlated(np.random.default_rng(4))
    y, p = y[:2, :1], p[:2, :1]  # 2 values, 3 regressors
    ours, theirs = metrics.R2Score(num_regressors=3), keras.metrics.R2Score(num_regressors=3)
    ours.update_state(torch.as_tensor(y), torch.as_tensor(p))
    theirs.update_state(y, p)
    with pytest.warns(UserWarning, match="num_regressors=3"):
        got = ours.result()
    with pytest.warns(UserWarning):
        want = theirs.result()
    np.testing.assert_allclose(got.numpy(), keras.ops.convert_to_numpy(want), rtol=1e-5)
