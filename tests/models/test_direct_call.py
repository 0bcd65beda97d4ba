"""The compiled step's direct graph call and fused steps (steps_per_execution) stay exact.

After its first call, the compiled train step calls its graph without Dynamo
(`lamina.models.direct_call`), and with `steps_per_execution=N` one call runs N steps.
Each test trains the same model eagerly and compiled and compares logs and weights,
and checks that the fast path really ran, so a silent fallback cannot pass.
"""

from __future__ import annotations

import numpy as np
import torch

import lamina
from lamina import callbacks, layers, optimizers
from lamina.models import direct_call


def _data(n: int = 96):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 6)).astype("float32")
    return x, rng.integers(0, 3, size=n)


class Scale(layers.Layer):
    """Multiplies by a Python float: Dynamo bakes it into the graph and guards on it."""

    def __init__(self, scale: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, x, training=None):
        return x * self.scale

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


class Rescale(callbacks.Callback):
    """Changes the Scale layer between epochs, as a user's callback might."""

    def on_epoch_end(self, epoch, logs=None):
        self.model.layers[1].scale = 0.5 + epoch


def _model() -> lamina.Sequential:
    lamina.utils.set_random_seed(0)
    return lamina.Sequential(
        [
            layers.Dense(16, activation="relu", input_shape=(6,)),
            Scale(1.0),
            layers.BatchNormalization(),
            layers.Dense(3, activation="softmax"),
        ]
    )


def _train(jit, optimizer, epochs=3, spe=1, batch_size=16, **fit_kw):
    x, y = _data()
    model = _model()
    model.compile(
        optimizer=optimizer(),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=jit,
        steps_per_execution=spe,
        device="cpu",
    )
    hist = model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0, **fit_kw)
    return model, hist.history


def _assert_same(a, b):
    (model_a, hist_a), (model_b, hist_b) = a, b
    for key in hist_a:
        np.testing.assert_allclose(hist_a[key], hist_b[key], rtol=2e-5, atol=2e-6, err_msg=key)
    for wa, wb in zip(model_a.get_weights(), model_b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=2e-4, atol=2e-5)


def _count_direct_calls(monkeypatch) -> dict[str, int]:
    calls = {"n": 0}
    original = direct_call.DirectCall.__call__

    def counting(self, *args):
        calls["n"] += 1
        return original(self, *args)

    monkeypatch.setattr(direct_call.DirectCall, "__call__", counting)
    return calls


def test_direct_call_matches_eager_and_runs(monkeypatch):
    calls = _count_direct_calls(monkeypatch)
    factory = lambda: optimizers.RMSprop(0.01, momentum=0.5)  # noqa: E731
    eager, jit = _train(False, factory), _train(True, factory)
    _assert_same(eager, jit)
    # 3 epochs x 6 batches; the first step is eager and each epoch's first compiled call
    # goes through Dynamo (guards checked): the other 3 x 6 - 1 - 3 calls are direct
    assert calls["n"] == 3 * 6 - 1 - 3
    assert jit[0]._step_fn.compiled.direct_allowed


def test_a_guarded_change_between_epochs_drops_the_direct_call(monkeypatch):
    calls = _count_direct_calls(monkeypatch)
    factory = lambda: optimizers.Adam(0.01)  # noqa: E731
    eager = _train(False, factory, callbacks=[Rescale()])
    jit = _train(True, factory, callbacks=[Rescale()])
    # a stale graph would keep multiplying by 1.0 and drift from the eager run
    _assert_same(eager, jit)
    step = jit[0]._step_fn.compiled
    assert not step.direct_allowed  # Dynamo compiled again: it serves every call now
    assert calls["n"] == 6 - 2  # only the first epoch's steps after the first two calls


def test_optimizer_without_a_traced_rule_keeps_dynamo(monkeypatch):
    calls = _count_direct_calls(monkeypatch)
    factory = lambda: optimizers.Adagrad(0.05)  # noqa: E731
    _assert_same(_train(False, factory), _train(True, factory))
    assert calls["n"] == 0


def test_fused_steps_with_a_schedule_match_eager(monkeypatch):
    """4 steps per call, the rate moving every step; 96 / 8 = 12 batches: 3 calls an epoch."""
    calls = _count_direct_calls(monkeypatch)

    def factory():
        return optimizers.SGD(optimizers.schedules.ExponentialDecay(0.1, 2, 0.7))

    jit = _train(True, factory, spe=4, epochs=3, batch_size=8)
    eager = _train(False, factory, spe=4, epochs=3, batch_size=8)
    _assert_same(eager, jit)
    step = jit[0]._step_fn.compiled
    assert step.direct[(4, False)] is not None
    # epoch 1: eager (no optimizer state yet), Dynamo (compiles), direct; later epochs:
    # Dynamo (guards), direct, direct
    assert calls["n"] == 1 + 2 * 2
    assert jit[0].optimizer.iterations.item() == 3 * 12


