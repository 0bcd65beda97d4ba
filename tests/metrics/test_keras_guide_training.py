"""Keras's guide "Training & evaluation with the built-in methods", run as Keras wrote it.

tests/keras_examples/training_guide.py is the guide's Keras 3 code; it runs under
Lamina with only the import changed and under Keras 3 (torch backend), and the outcomes
are compared: parameter counts, the metric names in every history, accuracies and
losses within a tolerance, the files the checkpoint callbacks wrote. The guide's user
metric (`CategoricalTruePositives`, Keras 3's `Metric.add_variable`) and user losses
(a function and a `keras.losses.Loss` subclass) are also compared value for value on
the same inputs, and the user metric's state is checked through the compiled step,
the saved training state and `to()`.
"""

from __future__ import annotations

import math
import os
import re

import numpy as np
import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

from test_keras_examples import run_example  # noqa: E402

import lamina  # noqa: E402
from lamina.models import compile_policy  # noqa: E402
from lamina.saving import training_state  # noqa: E402
from lamina.variables import NonTrainableVariable  # noqa: E402


@pytest.fixture(autouse=True)
def one_cpu_thread():
    """Both libraries on one intra-op thread: on a shared, busy machine a thread pool
    spinning against other processes made Keras's small steps 10-20x slower."""
    threads, setting = torch.get_num_threads(), lamina.config.cpu_threads()
    torch.set_num_threads(1)
    lamina.config.set_cpu_threads(1)
    yield
    torch.set_num_threads(threads)
    lamina.config.set_cpu_threads(setting)


# The Keras names whose user-subclass API this module compares with Keras 3.
KERAS_GUIDE_PARITY: dict[str, str] = {
    "metrics.Metric": "add_variable/add_weight states: values, sample_weight, reset_state",
    "losses.Loss": "a user subclass with call(): every reduction, with and without weights",
}


def _ctp_class(lib):
    """The guide's CategoricalTruePositives, written against `lib` (keras or lamina)."""
    ops = lib.ops

    class CategoricalTruePositives(lib.metrics.Metric):
        def __init__(self, name="categorical_true_positives", **kwargs):
            super().__init__(name=name, **kwargs)
            self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")

        def update_state(self, y_true, y_pred, sample_weight=None):
            y_pred = ops.reshape(ops.argmax(y_pred, axis=1), (-1, 1))
            values = ops.cast(y_true, "int32") == ops.cast(y_pred, "int32")
            values = ops.cast(values, "float32")
            if sample_weight is not None:
                sample_weight = ops.cast(sample_weight, "float32")
                values = ops.multiply(values, sample_weight)
            self.true_positives.assign(self.true_positives + ops.sum(values))

        def result(self):
            return self.true_positives.value

        def reset_state(self):
            self.true_positives.assign(0)

    return CategoricalTruePositives


def _stats_class(lib):
    """A metric on Keras 2's `add_weight` form and the default reset_state (zeros)."""
    ops = lib.ops

    class WeightedStats(lib.metrics.Metric):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.total = self.add_weight(name="total", initializer="zeros")
            self.sums = self.add_variable(shape=(4,), initializer="ones", name="sums")
            self.count = self.add_weight(shape=(), initializer="zeros", name="count")

        def update_state(self, values, sample_weight=None):
            values = ops.cast(values, "float32")
            if sample_weight is not None:
                values = values * ops.reshape(ops.cast(sample_weight, "float32"), (-1, 1))
            self.total.assign_add(ops.sum(values))
            self.sums.assign_add(ops.sum(values, axis=0))
            self.count.assign_sub(-float(values.shape[0]))

        def result(self):
            return self.total / self.count + ops.mean(self.sums.value)

    return WeightedStats


def _custom_mse_class(lib):
    ops = lib.ops

    class CustomMSE(lib.losses.Loss):
        def __init__(self, regularization_factor=0.1, name="custom_mse", **kwargs):
            super().__init__(name=name, **kwargs)
            self.regularization_factor = regularization_factor

        def call(self, y_true, y_pred):
            mse = ops.mean(ops.square(y_true - y_pred), axis=-1)
            reg = ops.mean(ops.square(0.5 - y_pred), axis=-1)
            return mse + reg * self.regularization_factor

    return CustomMSE


