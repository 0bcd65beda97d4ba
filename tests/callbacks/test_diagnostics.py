"""Diagnostics: its numbers against references, and a fit it watches stays the same fit.

Gradient norms are checked against a hand-written torch forward and backward on the same
batch and weights; dead-ReLU shares and sigmoid/tanh saturation against NumPy on the
layers' outputs; update ratios against the weights before and after one SGD step;
chance levels against NumPy entropies. A fit with `diagnose=True` must end with exactly
the weights of one without (dropout, BatchNormalization, eager and compiled steps).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lamina as keras
from lamina import layers
from lamina.callbacks import Diagnostics
from lamina.callbacks.chance_level import chance_level, loss_name
from lamina.callbacks.layer_probe import SIGMOID_FLAT, TANH_FLAT
from lamina.utils import set_random_seed

RNG = np.random.default_rng(0)


def mixed_model() -> keras.Sequential:
    """Dense layers ending in each watched activation; half the ReLU units start dead."""
    model = keras.Sequential(
        [
            layers.Input((12,)),
            layers.Dense(16, activation="relu", name="relu"),
            layers.Dense(16, activation="sigmoid", name="sigmoid"),
            layers.Dense(16, activation="tanh", name="tanh"),
            layers.Dense(4, activation="softmax", name="out"),
        ]
    )
    kernel, bias = model.get_layer("relu").get_weights()
    bias[:8] = -50.0  # these 8 units can never fire on inputs of this scale
    model.get_layer("relu").set_weights([kernel, bias])
    sig_kernel, sig_bias = model.get_layer("sigmoid").get_weights()
    model.get_layer("sigmoid").set_weights([sig_kernel * 6.0, sig_bias])  # some saturation
    return model


def reference(weights: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> dict[str, dict]:
    """Forward and backward by hand in torch (float64); activations' statistics in NumPy."""
    params = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in weights]
    h = torch.tensor(x, dtype=torch.float64)
    outputs = []
    for i, act in enumerate([torch.relu, torch.sigmoid, torch.tanh, None]):
        z = h @ params[2 * i] + params[2 * i + 1]  # Keras layout: kernel (in, out)
        h = act(z) if act is not None else z
        outputs.append(h.detach().numpy())
    loss = F.cross_entropy(h, torch.tensor(y))
    grads = torch.autograd.grad(loss, params)
    names = ["relu", "sigmoid", "tanh", "out"]
    out = {}
    for i, name in enumerate(names):
        g = torch.cat([grads[2 * i].reshape(-1), grads[2 * i + 1].reshape(-1)])
        w = np.concatenate([weights[2 * i].ravel(), weights[2 * i + 1].ravel()])
        out[name] = {
            "grad_norm": float(g.norm()),
            "grad_rms": float(g.norm()) / np.sqrt(g.numel()),
            "weight_norm": float(np.linalg.norm(w.astype(np.float64))),
        }
    relu, sig, tanh = outputs[:3]
    out["relu"]["dead_fraction"] = float(np.mean(~(relu > 0).any(axis=0)))
    out["sigmoid"]["saturation"] = float(np.mean((sig < SIGMOID_FLAT) | (sig > 1 - SIGMOID_FLAT)))
    out["tanh"]["saturation"] = float(np.mean(np.abs(tanh) > TANH_FLAT))
    return out


def test_probe_statistics_match_a_manual_backward_and_numpy():
    set_random_seed(0)
    model = mixed_model()
    model.compile(keras.optimizers.SGD(0.05), "sparse_categorical_crossentropy", jit_compile=False)
    x = RNG.normal(size=(256, 12)).astype("float32")
    y = RNG.integers(0, 4, 256)
    probe_x, probe_y = x[:100], y[:100]
    diag = Diagnostics(probe_data=(probe_x, probe_y), budget=0.0)  # one probe: at epoch end
    model.fit(x, y, batch_size=64, epochs=1, verbose=0, callbacks=[diag])
    ref = reference(model.get_weights(), probe_x, probe_y)
    records = {r.layer: r for r in diag.records}
    assert list(records) == ["relu", "sigmoid", "tanh", "out"]
    assert [r.position for r in records.values()] == [0, 1, 2, 3]
    assert [r.output for r in records.values()] == [False, False, False, True]
    for name, expected in ref.items():
        record = records[name]
        assert record.probes == 1
        for key in ("grad_norm", "grad_rms", "weight_norm"):
            assert getattr(record, key) == pytest.approx(expected[key], rel=1e-4), (name, key)
    assert records["relu"].dead_fraction == ref["relu"]["dead_fraction"] == 0.5
    for name in ("sigmoid", "tanh"):  # float32 against float64: one output may flip
        assert records[name].saturation == pytest.approx(ref[name]["saturation"], abs=1 / 1600)
    assert 0.05 < records["sigmoid"].saturation < 0.95
    assert records["out"].saturation is None and records["out"].dead_fraction is None