def test_fused_steps_leave_a_short_last_chunk_eager(monkeypatch):
    """100 samples in batches of 16: 6 full batches and 4 samples; chunks of 4 and 3."""
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(100, 6)).astype("float32"), rng.integers(0, 3, size=100)

    def run(jit):
        model = _model()
        model.compile(
            optimizers.Adam(0.01),
            "sparse_categorical_crossentropy",
            jit_compile=jit,
            steps_per_execution=4,
            device="cpu",
        )
        model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
        return model

    eager, jit = run(False), run(True)
    for wa, wb in zip(eager.get_weights(), jit.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=2e-4, atol=2e-5)
    assert list(jit._step_fn.compiled.direct) == [(4, True)]  # no graph for 3 batches


def test_fused_steps_report_first_and_last_batch_to_hooks():
    class Hooks(callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seen = []

        def on_train_batch_begin(self, batch, logs=None):
            self.seen.append(("begin", batch))

        def on_train_batch_end(self, batch, logs=None):
            self.seen.append(("end", batch))

    hooks = Hooks()
    _train(True, lambda: optimizers.Adam(0.01), epochs=1, spe=4, callbacks=[hooks])
    # 6 batches in chunks of 4 and 2: the short last chunk still ends with a hook
    assert hooks.seen == [("begin", 0), ("end", 3), ("begin", 4), ("end", 5)]


def test_rates_ahead_follow_the_schedule_and_decay():
    opt = optimizers.SGD(optimizers.schedules.ExponentialDecay(0.1, 1, 0.5))
    opt.build([torch.nn.Parameter(torch.zeros(2))])
    assert opt.rates_ahead(3) == [0.1, 0.05, 0.025]
    opt.count_step()
    np.testing.assert_allclose(opt.rates_ahead(2), [0.05, 0.025])
    legacy = optimizers.SGD(0.1, decay=1.0)
    assert legacy.rates_ahead(2) == [0.1, 0.05]
    assert optimizers.SGD(0.1).rates_ahead(4) is None


def test_noise_layers_trace_into_one_graph():
    """Dropout, SpatialDropout, GaussianNoise/Dropout and pooling compile without graph breaks."""
    rng = np.random.default_rng(3)
    x = rng.uniform(size=(64, 8, 8, 2)).astype("float32")
    y = rng.integers(0, 3, size=64)
    lamina.utils.set_random_seed(0)
    model = lamina.Sequential(
        [
            layers.Input((8, 8, 2)),
            layers.Conv2D(4, 3, activation="relu"),
            layers.SpatialDropout2D(0.2, seed=1),
            layers.MaxPooling2D(),
            layers.GaussianNoise(0.1, seed=2),
            layers.Flatten(),
            layers.Dropout(0.3, seed=3),
            layers.GaussianDropout(0.2),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", jit_compile=True, device="cpu")
    hist = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    step = model._step_fn.compiled
    assert not model._step_fn.failed and step.capture.calls == 1
    assert step.direct[(1, True)] is not None
    assert np.isfinite(hist.history["loss"]).all()
    # inference is still exact: the noise layers are identities outside training
    np.testing.assert_allclose(
        model.predict(x[:4], verbose=0), model(x[:4]).detach().numpy(), rtol=1e-5
    )


def test_momentum_under_a_schedule_updates_like_eager_when_steps_are_fused():
    """Keras's momentum rescales the buffers whenever the rate changes (before every update
    under a schedule): the fused rule would skip that, so the update runs eagerly per batch."""

    def factory():
        return optimizers.SGD(optimizers.schedules.ExponentialDecay(0.1, 2, 0.7), momentum=0.9)

    jit = _train(True, factory, spe=4, epochs=3, batch_size=8)
    eager = _train(False, factory, spe=4, epochs=3, batch_size=8)
    _assert_same(eager, jit)
    assert jit[0].optimizer.iterations.item() == 3 * 12


class _HoldsAMean(lamina.metrics.Metric):
    """A user metric holding another metric (its states are the inner Mean's)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = lamina.metrics.Mean(name="inner")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.inner.update_state(y_pred)

    def result(self):
        return self.inner.result()


def test_a_metric_holding_a_metric_keeps_the_direct_call(monkeypatch):
    calls = _count_direct_calls(monkeypatch)

    def train(jit):
        x, y = _data()
        model = _model()
        model.compile(
            optimizers.Adam(0.01),
            "sparse_categorical_crossentropy",
            metrics=[_HoldsAMean(name="held")],
            jit_compile=jit,
            device="cpu",
        )
        return model, model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history

    eager, jit = train(False), train(True)
    _assert_same(eager, jit)
    assert jit[0]._step_fn.compiled.direct_allowed and calls["n"] > 0