def _value(x) -> np.ndarray:
    return np.asarray(x.detach().cpu() if torch.is_tensor(x) else keras.ops.convert_to_numpy(x))


def _batches(rng):
    for n in (16, 7):
        y_true = rng.integers(0, 4, size=(n, 1)).astype("float32")
        y_pred = rng.random((n, 4)).astype("float32")
        yield y_true, y_pred, rng.random((n, 1)).astype("float32")


@pytest.mark.parametrize("name", sorted(KERAS_GUIDE_PARITY))
def test_keras_guide_parity(name):
    rng = np.random.default_rng(7)
    if name == "metrics.Metric":
        for make in (_ctp_class, _stats_class):
            ours, theirs = make(lamina)(), make(keras)()
            assert len(ours.variables) == len(theirs.variables)
            for weighted in (False, True, False):  # the third pass follows reset_state()
                for y_true, y_pred, sw in _batches(rng):
                    args = (y_true, y_pred) if make is _ctp_class else (y_pred,)
                    kwargs = {"sample_weight": sw} if weighted else {}
                    ours.update_state(*args, **kwargs)
                    theirs.update_state(*args, **kwargs)
                    np.testing.assert_allclose(
                        _value(ours.result()), _value(theirs.result()), rtol=1e-5
                    )
                for a, b in zip(ours.variables, theirs.variables):
                    np.testing.assert_allclose(a.numpy(), _value(b.value), rtol=1e-5)
                ours.reset_state()
                theirs.reset_state()
                for a, b in zip(ours.variables, theirs.variables):
                    np.testing.assert_array_equal(a.numpy(), _value(b.value))
            # Lamina keeps dtype=None (floatx) where Keras writes floatx out.
            assert ours.get_config() == {**theirs.get_config(), "dtype": None}
    else:  # (Lamina's Loss config also holds its dtype)
        for reduction in ("sum_over_batch_size", "sum", "none", "mean"):
            ours = _custom_mse_class(lamina)(reduction=reduction, name="m")
            theirs = _custom_mse_class(keras)(reduction=reduction, name="m")
            y_true = np.eye(5, dtype="float64")[rng.integers(0, 5, size=12)]
            y_pred = rng.random((12, 5)).astype("float32")
            for sw in (None, rng.random(12).astype("float32")):
                got, want = ours(y_true, y_pred, sw), theirs(y_true, y_pred, sw)
                np.testing.assert_allclose(_value(got), _value(want), rtol=1e-5)
                assert str(got.dtype).removeprefix("torch.") == keras.ops.dtype(want)
            assert ours.get_config() == {**theirs.get_config(), "dtype": None}


def test_metric_variable_is_a_keras_state() -> None:
    metric = _ctp_class(lamina)()
    variable = metric.true_positives
    assert isinstance(variable, NonTrainableVariable) and metric.variables == [variable]
    assert variable.dtype == torch.float32 and tuple(variable.shape) == ()
    metric.update_state(np.array([[1.0], [2.0]]), np.eye(3, dtype="float32")[[1, 2]])
    assert variable.numpy() == 2.0 and isinstance(metric.result() + 1, torch.Tensor)
    assert metric.state_tensors()[0] is variable  # saved, compiled and all-reduced
    metric.to("meta")  # moves in place: the attribute the user stored it in stays live
    assert metric.true_positives is variable and variable.device.type == "meta"
    with pytest.raises(ValueError, match="Expected aggregation"):
        metric.add_variable(shape=(), initializer="zeros", aggregation="max")
    plain = lamina.metrics.Mean()
    assert plain.variables == plain.state_tensors() and len(plain.variables) == 2


def _fit_ctp(jit_compile, x, y):
    lamina.utils.set_random_seed(0)
    inputs = lamina.Input(shape=(x.shape[1],))
    hidden = lamina.layers.Dense(16, activation="relu")(inputs)
    model = lamina.Model(inputs, lamina.layers.Dense(3, activation="softmax")(hidden))
    model.compile(
        optimizer="rmsprop",
        loss="sparse_categorical_crossentropy",
        metrics=[_ctp_class(lamina)()],
        jit_compile=jit_compile,
    )
    history = model.fit(x, y, batch_size=64, epochs=2, verbose=0, shuffle=False)
    history = history.history
    evaluation = model.evaluate(x, y, verbose=0, return_dict=True)
    history.update({f"evaluate_{k}": [v] for k, v in evaluation.items()})
    return model, history