def test_update_ratio_is_the_relative_size_of_a_real_step():
    set_random_seed(1)
    model = keras.Sequential(
        [layers.Input((6,)), layers.Dense(5, activation="relu"), layers.Dense(1)]
    )
    model.compile(keras.optimizers.SGD(0.1), "mse", jit_compile=False)
    x = RNG.normal(size=(32, 6)).astype("float32")
    y = RNG.normal(size=(32, 1)).astype("float32")
    before = model.get_weights()
    diag = Diagnostics(budget=0.0)
    model.fit(x, y, batch_size=32, epochs=1, verbose=0, callbacks=[diag])  # one step
    after = model.get_weights()
    for i, record in enumerate(diag.records):
        old = np.concatenate([w.ravel() for w in before[2 * i : 2 * i + 2]]).astype(np.float64)
        new = np.concatenate([w.ravel() for w in after[2 * i : 2 * i + 2]]).astype(np.float64)
        expected = np.linalg.norm(new - old) / np.linalg.norm(old)
        assert record.updates == 1
        assert record.update_ratio == pytest.approx(expected, rel=1e-4)
        assert record.update_ratio > 0


def noisy_model() -> keras.Sequential:
    return keras.Sequential(
        [
            layers.Input((8, 8, 1)),
            layers.Conv2D(4, 3, activation="relu"),
            layers.BatchNormalization(),
            layers.Dropout(0.3),
            layers.Flatten(),
            layers.Dense(8, activation="tanh"),
            layers.Dropout(0.2, seed=7),  # its own generator: restored too
            layers.Dense(3, activation="softmax"),
        ]
    )


def train(diagnose: bool, jit: bool | str, build=noisy_model) -> tuple[list, object]:
    set_random_seed(5)
    x = np.random.default_rng(1).normal(size=(192, 8, 8, 1)).astype("float32")
    y = np.random.default_rng(2).integers(0, 3, 192)
    model = build()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=jit)
    history = model.fit(
        x, y, batch_size=32, epochs=2, verbose=0, validation_split=0.25, diagnose=diagnose
    )
    return model.get_weights(), history


def test_diagnose_leaves_the_trained_weights_unchanged_eager():
    plain, history = train(False, False)
    diagnosed, diag_history = train(True, False)
    assert history.diagnostics is None
    assert diag_history.diagnostics.records  # it did probe
    assert diag_history.history == history.history
    for a, b in zip(plain, diagnosed):  # BatchNormalization's moving statistics included
        np.testing.assert_array_equal(a, b)


def dense_dropout_model() -> keras.Sequential:
    return keras.Sequential(
        [
            layers.Input((8, 8, 1)),
            layers.Flatten(),
            layers.Dense(16, activation="relu"),
            layers.Dropout(0.3),
            layers.Dense(3, activation="softmax"),
        ]
    )


def test_diagnose_leaves_the_trained_weights_unchanged_compiled():
    plain, _ = train(False, True, dense_dropout_model)
    diagnosed, history = train(True, True, dense_dropout_model)
    assert history.diagnostics.records
    for a, b in zip(plain, diagnosed):  # the compiled dropout draws from torch's generator
        np.testing.assert_array_equal(a, b)


