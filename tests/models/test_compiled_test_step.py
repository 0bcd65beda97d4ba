"""The compiled test step (evaluate / validation of a `jit_compile=True` model): the same
loss and metrics as the eager step, direct calls after the first batch, eager for the tail
batch and when a metric cannot compile."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def _model(jit, metrics=("accuracy",), seed=0):
    lamina.utils.set_random_seed(seed)
    model = lamina.Sequential(
        [
            layers.Dense(16, activation="relu", input_shape=(6,)),
            layers.Dropout(0.25),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile("adam", "categorical_crossentropy", list(metrics), jit_compile=jit)
    return model


def _data(n=100, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, n)]
    return x, y


def test_compiled_evaluate_matches_eager_and_calls_the_graph_directly():
    x, y = _data()
    eager, jit = _model(False), _model(True)
    jit.set_weights(eager.get_weights())
    want = eager.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    got = jit.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)  # 6 batches + 4 rows
    assert got.keys() == want.keys()
    for k in want:
        assert got[k] == pytest.approx(want[k], rel=1e-5, abs=1e-6)
    step = jit._test_fn
    assert step is not None and step.direct is not None  # one graph, bound for direct calls
    assert step.capture.calls == 1
    # a second evaluation (new weights) re-enters through Dynamo once, then calls directly
    jit.set_weights([w * 0.5 for w in jit.get_weights()])
    eager.set_weights([w * 0.5 for w in eager.get_weights()])
    want = eager.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    got = jit.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    for k in want:
        assert got[k] == pytest.approx(want[k], rel=1e-5, abs=1e-6)
    assert step.capture.calls == 1  # no recompile


def test_direct_calls_really_run_the_step(monkeypatch):
    """Counting direct calls: all full batches but the first (Dynamo) go through them."""
    x, y = _data(96)
    model = _model(True)
    model.evaluate(x, y, batch_size=16, verbose=0)
    calls = []
    direct = model._test_fn.direct
    real = direct.graph_fn
    monkeypatch.setattr(direct, "graph_fn", lambda *a: calls.append(1) or real(*a))
    loss, acc = model.evaluate(x, y, batch_size=16, verbose=0)
    assert len(calls) == 5  # 6 full batches: the first re-checks the guards through Dynamo
    eager = _model(False)
    eager.set_weights(model.get_weights())
    want = eager.evaluate(x, y, batch_size=16, verbose=0)
    assert [loss, acc] == pytest.approx(want, rel=1e-5)


def test_validation_during_a_compiled_fit_matches_eager():
    x, y = _data(128)
    xv, yv = _data(40, seed=5)
    hists = []
    for jit in (False, True):
        model = _model(jit, seed=3)
        model.layers[1].rate = 0.0  # no dropout: both runs follow the same path
        h = model.fit(x, y, batch_size=32, epochs=2, validation_data=(xv, yv), verbose=0)
        hists.append(h.history)
    for k in ("val_loss", "val_accuracy"):
        np.testing.assert_allclose(hists[1][k], hists[0][k], rtol=1e-4, atol=1e-5)


def test_eager_models_and_run_eagerly_do_not_compile_the_test_step():
    x, y = _data(32)
    model = _model(False)
    model.evaluate(x, y, verbose=0)
    assert model._test_fn is None
    model = _model(True)
    model.run_eagerly = True
    model.evaluate(x, y, verbose=0)
    assert model._test_fn is None


def test_a_test_step_that_cannot_compile_warns_once_and_evaluates_eagerly(monkeypatch):
    x, y = _data(64)
    model = _model(True)
    eager = _model(False)
    eager.set_weights(model.get_weights())

    def broken(*a, **k):
        raise torch._dynamo.exc.Unsupported("no")

    model.evaluate(x[:16], y[:16], batch_size=16, verbose=0)  # builds the step
    model._test_fn.recheck = True
    monkeypatch.setattr(model._test_fn, "compiled", broken)
    with pytest.warns(UserWarning, match="could not compile the test step"):
        got = model.evaluate(x, y, batch_size=16, verbose=0)
    assert got == pytest.approx(eager.evaluate(x, y, batch_size=16, verbose=0), rel=1e-5)


def test_compiled_predict_matches_eager_for_arrays_and_generators():
    x, _ = _data(100)
    eager, jit = _model(False), _model(True)
    jit.set_weights(eager.get_weights())
    want = eager.predict(x, batch_size=16, verbose=0)
    got = jit.predict(x, batch_size=16, verbose=0)  # 6 full batches and a tail of 4
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    step = jit._predict_fn
    assert step is not None and step.direct is not None and step.capture.calls == 1
    # a generator: no known length, so each borrowed buffer must be copied, not aliased
    got = jit.predict((torch.from_numpy(x[i : i + 16]) for i in range(0, 96, 16)), verbose=0)
    np.testing.assert_allclose(got, want[:96], rtol=1e-5, atol=1e-6)
    assert len({tuple(r) for r in np.round(got, 5)}) > 50  # distinct rows, not one buffer
    assert step.capture.calls == 1  # no recompile
    # NumPy batches from a generator become inference tensors: eager, still correct
    got = jit.predict((x[i : i + 16] for i in range(0, 96, 16)), verbose=0)
    np.testing.assert_allclose(got, want[:96], rtol=1e-5, atol=1e-6)
    assert step.capture.calls == 1 and step.direct is not None


def test_compiled_predict_sees_new_weights_and_hands_callbacks_their_batch():
    x, _ = _data(64)
    eager, jit = _model(False), _model(True)
    jit.predict(x, batch_size=16, verbose=0)
    jit.set_weights([w * -1.0 for w in jit.get_weights()])
    eager.set_weights(jit.get_weights())
    seen = []

    class Keep(lamina.callbacks.Callback):
        def on_predict_batch_end(self, batch, logs=None):
            seen.append(logs["outputs"][0].numpy().copy())

    got = jit.predict(x, batch_size=16, verbose=0, callbacks=[Keep()])
    want = eager.predict(x, batch_size=16, verbose=0)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.concatenate(seen), want, rtol=1e-5, atol=1e-6)


def test_new_weight_tensors_rebuild_the_step_instead_of_reading_the_old_ones():
    """load_state_dict(assign=True) swaps the Parameter objects: the direct call must
    not keep reading the tensors it was built with."""
    x, _ = _data(64)
    jit, eager = _model(True), _model(False, seed=5)
    jit.predict(x, batch_size=16, verbose=0)
    old = jit._predict_fn
    jit.load_state_dict({k: v.clone() for k, v in eager.state_dict().items()}, assign=True)
    got = jit.predict(x, batch_size=16, verbose=0)
    np.testing.assert_allclose(got, eager.predict(x, batch_size=16, verbose=0), rtol=1e-5)
    assert jit._predict_fn is not old
