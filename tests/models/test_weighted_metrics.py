"""`class_weight` / `sample_weight` weight the loss and `weighted_metrics` only, as in Keras 3.

Keras 3 itself (torch backend) is the reference: the same weights, the same data in the
same order and SGD, so fit's history, evaluate and the batch methods give the same numbers.
`metrics` stay unweighted; `weighted_metrics` are weighted; a name in both lists shows the
weighted one as `weighted_<name>`; per-output lists and dicts name metrics `<output>_<name>`.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import lamina  # noqa: E402
from lamina import layers  # noqa: E402

N, VAL = 24, 12
RNG = np.random.default_rng(7)
X = RNG.normal(size=(N, 4)).astype("float32")
Y = RNG.integers(0, 3, N)
SW = RNG.uniform(0.0, 3.0, N).astype("float32")
XV = RNG.normal(size=(VAL, 4)).astype("float32")
YV = RNG.integers(0, 3, VAL)
SWV = RNG.uniform(0.0, 3.0, VAL).astype("float32")
CLASS_WEIGHT = {0: 0.2, 1: 4.0, 2: 1.0}
Y2 = RNG.normal(size=(N, 1)).astype("float32")  # a regression target for two-output models


def _keras_mlp():
    keras.utils.set_random_seed(3)
    return keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )


def _lamina_mlp(keras_model):
    model = lamina.Sequential(
        [
            layers.Dense(8, activation="relu", input_shape=(4,)),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.set_weights(keras_model.get_weights())
    return model


def _pair(lr=0.1, jit_compile=False, **metric_args):
    """The same MLP in Keras and Lamina, compiled alike."""
    k = _keras_mlp()
    m = _lamina_mlp(k)
    k.compile(keras.optimizers.SGD(lr), "sparse_categorical_crossentropy", **metric_args)
    m.compile(
        lamina.optimizers.SGD(lr),
        "sparse_categorical_crossentropy",
        jit_compile=jit_compile,
        device="cpu",
        **metric_args,
    )
    return k, m


def _assert_logs(got, want):
    assert set(got) == set(want), (sorted(got), sorted(want))
    for key in want:
        np.testing.assert_allclose(
            np.ravel(got[key]), np.ravel(want[key]), rtol=2e-4, atol=2e-5, err_msg=key
        )


METRIC_ARGS = {
    "metrics": dict(metrics=["accuracy"]),
    "weighted": dict(weighted_metrics=["accuracy"]),
    "both": dict(metrics=["accuracy"], weighted_metrics=["accuracy"]),
}
WEIGHTING = {
    "sample_weight": dict(sample_weight=SW),
    "class_weight": dict(class_weight=CLASS_WEIGHT),
}


def _fit_both(k, m, weighting):
    kw = dict(
        batch_size=6,
        epochs=1,
        shuffle=False,
        verbose=0,
        validation_data=(XV, YV, SWV),
        **WEIGHTING[weighting],
    )
    return k.fit(X, Y, **kw).history, m.fit(X, Y, **kw).history


@pytest.mark.parametrize("weighting", list(WEIGHTING))
@pytest.mark.parametrize("which", list(METRIC_ARGS))
def test_fit_and_evaluate_weight_only_weighted_metrics_like_keras(which, weighting):
    k, m = _pair(**METRIC_ARGS[which])
    want, got = _fit_both(k, m, weighting)
    _assert_logs(got, want)
    for got_w, want_w in zip(m.get_weights(), k.get_weights()):
        np.testing.assert_allclose(got_w, want_w, rtol=1e-4, atol=1e-5)
    for sw in (SWV, None):
        _assert_logs(
            m.evaluate(XV, YV, sample_weight=sw, verbose=0, return_dict=True),
            k.evaluate(XV, YV, sample_weight=sw, verbose=0, return_dict=True),
        )


def test_the_controlled_case_reads_unweighted_accuracy():
    """With lr=0 the history is the data's: the unweighted accuracy is the plain fraction
    of right answers, the weighted one weighs each sample by its class weight."""
    k, m = _pair(lr=0.0, metrics=["accuracy"], weighted_metrics=["accuracy"])
    want, got = _fit_both(k, m, "class_weight")
    _assert_logs(got, want)
    right = m.predict(X, verbose=0).argmax(-1) == Y
    w = np.array([CLASS_WEIGHT[c] for c in Y])
    assert got["accuracy"][0] == pytest.approx(right.mean(), abs=1e-6)
    assert got["weighted_accuracy"][0] == pytest.approx((w * right).sum() / w.sum(), abs=1e-6)


@pytest.mark.parametrize("weighting", list(WEIGHTING))
def test_compiled_steps_weight_only_weighted_metrics_like_keras(weighting):
    """jit_compile=True: the compiled train step, and the compiled test step of the
    validation pass and evaluate, give Keras's values."""
    k, m = _pair(jit_compile=True, metrics=["accuracy"], weighted_metrics=["accuracy"])
    want, got = _fit_both(k, m, weighting)
    runner = m._step_fn
    assert runner.compiled is not None and not runner.failed  # later batches ran compiled
    assert m._test_fn is not None and not m._test_fn.disabled
    _assert_logs(got, want)
    _assert_logs(
        m.evaluate(XV, YV, sample_weight=SWV, batch_size=6, verbose=0, return_dict=True),
        k.evaluate(XV, YV, sample_weight=SWV, batch_size=6, verbose=0, return_dict=True),
    )
    assert m._test_fn.direct is not None  # evaluate's later batches called the graph