def test_fit_wiring_and_json_ready_results():
    x = RNG.normal(size=(64, 5)).astype("float32")
    y = RNG.integers(0, 2, 64)
    model = keras.Sequential([layers.Input((5,)), layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", jit_compile=False)
    assert model.fit(x, y, epochs=1, verbose=0).diagnostics is None
    history = model.fit(x, y, epochs=1, verbose=0, diagnose=True)
    assert isinstance(history.diagnostics, Diagnostics)
    mine = Diagnostics()
    for diagnose in (False, True):  # the user's own, never a second one
        history = model.fit(x, y, epochs=2, verbose=0, callbacks=[mine], diagnose=diagnose)
        assert history.diagnostics is mine
        assert [r.epoch for r in mine.records] == [0, 1]
    data = json.loads(json.dumps(mine.to_dict(), allow_nan=False))
    assert set(data) == {
        "epochs", "records", "findings", "chance_loss", "chance_accuracy",
        "probe_seconds", "train_seconds",
    }  # fmt: skip
    assert data["records"][0]["layer"] == model.layers[0].name
    assert data["epochs"][1]["loss"] == pytest.approx(history.history["loss"][1])
    with pytest.raises(ValueError, match="diagnose=False with distribute"):
        model.fit(x, y, epochs=1, verbose=0, diagnose=True, distribute=2)


def test_findings_are_printed_after_the_epoch_when_verbose(capsys):
    set_random_seed(0)
    model = keras.Sequential(
        [
            layers.Input((10,)),
            layers.Dense(8, activation="relu", bias_initializer=keras.initializers.Constant(-20.0)),
            layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", jit_compile=False)
    x = RNG.uniform(size=(64, 10)).astype("float32")
    history = model.fit(x, RNG.integers(0, 2, 64), epochs=1, verbose=2, diagnose=True)
    printed = capsys.readouterr().out
    assert "Diagnostics after epoch 1:" in printed
    assert "dead relu (layer 'dense" in printed and "Try: " in printed
    assert printed.index("Diagnostics after epoch 1") > printed.index("loss:")  # after the bar
    assert history.diagnostics.summary().startswith("Epoch 1:\n  - dead relu")
    quiet = Diagnostics(verbose=0)
    model.fit(x, RNG.integers(0, 2, 64), epochs=1, verbose=2, callbacks=[quiet])
    assert quiet.findings and "Diagnostics after" not in capsys.readouterr().out


def entropy(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def test_chance_levels_against_numpy():
    labels = RNG.integers(0, 5, 1000)
    prior = np.bincount(labels) / 1000
    onehot = np.eye(5)[labels]
    loss, acc = chance_level("sparse_categorical_crossentropy", torch.tensor(labels))
    assert loss == pytest.approx(entropy(prior)) and acc == pytest.approx(prior.max())
    assert chance_level("categorical_crossentropy", torch.tensor(onehot)) == pytest.approx(
        (entropy(prior), prior.max())
    )
    binary = RNG.integers(0, 2, (1000, 3)).astype("float32")
    expected = np.mean([entropy(np.array([p, 1 - p])) for p in binary.mean(axis=0)])
    assert chance_level("binary_crossentropy", torch.tensor(binary))[0] == pytest.approx(expected)
    target = RNG.normal(size=(1000, 2))
    assert chance_level("mean_squared_error", torch.tensor(target))[0] == pytest.approx(
        target.var(axis=0).mean()
    )
    assert loss_name("mse") == "mean_squared_error"
    assert loss_name(keras.losses.CategoricalCrossentropy(from_logits=True)) == (
        "categorical_crossentropy"
    )
    assert loss_name(["mse", "mae"]) is None and loss_name("hinge") is None


def test_a_data_loader_fit_gets_update_ratios_and_a_custom_step_is_not_probed():
    pairs = torch.utils.data.TensorDataset(torch.randn(64, 4), torch.randn(64, 1))
    batches = torch.utils.data.DataLoader(pairs, batch_size=16)
    model = keras.Sequential([layers.Input((4,)), layers.Dense(3), layers.Dense(1)])
    model.compile("sgd", "mse", jit_compile=False)
    history = model.fit(batches, epochs=2, verbose=0, diagnose=True)
    records = history.diagnostics.records
    assert [r.layer for r in records] == [la.name for la in model.layers] * 2
    assert all(r.updates >= 1 and r.update_ratio > 0 and r.grad_norm is None for r in records)

    class OwnStep(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(1)

        def call(self, x, training=None):
            return self.dense(x)

        def train_step(self, data):
            x, y = data
            loss = ((self(x, training=True) - y) ** 2).mean()
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            return {"loss": loss}

    own = OwnStep()
    own.compile("sgd", jit_compile=False)  # no compiled loss: a probe could not compute one
    x = RNG.normal(size=(32, 4)).astype("float32")
    history = own.fit(x, RNG.normal(size=(32, 1)), epochs=1, verbose=0, diagnose=True)
    assert [r.grad_norm for r in history.diagnostics.records] == [None]
