"""`jit_compile` with a custom `train_step`, and how the 'auto' choice is reported.

`jit_compile=True` compiles an override as one graph (its `loss.backward()` included).
An override the compiler cannot put in one graph trains eagerly after one warning that
names the reason and the line of the override."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.models.compile_policy import CompilePolicy
from lamina.models.compiled_custom_step import CompiledCustomStep

RNG = np.random.default_rng(5)
X = RNG.normal(size=(50, 4)).astype("float32")  # batches of 16: 3 full, then 2 samples
Y = RNG.normal(size=(50, 1)).astype("float32")


class ManualSGD(lamina.Sequential):
    """Plain SGD on the MSE, written out: compilable as one graph."""

    def train_step(self, data):
        x, y = data
        self.zero_grad()
        loss = torch.mean((self(x, training=True) - y) ** 2)
        loss.backward()
        with torch.no_grad():
            for v in self.trainable_weights:
                v.sub_(0.05 * v.grad)
        self.mse.update_state(loss)
        return {"mse": self.mse.result()}


class WithOptimizer(ManualSGD):
    """The same through `optimizer.apply`, whose step the compiler must skip."""

    def train_step(self, data):
        x, y = data
        self.zero_grad()
        loss = torch.mean((self(x, training=True) - y) ** 2)
        loss.backward()
        self.optimizer.apply([v.grad for v in self.trainable_weights], self.trainable_weights)
        self.mse.update_state(loss)
        return {"mse": self.mse.result()}


def _fit(cls, jit, epochs=3):
    lamina.utils.set_random_seed(0)
    model = cls([layers.Input((4,)), layers.Dense(6, activation="tanh"), layers.Dense(1)])
    model.mse = lamina.metrics.Mean(name="mse")
    model.compile(lamina.optimizers.SGD(0.05), jit_compile=jit, device="cpu")
    hist = model.fit(X, Y, batch_size=16, epochs=epochs, shuffle=False, verbose=0)
    return model, hist.history


def test_jit_compiles_a_custom_train_step_as_one_graph():
    eager, eager_hist = _fit(ManualSGD, False)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*could not compile")  # no fallback
        jit, jit_hist = _fit(ManualSGD, True)
    step = jit._step_fn.compiled
    assert isinstance(step, CompiledCustomStep) and not jit._step_fn.failed
    assert step.capture.calls >= 1 and step.compile_seconds is not None
    assert step.key[0] == ((16, 4), torch.float32)  # the 2-sample tail batches ran eagerly
    np.testing.assert_allclose(jit_hist["mse"], eager_hist["mse"], rtol=1e-5)
    for a, b in zip(jit.get_weights(), eager.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_a_custom_step_that_cannot_compile_trains_eagerly_after_one_warning():
    eager, eager_hist = _fit(WithOptimizer, False)
    with pytest.warns(UserWarning, match="could not compile the custom train_step") as record:
        jit, jit_hist = _fit(WithOptimizer, True)
        jit.fit(X, Y, batch_size=16, epochs=1, shuffle=False, verbose=0)  # no second warning
    messages = [str(w.message) for w in record if "could not compile" in str(w.message)]
    assert len(messages) == 1
    # the reason: a graph break, at the override's line that calls the optimizer
    assert "test_jit_custom_step.py:" in messages[0]
    assert "train_step(): self.optimizer.apply(" in messages[0]
    assert messages[0].endswith("training eagerly instead.")
    assert jit._step_fn.failed
    np.testing.assert_allclose(jit_hist["mse"], eager_hist["mse"], rtol=1e-6)
    np.testing.assert_allclose(
        jit.get_weights()[0], _fit(WithOptimizer, False, epochs=4)[0].get_weights()[0], rtol=1e-6
    )


def test_a_compiled_custom_step_leaves_other_compiled_steps_intact():
    """Compiling an override (backward traced into its graph) must not disturb a default
    compiled step compiled later in the same process."""
    _fit(ManualSGD, True)
    x = RNG.normal(size=(64, 5, 5, 1)).astype("float32")
    y = RNG.integers(0, 3, 64)
    runs = {}
    for jit in (False, True):
        model = _dense_model()
        model.compile("adam", "sparse_categorical_crossentropy", jit_compile=jit, device="cpu")
        runs[jit] = model, model.fit(x, y, batch_size=8, epochs=2, verbose=0).history
    assert runs[True][0]._step_fn.compiled is not None and not runs[True][0]._step_fn.failed
    np.testing.assert_allclose(runs[True][1]["loss"], runs[False][1]["loss"], rtol=1e-5)
    for a, b in zip(runs[True][0].get_weights(), runs[False][0].get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def _dense_model(conv=False):
    lamina.utils.set_random_seed(0)
    stack = [layers.Conv2D(2, 3, activation="relu"), layers.Flatten()] if conv else []
    return lamina.Sequential(
        [layers.Input((5, 5, 1)), *stack, layers.Flatten(), layers.Dense(3, "softmax")]
    )


def test_auto_decision_is_reported_once_at_verbose_1(capsys, monkeypatch):
    monkeypatch.setattr(CompilePolicy, "compile_seconds", 0.0)
    x = RNG.normal(size=(160, 5, 5, 1)).astype("float32")
    y = RNG.integers(0, 3, 160)
    model = _dense_model()
    model.compile("adam", "sparse_categorical_crossentropy", device="cpu")
    model.fit(x, y, batch_size=8, epochs=2, verbose=1)
    out = capsys.readouterr().out
    assert out.count("[lamina] jit_compile='auto': compiled (expected 1.4x over ") == 1
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert capsys.readouterr().out == ""

    conv = _dense_model(conv=True)
    conv.compile("adam", "sparse_categorical_crossentropy", device="cpu")
    conv.fit(x, y, batch_size=8, epochs=1, verbose=2)
    out = capsys.readouterr().out
    assert out.count("[lamina] jit_compile='auto': eager (a model with convolutions on the CPU)")
    assert conv._step_fn.decision == "eager-predicted"


def test_jit_compile_false_pins_eager_even_when_auto_would_compile(monkeypatch):
    monkeypatch.setattr(CompilePolicy, "compile_seconds", 0.0)
    x = RNG.normal(size=(160, 5, 5, 1)).astype("float32")
    y = RNG.integers(0, 3, 160)
    model = _dense_model()
    model.compile("adam", "sparse_categorical_crossentropy", jit_compile=False, device="cpu")
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert model._step_fn.decision == "eager" and model._step_fn.compiled is None