def test_user_metric_in_compiled_steps_and_saved_state(monkeypatch, tmp_path, recwarn) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(384, 12)).astype("float32")
    y = x[:, :3].argmax(1).astype("float32")
    _, eager = _fit_ctp(False, x, y)
    model, compiled = _fit_ctp(True, x, y)
    monkeypatch.setattr(compile_policy.CompilePolicy, "compile_seconds", 0.0)
    monkeypatch.setattr(compile_policy.CompilePolicy, "probe_steps", 1)
    monkeypatch.setattr(compile_policy.CompilePolicy, "warmup_steps", 0)
    auto_model, auto = _fit_ctp("auto", x, y)
    assert not [w for w in recwarn if "could not compile" in str(w.message)]
    for runner in (model._step_fn, auto_model._step_fn):  # the steps did run compiled
        assert runner.compiled is not None and runner.eager_steps < 12, runner.decision
    assert eager["categorical_true_positives"][0] > 0
    for history in (compiled, auto):
        assert history.keys() == eager.keys()
        for key in eager:
            np.testing.assert_allclose(history[key], eager[key], rtol=1e-5)
    # The metric's variable travels with the training state.
    ctp = next(m for m in model.metrics if m.name == "categorical_true_positives")
    saved = float(ctp.true_positives.numpy())
    assert saved > 0
    training_state.save_training_state(tmp_path, model, training_state.TrainingState(epoch=1))
    ctp.true_positives.assign(0.0)
    training_state.load_training_state(tmp_path, model)
    assert float(ctp.result()) == saved


def _close(ours, theirs, rel) -> bool:
    return math.isfinite(ours) and abs(ours - theirs) <= rel * max(abs(theirs), 1e-3)


def test_training_guide_against_keras(monkeypatch, tmp_path) -> None:
    # Keep 'auto' eager here: the compiled paths are compared above, and on a busy
    # machine the timings would make it compile (tens of seconds) at random.
    monkeypatch.setattr(compile_policy.CompilePolicy, "compile_seconds", 1e9)
    results = {}
    for lib in ("lamina", "keras"):
        (tmp_path / lib).mkdir()
        monkeypatch.chdir(tmp_path / lib)
        # 3,300 training samples (the guide keeps the last 10,000 for validation).
        results[lib] = run_example("training_guide", lib, 2, 13300, 2000, monkeypatch)
    ours, theirs = results["lamina"], results["keras"]
    assert ours["params"] == theirs["params"] == 55050
    assert ours["multi_params"] == theirs["multi_params"] == 219
    assert ours["restored_params"] == theirs["restored_params"] == 55050
    assert ours["predictions_shape"] == theirs["predictions_shape"] == (3, 10)
    histories = (
        "history loss_function loss_subclass ctp validation_split class_weight sample_weight "
        "early_stopping checkpoint schedule"
    ).split()
    for key in histories:
        assert sorted(ours[key]) == sorted(theirs[key]), key
    # The guide's last multi-output compile() gives no metrics: Keras 3 keeps (and keeps
    # updating) the metrics of the compile before it, Lamina drops them; the losses match.
    for key in ("multi_list", "multi_dict"):
        assert sorted(k for k in theirs[key] if k.endswith("loss")) == sorted(ours[key]), key
    assert sorted(ours["ctp"]) == ["categorical_true_positives", "loss"]
    assert sorted(ours["multi_list"]) == ["class_output_loss", "loss", "score_output_loss"]
    # Accuracy: the guide's first model, on the test set and on the validation data.
    accuracy, keras_accuracy = ours["test_results"][1], theirs["test_results"][1]
    assert accuracy >= 0.8 and accuracy >= keras_accuracy - 0.04, (accuracy, keras_accuracy)
    for key in ("py_dataset_evaluation", "dataloader_evaluation"):
        assert ours[key][1] >= theirs[key][1] - 0.04, (key, ours[key], theirs[key])
    for key in ("history", "validation_split", "early_stopping", "checkpoint"):
        got, want = ours[key]["val_sparse_categorical_accuracy"][-1], None
        want = theirs[key]["val_sparse_categorical_accuracy"][-1]
        assert got >= want - 0.05, (key, got, want)
    assert ours["restored_evaluation"]["sparse_categorical_accuracy"] >= 0.75
    # Losses: the user loss function and Loss subclass, the weighted fits, multi-output.
    for key in ("loss_function", "loss_subclass", "class_weight", "sample_weight", "history"):
        assert _close(ours[key]["loss"][0], theirs[key]["loss"][0], 0.35), key
    for key in ("multi_list", "multi_dict"):  # four steps from a random init: loose
        assert _close(ours[key]["class_output_loss"][0], theirs[key]["class_output_loss"][0], 0.6)
        assert 0 < ours[key]["score_output_loss"][0] < 10, ours[key]
    # The guide's metric broadcasts (batch,) labels against (batch, 1) predictions, as
    # written: its running total is then ~batch/10 per sample pair; same order as Keras.
    for got, want in zip(
        ours["ctp"]["categorical_true_positives"], theirs["ctp"]["categorical_true_positives"]
    ):
        assert _close(got, want, 0.1), (got, want)
    assert ours["ctp_after_reset"] == theirs["ctp_after_reset"] == 0.0
    assert 0 < ours["ctp_value"] <= 8
    # Callbacks: early stopping, the checkpoint files, the per-batch losses.
    assert 3 <= ours["early_stopping_epochs"] <= 20
    assert ours["saved"] == theirs["saved"] == ["ckpt", "mymodel_1.keras", "mymodel_2.keras"]
    assert len(ours["ckpt"]) == len(theirs["ckpt"]) == 1
    assert re.fullmatch(r"model-loss=\d+\.\d\d\.keras", ours["ckpt"][0]), ours["ckpt"]
    assert len(ours["per_batch_losses"]) == len(theirs["per_batch_losses"]) == 52
    assert all(isinstance(v, float) for v in ours["per_batch_losses"])
    assert np.isfinite(ours["schedule"]["loss"]).all()


