"""The compiled train step (`jit_compile=True`) trains exactly like the eager step.

Each case trains the same model from the same weights twice, eagerly and compiled,
and compares the per-epoch logs and the final weights. The cases cover every traced
optimizer rule (SGD with Nesterov momentum, centered RMSprop with momentum, Adam with
AMSGrad and weight decay, AdamW), the eager-update fallback (Adagrad), gradient
clipping, constraints, several outputs with loss weights, sample weights, BatchNorm
and a last partial batch (run eagerly, no recompile).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import layers, optimizers
from lamina.models import compiled_step
from lamina.models.compile_policy import CompilePolicy
from lamina.runtime.denormals import denormals_flushed_now


def _data(n: int = 100, features: int = 6, classes: int = 3):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, features)).astype("float32")
    y = rng.integers(0, classes, size=n)
    return x, y


def _mlp(batchnorm: bool = False, constraint: bool = False) -> lamina.Sequential:
    lamina.utils.set_random_seed(0)
    body = [
        layers.Dense(
            16,
            activation="relu",
            input_shape=(6,),
            kernel_constraint=(lambda w: w.clamp(-0.3, 0.3)) if constraint else None,
        )
    ]
    if batchnorm:
        body.append(layers.BatchNormalization())
    body += [layers.Dense(8, activation="tanh"), layers.Dense(3, activation="softmax")]
    return lamina.Sequential(body)


def _train(jit: bool, optimizer_factory, batchnorm=False, constraint=False, **fit_kw):
    x, y = _data()
    model = _mlp(batchnorm, constraint)
    model.compile(
        optimizer=optimizer_factory(),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=jit,
        device="cpu",
    )
    hist = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0, **fit_kw)
    if jit is True:
        assert not model._step_fn.failed, "the compiled step fell back to eager"
    return model, hist.history, model.get_weights()


def _assert_same(a, b, rtol=2e-5, atol=2e-6):
    (_, hist_a, w_a), (_, hist_b, w_b) = a, b
    assert hist_a.keys() == hist_b.keys()
    for key in hist_a:
        np.testing.assert_allclose(hist_a[key], hist_b[key], rtol=rtol, atol=atol, err_msg=key)
    for wa, wb in zip(w_a, w_b):
        np.testing.assert_allclose(wa, wb, rtol=rtol * 10, atol=atol * 10)


OPTIMIZERS = {
    "sgd_nesterov": lambda: optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    "rmsprop_centered_momentum": lambda: optimizers.RMSprop(
        0.01, momentum=0.5, centered=True, weight_decay=0.01
    ),
    "adam_amsgrad_decay": lambda: optimizers.Adam(0.01, amsgrad=True, weight_decay=0.01),
    "adamw_clipnorm": lambda: optimizers.AdamW(0.01, clipnorm=0.5),
    "adagrad_fallback": lambda: optimizers.Adagrad(0.05, global_clipnorm=1.0),
    "sgd_clipvalue": lambda: optimizers.SGD(0.1, clipvalue=0.01),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_compiled_matches_eager(name):
    eager = _train(False, OPTIMIZERS[name])
    jit = _train(True, OPTIMIZERS[name])
    assert jit[0]._step_fn.compiled is not None and jit[0]._step_fn.compiled.compile_seconds
    assert (jit[0]._step_fn.compiled.rule is None) == (name == "adagrad_fallback")
    _assert_same(eager, jit)
    # the optimizer state is the torch optimizer's, shared with the eager path
    assert eager[0].optimizer.iterations.item() == jit[0].optimizer.iterations.item() == 21


def test_compiled_batchnorm_and_constraints_match_eager():
    factory = lambda: optimizers.RMSprop(0.01)  # noqa: E731
    eager = _train(False, factory, batchnorm=True, constraint=True)
    jit = _train(True, factory, batchnorm=True, constraint=True)
    _assert_same(eager, jit)
    bn_eager = eager[0].layers[1].moving_mean.detach().numpy()
    bn_jit = jit[0].layers[1].moving_mean.detach().numpy()
    np.testing.assert_allclose(bn_jit, bn_eager, rtol=1e-5, atol=1e-6)


def test_compiled_sample_weights_multi_output_and_schedule():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(96, 5)).astype("float32")
    y1 = rng.integers(0, 2, size=(96, 1)).astype("float32")
    y2 = rng.normal(size=(96, 2)).astype("float32")
    sw = rng.uniform(0.5, 2.0, size=96).astype("float32")

    def run(jit):
        lamina.utils.set_random_seed(0)
        inp = layers.Input((5,))
        h = layers.Dense(8, activation="relu")(inp)
        a = layers.Dense(1, activation="sigmoid", name="a")(h)
        b = layers.Dense(2, name="b")(h)
        model = lamina.Model(inp, [a, b])
        schedule = lamina.optimizers.schedules.ExponentialDecay(0.05, 3, 0.5)
        model.compile(
            optimizer=optimizers.SGD(schedule, momentum=0.9),
            loss=["binary_crossentropy", "mse"],
            loss_weights=[1.0, 0.5],
            metrics=[["accuracy"], ["mae"]],
            jit_compile=jit,
            device="cpu",
        )
        hist = model.fit(x, [y1, y2], sample_weight=sw, batch_size=32, epochs=3, verbose=0)
        return model, hist.history, model.get_weights()

    eager, jit = run(False), run(True)
    _assert_same(eager, jit)
    # the schedule moved the rate every step, and the compiled step followed it
    lr = jit[0].optimizer.torch_optimizer.param_groups[0]["lr"]
    assert isinstance(lr, torch.Tensor) and float(lr) < 0.05 * 0.5**2


def test_partial_last_batch_runs_eagerly_without_recompile(monkeypatch):
    calls = {"compiled": 0}
    original = compiled_step.CompiledTrainStep.__call__

    def counting(self, *args):
        calls["compiled"] += 1
        return original(self, *args)

    monkeypatch.setattr(compiled_step.CompiledTrainStep, "__call__", counting)
    factory = lambda: optimizers.Adam(0.01)  # noqa: E731
    eager = _train(False, factory)  # 100 samples, batch 16: 6 full batches + 4 samples
    jit = _train(True, factory)
    _assert_same(eager, jit)
    # 3 epochs x 6 full batches, minus the first (eager) step; partial batches run eagerly
    assert calls["compiled"] == 3 * 6 - 1
    assert jit[0]._step_fn.compiled.key[0] == ((16, 6), torch.float32)


def test_auto_stays_eager_for_a_short_run():
    model, _, _ = _train("auto", lambda: optimizers.Adam(0.01))
    assert model._step_fn.decision == "auto" and model._step_fn.compiled is None


@pytest.fixture
def short_probe(monkeypatch):
    """The policy decides after 2 + 8 steps: these small fits have about 20 steps."""
    monkeypatch.setattr(CompilePolicy, "warmup_steps", 2)
    monkeypatch.setattr(CompilePolicy, "probe_steps", 8)


def test_auto_compiles_when_the_run_repays_it(monkeypatch, short_probe):
    monkeypatch.setattr(CompilePolicy, "compile_seconds", 0.0)
    model, _, _ = _train("auto", lambda: optimizers.Adam(0.01))
    assert model._step_fn.decision == "compiled" and model._step_fn.compiled is not None


def test_auto_keeps_a_cpu_model_with_convolutions_eager(monkeypatch, short_probe):
    """Even when the run would repay any compile, a conv model on the CPU stays eager;
    the same run without the conv layer compiles (compile_seconds = 0)."""
    monkeypatch.setattr(CompilePolicy, "compile_seconds", 0.0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(160, 6, 6, 1)).astype("float32")
    y = rng.integers(0, 3, 160)
    runners = {}
    for conv in (True, False):
        stack = [layers.Conv2D(4, 3, activation="relu")] if conv else []
        model = lamina.Sequential(
            [layers.Input((6, 6, 1)), *stack, layers.Flatten(), layers.Dense(3, "softmax")]
        )
        model.compile("adam", "sparse_categorical_crossentropy", jit_compile="auto", device="cpu")
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)
        runners[conv] = model._step_fn
    assert runners[True].decision == "eager-predicted" and runners[True].compiled is None
    # the dense model compiles (it may then measure slower on a busy machine and go back)
    assert runners[False].decision in ("compiled", "eager-measured")
    assert runners[False].compiled is not None


def test_auto_compiles_once_eager_time_across_fits_repays_it(monkeypatch, short_probe):
    """Ski rental: many short fits add up; the runner compiles once they cost enough."""
    x, y = _data()
    model = _mlp()
    model.compile("adam", "sparse_categorical_crossentropy", jit_compile="auto", device="cpu")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    runner = model._step_fn
    assert runner.decision == "auto" and runner.policy.timed_steps > 0
    # the time lost so far now exceeds a (tiny) compile cost
    monkeypatch.setattr(
        CompilePolicy, "compile_seconds", 0.9 * runner.policy.eager_seconds * (1 - 1 / 1.4)
    )
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    # it compiled; measured slower than eager (possible on a busy machine) it goes back
    assert runner.decision in ("compiled", "eager-measured") and runner.compiled is not None


def test_jit_compile_rejects_unknown_values():
    model = _mlp()
    with pytest.raises(ValueError, match="jit_compile"):
        model.compile("adam", "mse", jit_compile="yes")
    with pytest.raises(ValueError, match="steps_per_execution"):
        model.compile("adam", "mse", steps_per_execution=0)


class _Probe(lamina.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        self.flushed = denormals_flushed_now()


def test_fit_and_predict_flush_denormals_on_cpu_and_restore_the_setting():
    torch.set_flush_denormal(False)
    x, y = _data()
    model = _mlp()
    model.compile("adam", "sparse_categorical_crossentropy", jit_compile=False, device="cpu")
    probe = _Probe()
    model.fit(x, y, epochs=1, verbose=0, callbacks=[probe])
    assert probe.flushed is True
    assert denormals_flushed_now() is False  # restored

    lamina.config.set_flush_denormal(False)
    try:
        model.fit(x, y, epochs=1, verbose=0, callbacks=[probe])
        assert probe.flushed is False
    finally:
        lamina.config.set_flush_denormal(True)

    class _PredictProbe(lamina.callbacks.Callback):
        def on_predict_batch_end(self, batch, logs=None):
            self.flushed = denormals_flushed_now()

    predict_probe = _PredictProbe()
    model.predict(x, verbose=0, callbacks=[predict_probe])
    assert predict_probe.flushed is True and denormals_flushed_now() is False
    with pytest.raises(TypeError, match="Expected a bool"):
        lamina.config.set_flush_denormal("no")


class _BatchCounter(lamina.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.begins, self.ends = [], []

    def on_train_batch_begin(self, batch, logs=None):
        self.begins.append(batch)

    def on_train_batch_end(self, batch, logs=None):
        self.ends.append(batch)


def test_steps_per_execution_runs_batch_hooks_once_per_execution():
    x, y = _data(n=96)
    model = _mlp()
    model.compile(
        "sgd", "sparse_categorical_crossentropy", steps_per_execution=4, jit_compile=False
    )
    counter = _BatchCounter()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[counter])  # 12 batches
    assert counter.begins == [0, 4, 8]
    assert counter.ends == [3, 7, 11]


def test_compiled_cnn_matches_eager():
    """Conv2D, ReLU, non-overlapping max pooling (a reshape + amax when compiled), Dense."""
    rng = np.random.default_rng(2)
    x = rng.uniform(size=(48, 10, 10, 2)).astype("float32")
    y = rng.integers(0, 4, size=48)

    def run(jit):
        lamina.utils.set_random_seed(0)
        model = lamina.Sequential(
            [
                layers.Conv2D(6, 3, activation="relu", input_shape=(10, 10, 2)),
                layers.MaxPooling2D(2),
                layers.Conv2D(4, 2, padding="same", activation="relu"),
                layers.MaxPooling2D((2, 2), padding="valid"),
                layers.Flatten(),
                layers.Dense(4, activation="softmax"),
            ]
        )
        model.compile(
            optimizers.Adam(0.01), "sparse_categorical_crossentropy", ["accuracy"], jit_compile=jit
        )
        hist = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
        assert jit is False or not model._step_fn.failed
        return model, hist.history, model.get_weights()

    _assert_same(run(False), run(True), rtol=1e-4, atol=1e-5)


def test_one_ahead_prefetch_keeps_order_and_fetches_early():
    from lamina.data.adapter import one_ahead

    fetched = []

    def source():
        for i in range(4):
            fetched.append(i)
            yield i

    out = []
    for item in one_ahead(source()):
        out.append((item, len(fetched)))
    assert [i for i, _ in out] == [0, 1, 2, 3]
    assert [n for _, n in out] == [2, 3, 4, 4]  # batch i+1 was fetched before i was used
    assert list(one_ahead(iter([]))) == []


def test_auto_returns_to_eager_when_the_compiled_step_is_not_faster(monkeypatch):
    monkeypatch.setattr(CompilePolicy, "compile_seconds", 0.0)
    original = compiled_step.CompiledTrainStep.__call__

    def slow(self, *args):
        import time

        time.sleep(0.2)  # the compiled step measures slower than the eager one
        return original(self, *args)

    monkeypatch.setattr(compiled_step.CompiledTrainStep, "__call__", slow)
    x, y = _data(n=400)
    model = _mlp()
    model.compile("adam", "sparse_categorical_crossentropy", jit_compile="auto", device="cpu")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    runner = model._step_fn
    assert runner.decision == "eager-measured"
    assert runner.policy.checked == CompilePolicy.probe_steps
    steps = model.optimizer.iterations.item()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)  # stays eager, still trains
    assert model.optimizer.iterations.item() == steps + 50
