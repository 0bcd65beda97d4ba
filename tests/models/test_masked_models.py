"""Masks through models: Sequential (and its hot loop), Functional, nested models, and the
engine (the output's mask weighs the loss and the mean metrics, eager and compiled).

Keras 3 itself (torch backend) is the reference: same weights, same data, same outputs,
losses, metrics and trained weights.
"""

from __future__ import annotations

import os
import warnings

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")

import lamina  # noqa: E402
from lamina import layers  # noqa: E402
from lamina.layers.masking import Masking  # noqa: E402

STEPS, FEATURES = 6, 3


def _sequences(n: int = 8, seed: int = 0) -> np.ndarray:
    """Sequences padded with all-zero steps at the end (a different length per row)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, STEPS, FEATURES)).astype(np.float32)
    for i in range(n):
        x[i, 1 + i % (STEPS - 1) :] = 0.0
    return x


def _stack(lib, pooled: bool = True, steps: int | None = STEPS, masked: bool = True):
    L = lib.layers
    body = [L.Input((steps, FEATURES)), *([L.Masking()] if masked else [])]
    body += [L.Dense(5, activation="tanh")]
    body += [L.GlobalAveragePooling1D(), L.Dense(2)] if pooled else [L.Dense(2)]
    return lib.Sequential(body)


def _functional(lib, pooled: bool = True, steps: int | None = STEPS, masked: bool = True):
    L = lib.layers
    inp = L.Input((steps, FEATURES))
    h = L.Dense(5, activation="tanh")(L.Masking()(inp) if masked else inp)
    out = L.Dense(2)(L.GlobalAveragePooling1D()(h) if pooled else h)
    return lib.Model(inp, out)


def _lamina():
    """lamina, with Masking among its layers (as lamina.layers exports it)."""

    class Lib:
        Sequential, Model = lamina.Sequential, lamina.Model
        layers = type("layers", (), {**vars(layers), "Masking": Masking})

    return Lib


@pytest.mark.parametrize("build", [_stack, _functional], ids=["sequential", "functional"])
def test_masked_model_predicts_as_keras(build):
    k, m = build(keras), build(_lamina())
    m.set_weights(k.get_weights())
    x = _sequences()
    want = k.predict(x, verbose=0)
    np.testing.assert_allclose(m.predict(x, verbose=0), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m(torch.tensor(x)).detach().numpy(), want, rtol=1e-5, atol=1e-6)
    plain = build(_lamina(), masked=False)  # the same weights without the mask differ
    plain.set_weights(k.get_weights())
    assert not np.allclose(plain.predict(x, verbose=0), want, atol=1e-3)


@pytest.mark.parametrize("build", [_stack, _functional], ids=["sequential", "functional"])
def test_a_padded_step_changes_nothing(build):
    fixed, any_length = build(_lamina()), build(_lamina(), steps=None)
    any_length.set_weights(fixed.get_weights())
    x = _sequences()
    longer = np.concatenate([x, np.zeros((len(x), 3, FEATURES), np.float32)], axis=1)
    np.testing.assert_allclose(
        any_length.predict(longer, verbose=0), fixed.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )


def test_sequential_without_masks_keeps_its_fast_loop(monkeypatch):
    model = lamina.Sequential([lamina.Input((4,)), layers.Dense(3), layers.Dense(2)])
    assert not model._mask_flow
    monkeypatch.setattr(
        lamina.Sequential, "_call_masked", lambda *a: pytest.fail("masked loop without masks")
    )
    fast = []
    original = layers.Dense.call_fast

    def spy(self, x, training):
        fast.append(self.name)
        return original(self, x, training)

    monkeypatch.setattr(layers.Dense, "call_fast", spy)
    model(torch.ones(2, 4))
    model(torch.ones(2, 4))
    assert len(fast) == 4
    assert _stack(_lamina())._mask_flow


def test_explicit_and_input_masks_reach_a_functional_model():
    inp = lamina.Input((STEPS, FEATURES))
    out = layers.GlobalAveragePooling1D()(layers.Dense(4)(inp))
    model = lamina.Model(inp, out)
    x = torch.tensor(_sequences())
    mask = (x != 0).any(-1)
    want = layers.GlobalAveragePooling1D()(model.layers[1](x), mask=mask)
    got = model(x, mask=mask)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-6)
    assert getattr(x, "_keras_mask", None) is None  # the caller's tensor is left alone
    carried = x.clone()
    carried._keras_mask = mask
    np.testing.assert_allclose(model(carried).detach().numpy(), want.detach().numpy(), rtol=1e-6)
    # the same through a Sequential
    seq = lamina.Sequential([lamina.Input((STEPS, FEATURES)), model.layers[1], model.layers[2]])
    np.testing.assert_allclose(seq(x, mask=mask).detach().numpy(), want.detach().numpy())


def test_masks_cross_nested_models():
    inner = lamina.Sequential([lamina.Input((STEPS, FEATURES)), layers.Dense(4)])
    inp = lamina.Input((STEPS, FEATURES))
    h = inner(Masking()(inp))
    assert h._keras_mask.shape == (None, STEPS)
    model = lamina.Model(inp, layers.GlobalAveragePooling1D()(h))
    maker = lamina.Sequential([lamina.Input((STEPS, FEATURES)), Masking(), layers.Dense(4)])
    outer_in = lamina.Input((STEPS, FEATURES))
    made = maker(outer_in)
    assert made._keras_mask.shape == (None, STEPS)
    pooled = lamina.Model(outer_in, layers.GlobalAveragePooling1D()(made))
    x = torch.tensor(_sequences())
    maker.layers[1].set_weights(inner.layers[0].get_weights())
    np.testing.assert_allclose(
        model(x).detach().numpy(), pooled(x).detach().numpy(), rtol=1e-6, atol=1e-7
    )
    keep = (x != 0).any(-1, keepdim=True).float()
    h = inner(x)
    np.testing.assert_allclose(
        model(x).detach().numpy(), ((h * keep).sum(1) / keep.sum(1)).detach().numpy(), rtol=1e-5
    )


def _fit_both(jit_compile):
    """Sequence outputs whose padded steps carry a mask: Keras 3 and Lamina, same start."""
    x = _sequences(12)
    y = np.random.default_rng(7).normal(size=(12, STEPS, 2)).astype(np.float32)
    y[~(x != 0).any(-1)] += 10.0  # far off on padded steps: counting them would show
    k, m = _stack(keras, pooled=False), _stack(_lamina(), pooled=False)
    m.set_weights(k.get_weights())
    opts = {"loss": "mse", "metrics": ["mae"], "weighted_metrics": ["mse"]}
    k.compile(optimizer=keras.optimizers.SGD(0.1), **opts)
    m.compile(optimizer=lamina.optimizers.SGD(0.1), jit_compile=jit_compile, **opts)
    fit = {"batch_size": 4, "epochs": 2, "shuffle": False, "verbose": 0}
    hk = k.fit(x, y, **fit).history
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hm = m.fit(x, y, **fit).history
    failures = [str(w.message) for w in caught if "could not compile" in str(w.message)]
    assert not failures, failures
    return k, m, hk, hm, (x, y)


@pytest.mark.parametrize("jit_compile", [False, True], ids=["eager", "compiled"])
def test_fit_weighs_loss_and_metrics_by_the_output_mask_as_keras(jit_compile):
    k, m, hk, hm, (x, y) = _fit_both(jit_compile)
    if jit_compile:
        assert m._step_fn.compiled is not None, "the compiled step did not run"
    for key in ("loss", "mae", "mse"):
        np.testing.assert_allclose(hm[key], hk[key], rtol=1e-5, err_msg=key)
    for a, b in zip(m.get_weights(), k.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    got = m.evaluate(x, y, verbose=0, return_dict=True)
    want = k.evaluate(x, y, verbose=0, return_dict=True)
    for key in ("loss", "mae", "mse"):
        np.testing.assert_allclose(got[key], want[key], rtol=1e-5, err_msg=key)
    # the padded steps are out of the loss: the unmasked mean differs
    pred = m.predict(x, verbose=0)
    assert np.mean((pred - y) ** 2) > 10 * got["loss"]
    keep = (x != 0).any(-1)
    np.testing.assert_allclose(got["loss"], np.mean(((pred - y) ** 2).mean(-1)[keep]), rtol=1e-5)


def test_sample_weights_and_mask_together():
    # Keras 3 multiplies (batch,) weights into (batch, time) losses by broadcasting from the
    # right, defined only when batch == time (it raises otherwise); Lamina aligns them per
    # sample, so the reference here is NumPy.
    x = _sequences(12)
    rng = np.random.default_rng(7)
    y = rng.normal(size=(12, STEPS, 2)).astype(np.float32)
    sw = rng.uniform(0.5, 2.0, size=(12,)).astype(np.float32)
    m = _stack(_lamina(), pooled=False)
    m.compile("sgd", "mse", metrics=["mae"], weighted_metrics=["mse"])
    keep = (x != 0).any(-1)
    pred = m.predict(x, verbose=0)
    per_step = ((pred - y) ** 2).mean(-1)
    weights = keep * sw[:, None]
    got = m.evaluate(x, y, sample_weight=sw, batch_size=12, verbose=0, return_dict=True)
    want_loss = (per_step * weights * keep.size / keep.sum()).sum() / keep.size
    np.testing.assert_allclose(got["loss"], want_loss, rtol=1e-5)
    np.testing.assert_allclose(got["mse"], (per_step * weights).sum() / weights.sum(), rtol=1e-5)
    np.testing.assert_allclose(got["mae"], np.abs(pred - y).mean(-1)[keep].mean(), rtol=1e-5)
    history = m.fit(x, y, sample_weight=sw, batch_size=4, epochs=1, verbose=0).history
    assert np.isfinite(history["loss"]).all()


def test_masked_model_round_trips_through_a_lamina_file(tmp_path):
    m = _stack(_lamina())
    x = _sequences()
    path = tmp_path / "masked.lamina"
    m.save(path)
    loaded = lamina.saving.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), m.predict(x, verbose=0), rtol=1e-6)
    assert loaded._mask_flow