def test_variable_aggregations_are_kept_for_the_reduction() -> None:
    metric = _stats_class(lamina)()
    metric.extra = metric.add_variable((2,), "zeros", dtype="int32", aggregation="mean")
    assert metric.state_aggregations() == ["sum", "sum", "sum", "mean"]
    assert metric.extra.dtype == torch.int32 and metric.variables[-1] is metric.extra
    assert lamina.metrics.Mean().state_aggregations() == ["sum", "sum"]


def test_add_weight_takes_keras_2_name_first_form() -> None:
    metric = lamina.metrics.Metric(name="m")
    total = metric.add_weight("total", initializer="ones")
    assert tuple(total.shape) == () and total.numpy() == 1.0
    assert metric.variables == [total] and next(iter(metric._states)).endswith("total")


def _composite_class(lib):
    """A user metric holding another metric, as Keras tracks it (variables, reset)."""

    class ScaledMean(lib.metrics.Metric):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.scale = self.add_variable(shape=(), initializer="zeros", name="scale")
            self.mean = lib.metrics.Mean(name="inner")

        def update_state(self, values, sample_weight=None):
            self.mean.update_state(values, sample_weight=sample_weight)
            self.scale.assign_add(1.0)

        def result(self):
            return self.mean.result() * self.scale

    return ScaledMean


def test_metric_holding_a_metric_against_keras() -> None:
    ours, theirs = _composite_class(lamina)(), _composite_class(keras)()
    assert len(ours.variables) == len(theirs.variables) == 3
    rng = np.random.default_rng(3)
    for _ in range(2):  # the second pass follows the default reset_state()
        for n in (5, 9):
            values, sw = rng.random(n).astype("float32"), rng.random(n).astype("float32")
            ours.update_state(values, sample_weight=sw)
            theirs.update_state(values, sample_weight=sw)
            np.testing.assert_allclose(_value(ours.result()), _value(theirs.result()), rtol=1e-5)
        ours.reset_state()
        theirs.reset_state()
        assert float(ours.result()) == float(_value(theirs.result())) == 0.0
    assert ours.state_tensors()[1] is ours.mean.total and ours.state_aggregations() == ["sum"] * 3
