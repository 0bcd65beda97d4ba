"""Each diagnosis fires on a model built to have its problem; the healthy ones get none.

Real MNIST subsets (offline) where the courses' examples matter: the 5-layer sigmoid MLP
for vanishing gradients, SGD with learning rate 10 for exploding ones, and the courses'
CNN (examples/mnist_cnn.py) as the healthy model. Every fit is small and eager.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import lamina as keras
from lamina import layers
from lamina.callbacks.diagnosis_rules import EpochView, Thresholds, diagnose, overfitting
from lamina.callbacks.diagnostic_records import FINDING_KINDS, LayerRecord
from lamina.datasets import mnist
from lamina.utils import set_random_seed

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    (x, y), _ = mnist.load_data()
    return x[:4000].reshape(-1, 784).astype("float32") / 255.0, y[:4000]


def fit(model, optimizer, x, y, epochs, loss="sparse_categorical_crossentropy", **kwargs):
    set_random_seed(1)
    model.compile(optimizer, loss, metrics=["accuracy"], jit_compile=False)
    history = model.fit(x, y, batch_size=128, epochs=epochs, verbose=0, diagnose=True, **kwargs)
    return history.diagnostics


def kinds(diag, epoch: int) -> set[str]:
    return {f.kind for f in diag.findings if f.epoch == epoch}


def mlp(activation: str, depth: int, width: int = 128, **dense) -> keras.Sequential:
    hidden = [layers.Dense(width, activation=activation, **dense) for _ in range(depth - 1)]
    return keras.Sequential([layers.Input((784,)), *hidden, layers.Dense(10, activation="softmax")])


def test_vanishing_gradients_in_the_courses_five_layer_sigmoid_mlp(digits):
    set_random_seed(1)
    x, y = digits
    diag = fit(mlp("sigmoid", 5), "sgd", x[:2000], y[:2000], 2, validation_split=0.2)
    assert [kinds(diag, e) for e in (0, 1)] == [{"vanishing_gradients"}] * 2, diag.summary()
    finding = diag.findings[-1]
    first, last = diag.records[-5], diag.records[-1]
    assert finding.layer == first.layer and finding.evidence["last"] == last.layer
    assert finding.evidence["ratio"] == pytest.approx(first.grad_rms / last.grad_rms)
    assert finding.evidence["ratio"] < 1e-2 and "ReLU" in finding.advice


def test_exploding_gradients_with_sgd_at_learning_rate_10(digits):
    set_random_seed(1)
    x, y = digits
    diag = fit(mlp("relu", 3), keras.optimizers.SGD(10.0), x[:2000], y[:2000], 2)
    assert kinds(diag, 0) == {"exploding_gradients"}, diag.summary()
    assert "learning rate" in diag.findings[0].advice


def test_overfitting_a_big_model_on_small_data(digits):
    set_random_seed(1)
    x, y = digits
    model, adam = mlp("relu", 3, 512), keras.optimizers.Adam(3e-3)
    diag = fit(model, adam, x[:300], y[:300], 8, validation_data=(x[-1000:], y[-1000:]))
    epochs = [f.epoch for f in diag.findings if f.kind == "overfitting"]
    assert epochs and min(epochs) >= 3, diag.summary()
    assert all(k == "overfitting" for e in epochs for k in kinds(diag, e))
    val = [e["val_loss"] for e in diag.epochs]
    last = diag.findings[-1].evidence
    assert last["best_val_loss"] == min(val[: epochs[-1] + 1]) and last["val_loss"] > 1.1 * min(val)
    assert "Dropout" in diag.findings[-1].advice and "EarlyStopping" in diag.findings[-1].advice


def test_shuffled_labels_and_the_same_model_on_true_labels(digits):
    set_random_seed(1)
    x, y = digits
    shuffled = np.random.default_rng(0).permutation(y[:2000])
    diag = fit(mlp("relu", 3, 256), "adam", x[:2000], shuffled, 3, validation_split=0.2)
    assert [kinds(diag, e) for e in (0, 1, 2)] == [set(), {"shuffled_labels"}, {"shuffled_labels"}]
    assert diag.chance_loss == pytest.approx(np.log(10), rel=0.01)
    honest = fit(mlp("relu", 3, 256), "adam", x[:2000], y[:2000], 3, validation_split=0.2)
    assert honest.findings == [], honest.summary()


def test_learning_rate_too_small(digits):
    set_random_seed(1)
    x, y = digits
    diag = fit(mlp("relu", 3), keras.optimizers.Adam(1e-7), x[:2000], y[:2000], 2)
    assert [kinds(diag, e) for e in (0, 1)] == [{"learning_rate_too_small"}] * 2, diag.summary()
    assert diag.findings[-1].evidence["update_ratio"] < 1e-5
    assert "the learning rate (Adam's 1e-07) is too small" in diag.findings[-1].message


def test_dead_relus_from_a_large_negative_bias(digits):
    set_random_seed(1)
    x, y = digits
    model = mlp("relu", 3, bias_initializer=keras.initializers.Constant(-10.0))
    diag = fit(model, "adam", x[:2000], y[:2000], 2)
    for epoch in (0, 1):
        found = [f for f in diag.findings if f.epoch == epoch]
        assert [f.kind for f in found] == ["dead_relu", "dead_relu"], diag.summary()
        assert [f.layer for f in found] == [model.layers[0].name, model.layers[1].name]
        assert all(f.evidence["dead_fraction"] == 1.0 for f in found)


def test_underfitting_with_a_one_unit_bottleneck(digits):
    set_random_seed(1)
    x, y = digits
    model = keras.Sequential(
        [layers.Input((784,)), layers.Dense(1, activation="relu"), layers.Dense(10, "softmax")]
    )
    diag = fit(model, "adam", x[:3000], y[:3000], 4, validation_split=0.2)
    assert [kinds(diag, e) for e in range(4)] == [set(), set(), {"underfitting"}, {"underfitting"}]


def test_stalled_loss_of_a_linear_model_on_rings():
    set_random_seed(1)
    rng = np.random.default_rng(0)
    angle = rng.uniform(0, 2 * np.pi, 2000)
    radius = np.where(rng.random(2000) < 0.5, 1.0, 2.0)
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], 1).astype("float32")
    y = (radius > 1.5).astype("float32")  # no line separates the rings
    model = keras.Sequential([layers.Input((2,)), layers.Dense(1, activation="sigmoid")])
    diag = fit(model, keras.optimizers.Adam(0.05), x, y, 8, "binary_crossentropy")
    assert [kinds(diag, e) for e in (5, 6, 7)] == [{"stalled_loss"}] * 3, diag.summary()
    assert {f.kind for f in diag.findings} <= {"underfitting", "stalled_loss"}
    assert "hidden layer" in diag.findings[-1].advice
    assert diag.chance_loss == pytest.approx(np.log(2), rel=0.01)


def test_the_courses_mnist_cnn_gets_no_warning(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))  # the example imports examples/_mnist.py
    spec = importlib.util.spec_from_file_location("mnist_cnn", EXAMPLES / "mnist_cnn.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    (x, y), _ = mnist.load_data()
    x = x[:2048].reshape(-1, 28, 28, 1).astype("float32") / 255.0
    y = keras.utils.to_categorical(y[:2048], 10)
    set_random_seed(1)
    model = example.build_model()
    diag = fit(model, "adam", x, y, 3, "categorical_crossentropy", validation_split=0.25)
    assert diag.findings == [], diag.summary()
    assert {r.layer for r in diag.records} == {
        layer.name for layer in model.layers if layer.weights
    }
    assert all(r.dead_fraction < 0.5 for r in diag.records if r.activation == "relu")


def view(loss: list[float], val: list[float], penalty: float = 0.0) -> EpochView:
    epochs = [
        {"loss": a + penalty, "val_loss": b + penalty, "penalty": penalty, "val_penalty": penalty}
        for a, b in zip(loss, val)
    ]
    return EpochView(len(loss) - 1, epochs, [], chance_loss=2.3, classification=True)


def test_rules_on_given_curves():
    t = Thresholds()
    rising = view([1.0, 0.6, 0.4, 0.3, 0.2], [0.8, 0.5, 0.52, 0.56, 0.6])
    assert overfitting(rising, t).evidence["best_epoch"] == 1
    assert overfitting(view([1.0, 0.6, 0.4, 0.3], [0.8, 0.5, 0.52, 0.54]), t) is None  # < 10%
    assert overfitting(view([1.0, 0.6, 0.4, 0.3], [0.8, 0.7, 0.5, 0.6]), t) is None  # too recent
    # a penalty inside both losses changes nothing; a loss above twice chance is divergence
    assert [f.kind for f in diagnose(view([1.0, 0.6, 0.4, 0.3, 0.2], rising.val_loss(), 5.0))] == [
        "overfitting"
    ]
    assert [f.kind for f in diagnose(view([5.0], [4.0]))] == ["exploding_gradients"]
    assert [f.kind for f in diagnose(view([2.0, float("nan")], [2.0, 2.0]))] == [
        "exploding_gradients"
    ]
    assert [f.kind for f in diagnose(view([0.3, 0.299, 0.298], [0.3, 0.3, 0.3]))] == [
        "stalled_loss"
    ]
    assert diagnose(view([0.1, 0.09995, 0.0999], [0.1] * 3)) == []  # converged: below 5% of chance
    assert set(FINDING_KINDS) >= {f.kind for f in diagnose(rising)}


def test_vanishing_names_saturated_layers_and_skips_layers_without_a_kernel():
    records = [
        LayerRecord(0, "emb", "Embedding", None, 0, False, grad_rms=1e-9),
        LayerRecord(0, "a", "Dense", "sigmoid", 1, False, grad_rms=1e-6, saturation=0.4),
        LayerRecord(0, "b", "Dense", "tanh", 2, False, grad_rms=1e-4, saturation=0.01),
        LayerRecord(0, "c", "Dense", None, 3, True, grad_rms=1e-2),
    ]
    found = diagnose(
        EpochView(0, [{"loss": 1.0}], records, chance_loss=2.3, kernels={"a", "b", "c"})
    )
    assert [(f.kind, f.layer) for f in found] == [("vanishing_gradients", "a")]
    assert found[0].evidence["ratio"] == pytest.approx(1e-4)
    assert "'a' (sigmoid) 40%" in found[0].message and "'b'" not in found[0].message
    records[1].grad_rms = 1e-3  # 10x smaller than the last: healthy
    assert diagnose(EpochView(0, [{"loss": 1.0}], records, kernels={"a", "b", "c"})) == []


def small_steps(ratio: float, loss: float, **named) -> EpochView:
    """Two Dense layers whose steps change the weights by `ratio`, after a first epoch at `loss`."""
    records = [
        LayerRecord(0, "a", "Dense", "relu", 0, False, grad_rms=1e-3, update_ratio=ratio),
        LayerRecord(0, "b", "Dense", None, 1, True, grad_rms=1e-3, update_ratio=ratio),
    ]
    return EpochView(
        0, [{"loss": loss}], records, chance_loss=2.3, classification=True, kernels={"a", "b"},
        **named,
    )  # fmt: skip


def test_learning_rate_too_small_when_the_loss_barely_moved_names_the_rate():
    # seed 003's CNN with optimizer='adadelta' (today's 0.001): steps near 1e-5, loss at chance
    found = diagnose(small_steps(3e-5, 2.29, optimizer="Adadelta", learning_rate=0.001))
    assert [f.kind for f in found] == ["learning_rate_too_small"]
    assert "the learning rate (Adadelta's 0.001) is too small" in found[0].message
    assert "guessing the labels (2.3)" in found[0].message
    assert "Adadelta(learning_rate=1.0)" in found[0].advice
    assert found[0].evidence == {"update_ratio": 3e-5, "learning_rate": 0.001, "loss": 2.29}
    # unknown optimizer: the rate is not named; Adam gets no Adadelta advice
    assert "the learning rate is too small" in diagnose(small_steps(3e-5, 2.29))[0].message
    adam = diagnose(small_steps(3e-5, 2.29, optimizer="Adam", learning_rate=1e-6))[0]
    assert "(Adam's 1e-06)" in adam.message and "Adadelta" not in adam.advice
    # the same steps while the loss fell below 98% of chance: not too small
    assert diagnose(small_steps(3e-5, 2.2)) == []
    # healthy steps at chance level are not a learning-rate problem
    assert diagnose(small_steps(2e-4, 2.29)) == []
    # steps below 1e-5 are too small whatever the loss did (until it converged)
    assert [f.kind for f in diagnose(small_steps(5e-6, 1.0))] == ["learning_rate_too_small"]
    assert diagnose(small_steps(5e-6, 0.05)) == []