@pytest.mark.parametrize("weighting", list(WEIGHTING))
def test_train_and_test_on_batch_weight_only_weighted_metrics_like_keras(weighting):
    k, m = _pair(metrics=["accuracy"], weighted_metrics=["accuracy"])
    kw = WEIGHTING[weighting]
    _assert_logs(
        m.train_on_batch(X, Y, return_dict=True, **kw),
        k.train_on_batch(X, Y, return_dict=True, **kw),
    )
    _assert_logs(
        m.test_on_batch(XV, YV, sample_weight=SWV, return_dict=True),
        k.test_on_batch(XV, YV, sample_weight=SWV, return_dict=True),
    )


@pytest.mark.parametrize(
    "metric_args",
    [
        dict(metrics=["accuracy", "accuracy"], weighted_metrics=["accuracy", "accuracy"]),
        dict(metrics=["acc"], weighted_metrics=["accuracy"]),
        dict(
            metrics=["accuracy"],
            weighted_metrics=["sparse_categorical_accuracy", "sparse_categorical_crossentropy"],
        ),
    ],
    ids=["repeated", "acc-and-accuracy", "different"],
)
def test_weighted_metric_names_follow_keras(metric_args):
    k, m = _pair(lr=0.0, **metric_args)
    want, got = _fit_both(k, m, "sample_weight")
    _assert_logs(got, want)


def _two_outputs(lib):
    if lib is keras:
        keras.utils.set_random_seed(5)
    inp = lib.Input((4,))
    a = lib.layers.Dense(3, activation="softmax", name="a")(inp)
    b = lib.layers.Dense(1, name="b")(inp)
    return lib.Model(inp, [a, b])


