"""Keras 3's overridable steps: train_step, test_step, predict_step, compute_loss,
compute_metrics. Overrides written as Keras's guides write them work with fit, evaluate,
predict, callbacks and validation_data, and Keras 3 itself (torch backend) is the
reference where the numbers are comparable: same initial weights, same data in the same
order, plain SGD, the same weights after an epoch."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")

import lamina  # noqa: E402
from lamina import layers  # noqa: E402
from lamina.utils import pack_x_y_sample_weight, unpack_x_y_sample_weight  # noqa: E402

RNG = np.random.default_rng(11)
X = RNG.normal(size=(48, 5)).astype("float32")
Y = RNG.normal(size=(48, 2)).astype("float32")
XV = RNG.normal(size=(16, 5)).astype("float32")
YV = RNG.normal(size=(16, 2)).astype("float32")


# ------------------------------------------------------------------ the data tuple
def test_pack_and_unpack_follow_keras():
    x, y, sw = np.zeros(2), np.ones(2), np.full(2, 3.0)
    for packed in (x, (x,), (x, y), (x, y, sw), [x, y]):
        ours = unpack_x_y_sample_weight(packed)
        theirs = keras.utils.unpack_x_y_sample_weight(packed)
        assert len(ours) == 3
        for a, b in zip(ours, theirs):
            assert a is b
    assert pack_x_y_sample_weight(x) is x
    assert pack_x_y_sample_weight(x, y) == (x, y)
    assert pack_x_y_sample_weight(x, y, sw) == (x, y, sw)
    several = [x, x]  # two inputs: wrapped, so unpacking never reads the second as y
    assert unpack_x_y_sample_weight(pack_x_y_sample_weight(several)) == (several, None, None)
    with pytest.raises(ValueError, match="Expected data as x, .* received: a tuple of 4"):
        unpack_x_y_sample_weight((x, y, sw, sw))


# ------------------------------------------- (c) functional CustomModel, no call
class LaminaGuideModel(lamina.Model):
    """Keras's "Customizing what happens in fit()" (torch) first example, as written,
    but for `v.grad` (Keras: `v.value.grad`) and clipped gradients (so that it is not
    the step fit would take anyway)."""

    def train_step(self, data):
        x, y = data
        self.zero_grad()
        y_pred = self(x, training=True)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        loss.backward()
        trainable_weights = [v for v in self.trainable_weights]
        gradients = [v.grad.clamp(-0.02, 0.02) for v in trainable_weights]  # not fit's step
        with torch.no_grad():
            self.optimizer.apply(gradients, trainable_weights)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


class KerasGuideModel(keras.Model):
    def train_step(self, data):
        x, y = data
        self.zero_grad()
        y_pred = self(x, training=True)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        loss.backward()
        trainable_weights = [v for v in self.trainable_weights]
        gradients = [v.value.grad.clamp(-0.02, 0.02) for v in trainable_weights]
        with torch.no_grad():
            self.optimizer.apply(gradients, trainable_weights)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


def _functional(lib, cls):
    inputs = lib.Input(shape=(5,))
    h = lib.layers.Dense(8, activation="tanh")(inputs)
    outputs = lib.layers.Dense(2)(h)
    return cls(inputs, outputs)


def _keras_and_lamina(keras_cls, lamina_cls):
    keras.utils.set_random_seed(1)
    k = _functional(keras, keras_cls)
    m = _functional(lamina, lamina_cls)
    m.set_weights(k.get_weights())
    return k, m


def test_functional_custom_model_train_step_matches_keras():
    k, m = _keras_and_lamina(KerasGuideModel, LaminaGuideModel)
    assert isinstance(m, lamina.Model) and type(m).__name__ == "LaminaGuideModel"
    k.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    m.compile(optimizer=lamina.optimizers.SGD(0.05), loss="mse", metrics=["mae"], device="cpu")
    k.fit(X, Y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    hist = m.fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0, validation_data=(XV, YV))
    k.fit(X, Y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(m.get_weights(), k.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # the override's logs are fit's logs; validation uses the default test_step
    assert set(hist.history) == {"loss", "mae", "val_loss", "val_mae"}
    val = m.evaluate(XV, YV, verbose=0, return_dict=True)
    np.testing.assert_allclose(hist.history["val_loss"][-1], val["loss"], rtol=1e-5)
    np.testing.assert_allclose(val["loss"], np.mean((m.predict(XV, verbose=0) - YV) ** 2), 1e-5)


# --------------------------------------------------- (b) compute_loss only
class LaminaCubeLoss(lamina.Sequential):
    def compute_loss(self, x, y, y_pred, sample_weight, training=True):
        return 0.5 * torch.mean(torch.abs(y_pred - y) ** 3)


class KerasCubeLoss(keras.Sequential):
    def compute_loss(self, x, y, y_pred, sample_weight, training=True):
        return 0.5 * torch.mean(torch.abs(y_pred - y) ** 3)


def _sequential(lib, cls):
    return cls([lib.Input((5,)), lib.layers.Dense(8, activation="relu"), lib.layers.Dense(2)])


@pytest.mark.parametrize("jit", [False, True])
def test_compute_loss_override_is_the_training_loss_like_keras(jit):
    keras.utils.set_random_seed(2)
    k = _sequential(keras, KerasCubeLoss)
    m = _sequential(lamina, LaminaCubeLoss)
    m.set_weights(k.get_weights())
    k.compile(keras.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    m.compile(lamina.optimizers.SGD(0.05), "mse", ["mae"], jit_compile=jit, device="cpu")
    kh = k.fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    mh = m.fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    for a, b in zip(m.get_weights(), k.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mh["loss"], kh["loss"], rtol=1e-5)
    np.testing.assert_allclose(mh["mae"], kh["mae"], rtol=1e-5)
    if jit:
        assert not m._step_fn.failed and m._step_fn.compiled is not None
    got = m.evaluate(X, Y, verbose=0, return_dict=True)
    want = k.evaluate(X, Y, verbose=0, return_dict=True)
    np.testing.assert_allclose(got["loss"], want["loss"], rtol=1e-5)


def test_compute_loss_override_sees_probabilities_not_logits():
    """The engine's logits shortcut for softmax + crossentropy is off for an override."""
    seen = []

    class Probe(lamina.Sequential):
        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            seen.append(y_pred.detach().sum(-1))
            return super().compute_loss(x, y, y_pred, sample_weight, training)

    model = Probe([layers.Input((5,)), layers.Dense(3, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", device="cpu")
    model.fit(X, RNG.integers(0, 3, 48), batch_size=16, epochs=1, verbose=0)
    assert len(seen) == 3  # one call per batch
    for sums in seen:
        np.testing.assert_allclose(sums.numpy(), 1.0, rtol=1e-5)


# ---------------------------------------------- (d) compile() without a loss
def test_compile_without_loss_is_accepted_and_fit_says_what_is_missing():
    model = lamina.Sequential([layers.Input((5,)), layers.Dense(2)])
    model.compile("sgd", device="cpu")  # Keras accepts it; fit needs a loss
    with pytest.raises(ValueError, match="expected a loss to compute: compile\\(loss=...\\)"):
        model.fit(X, Y, epochs=1, verbose=0)

    class OwnLoss(lamina.Sequential):
        def train_step(self, data):
            x, y = data
            self.zero_grad()
            loss = torch.mean((self(x, training=True) - y) ** 2)
            loss.backward()
            self.optimizer.apply([v.grad for v in self.trainable_weights], self.trainable_weights)
            return {"mse": loss.detach()}

    own = OwnLoss([layers.Input((5,)), layers.Dense(2)])
    own.compile(lamina.optimizers.SGD(0.1), device="cpu")
    hist = own.fit(X, Y, batch_size=48, epochs=3, verbose=0)
    assert list(hist.history) == ["mse"] and hist.history["mse"][2] < hist.history["mse"][0]


# ---------------------------------------- (e) test_step and predict_step overrides
class Halved(lamina.Sequential):
    """test_step reports its own log; predict_step halves the outputs."""

    def test_step(self, data):
        x, y, _ = unpack_x_y_sample_weight(data)
        self.err_tracker.update_state(torch.abs(self(x, training=False) - y))
        return {"abs_err": self.err_tracker.result()}

    def predict_step(self, data):
        x, _, _ = unpack_x_y_sample_weight(data)
        return self(x, training=False) / 2


def test_test_step_and_predict_step_overrides_serve_evaluate_validation_and_predict():
    model = Halved([layers.Input((5,)), layers.Dense(2)])
    model.err_tracker = lamina.metrics.Mean(name="abs_err")  # tracked as a model metric
    model.compile(lamina.optimizers.SGD(0.05), "mse", jit_compile=True, device="cpu")
    assert "abs_err" in model.metrics_names

    class Seen(lamina.callbacks.Callback):
        def on_test_batch_end(self, batch, logs=None):
            self.logs = logs

    seen = Seen()
    hist = model.fit(
        X, Y, batch_size=8, epochs=2, verbose=0, validation_data=(XV, YV), callbacks=[seen]
    )
    assert set(hist.history) == {"loss", "abs_err", "val_abs_err"}
    assert set(seen.logs) == {"abs_err"}
    got = model.evaluate(XV, YV, batch_size=4, verbose=0, return_dict=True)
    want = np.mean(np.abs(model(torch.from_numpy(XV)).detach().numpy() - YV))
    assert got == {"abs_err": pytest.approx(want, rel=1e-5)}
    np.testing.assert_allclose(hist.history["val_abs_err"][-1], want, rtol=1e-5)
    full = model(torch.from_numpy(XV)).detach().numpy()
    np.testing.assert_allclose(model.predict(XV, batch_size=5, verbose=0), full / 2, rtol=1e-6)