@pytest.mark.parametrize(
    "metric_args",
    [
        dict(weighted_metrics=["accuracy", "mae"]),
        dict(metrics=["accuracy", "mae"], weighted_metrics=["accuracy", "mae"]),
        dict(metrics={"a": ["accuracy"]}, weighted_metrics={"a": ["accuracy"], "b": "mae"}),
        dict(metrics=[["accuracy"], ["mae", "mse"]], weighted_metrics=[["accuracy"], ["mae"]]),
        dict(metrics=[["accuracy"], None], weighted_metrics=[None, ["mae"]]),
        dict(metrics={"b": "mae"}, weighted_metrics={"b": ["mae"]}),
    ],
    ids=["weighted-list", "both-lists", "dicts", "nested-lists", "nones", "same-on-one"],
)
def test_per_output_weighted_metrics_follow_keras(metric_args):
    k = _two_outputs(keras)
    m = _two_outputs(lamina)
    m.set_weights(k.get_weights())
    loss = ["sparse_categorical_crossentropy", "mse"]
    k.compile(keras.optimizers.SGD(0.05), loss, **metric_args)
    m.compile(lamina.optimizers.SGD(0.05), loss, device="cpu", **metric_args)
    kw = dict(batch_size=6, epochs=1, shuffle=False, verbose=0, sample_weight=SW)
    _assert_logs(m.fit(X, [Y, Y2], **kw).history, k.fit(X, [Y, Y2], **kw).history)
    _assert_logs(
        m.evaluate(X, [Y, Y2], sample_weight=SW, verbose=0, return_dict=True),
        k.evaluate(X, [Y, Y2], sample_weight=SW, verbose=0, return_dict=True),
    )


def test_per_output_metric_arguments_are_checked():
    model = _two_outputs(lamina)
    x, y = X[:6], [Y[:6], Y2[:6]]
    model.compile("sgd", ["sparse_categorical_crossentropy", "mse"], weighted_metrics={"c": "mae"})
    with pytest.raises(ValueError, match=r"weighted_metrics keys among outputs.*\['c'\]"):
        model.evaluate(x, y, verbose=0)
    model.compile("sgd", ["sparse_categorical_crossentropy", "mse"], metrics=[["mae"]] * 3)
    with pytest.raises(ValueError, match=r"one entry of metrics per output \(2"):
        model.evaluate(x, y, verbose=0)


def test_a_metric_object_compiled_again_keeps_its_own_name():
    """Names in the logs carry the output prefix; compiling the same metric objects
    again (a second compile of the model) does not prefix them twice."""
    acc = lamina.metrics.SparseCategoricalAccuracy()
    mae = lamina.metrics.MeanAbsoluteError()
    model = _two_outputs(lamina)
    for _ in range(2):
        model.compile(
            "sgd",
            ["sparse_categorical_crossentropy", "mse"],
            metrics={"a": acc},
            weighted_metrics=[[acc.__class__()], [mae]],
            device="cpu",
        )
        logs = model.evaluate(X, [Y, Y2], sample_weight=SW, verbose=0, return_dict=True)
        assert sorted(logs) == [
            "a_loss",
            "a_sparse_categorical_accuracy",
            "a_weighted_sparse_categorical_accuracy",
            "b_loss",
            "b_mean_absolute_error",
            "loss",
        ]


def test_evaluate_returns_the_weighted_metric_in_order():
    """weighted_metrics alone: evaluate's list is [loss, weighted accuracy], as Keras's."""
    k, m = _pair(weighted_metrics=["accuracy"])
    want = k.evaluate(X, Y, sample_weight=SW, verbose=0)
    got = m.evaluate(X, Y, sample_weight=SW, verbose=0)
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-5)
    assert m.metrics_names == ["loss", "accuracy"]


def test_distributed_fit_reduces_weighted_metrics():
    """fit(distribute=2): the weighted and unweighted metrics are summed over the ranks and
    equal the single-process run's."""
    from lamina.distributed import Spawn

    def run(distribute):
        k, m = _pair(metrics=["accuracy"], weighted_metrics=["accuracy"])
        return m.fit(
            X,
            Y,
            batch_size=6,
            epochs=1,
            shuffle=False,
            verbose=0,
            sample_weight=SW,
            validation_data=(XV, YV, SWV),
            distribute=distribute,
        ).history, k

    local, k = run(None)
    spread, _ = run(Spawn(2, timeout=120))
    _assert_logs(spread, local)
    assert local["accuracy"] != pytest.approx(local["weighted_accuracy"], abs=1e-3)
