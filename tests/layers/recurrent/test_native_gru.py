"""Lamina's CPU GRU kernel (`native_gru.py`, `gru_kernel.cpp`) against `torch.gru`:
outputs, final states and every gradient, finite differences in float64, the layer and
`fit` on it against the layer on torch.gru, and the fallback when it cannot be built."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest
import torch

import lamina
from lamina import config
from lamina.layers import GRU, Dense, Input
from lamina.layers.recurrent import native_gru
from lamina.runtime import native_build

# Skipped only where nothing can build it (the Makefile installs g++ and ninja); where
# they exist, a failed build fails test_the_kernel_builds_here.
pytestmark = pytest.mark.skipif(
    shutil.which("c++") is None or shutil.which("ninja") is None,
    reason="a C++ compiler and ninja are needed to build the GRU kernel",
)


def test_the_kernel_builds_here():
    usable = native_gru.usable(torch.zeros(1, 1, 1), torch.zeros(1, 1), [])
    assert usable, native_build.failure(native_gru.LIBRARY)


def _weights(features: int, units: int, dtype: torch.dtype, bias: bool) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    shapes = [(3 * units, features), (3 * units, units)] + ([(3 * units,)] * 2 if bias else [])
    return [(torch.randn(s, generator=g, dtype=dtype) * 0.5).requires_grad_() for s in shapes]


def _reference(x, h0, params):
    out, h = torch.gru(x, h0[None], params, len(params) == 4, 1, 0.0, True, False, True)
    return out, h[0]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("through", ["both", "sequence", "last"])
def test_outputs_and_gradients_match_torch_gru(dtype, bias, through):
    torch.manual_seed(0)
    batch, steps, features, units = 5, 7, 4, 6
    x = torch.randn(batch, steps, features, dtype=dtype, requires_grad=True)
    h0 = torch.randn(batch, units, dtype=dtype, requires_grad=True)
    params = _weights(features, units, dtype, bias)
    out, h = native_gru.run(x, h0, params, True)
    ref_out, ref_h = _reference(x, h0, params)
    tol = {"rtol": 1e-5, "atol": 2e-6} if dtype == torch.float32 else {}
    torch.testing.assert_close(out, ref_out, **tol)
    torch.testing.assert_close(h, ref_h, **tol)
    d_out, d_h = torch.randn_like(out), torch.randn_like(h)

    def loss(o, last):
        terms = {"both": (o * d_out).sum() + (last * d_h).sum()}
        terms["sequence"], terms["last"] = (o * d_out).sum(), (last * d_h).sum()
        return terms[through]

    inputs = [x, h0, *params]
    got = torch.autograd.grad(loss(out, h), inputs)
    want = torch.autograd.grad(loss(ref_out, ref_h), inputs)
    for name, a, b in zip(["x", "h0", "w_ih", "w_hh", "b_ih", "b_hh"], got, want):
        torch.testing.assert_close(a, b, **(tol or {"rtol": 1e-10, "atol": 1e-12}), msg=name)


def test_finite_differences_float64():
    torch.manual_seed(0)
    x = torch.randn(3, 4, 2, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
    params = _weights(2, 5, torch.float64, True)

    def f(x, h0, *params):
        out, h = native_gru.run(x, h0, list(params), True)
        return out, h

    assert torch.autograd.gradcheck(f, (x, h0, *params))


def test_inference_matches_training_forward_and_torch():
    torch.manual_seed(0)
    x, h0 = torch.randn(4, 9, 3), torch.randn(4, 8)
    params = [p.detach() for p in _weights(3, 8, torch.float32, True)]
    with torch.no_grad():
        out, h = native_gru.run(x, h0, params, False)
        ref_out, ref_h = _reference(x, h0, params)
    torch.testing.assert_close(out, ref_out, rtol=1e-5, atol=2e-6)
    torch.testing.assert_close(h, ref_h, rtol=1e-5, atol=2e-6)


def test_the_operator_names_wrong_weight_shapes():
    x, h0 = torch.randn(2, 3, 4), torch.randn(2, 5)
    native_gru.KERNEL.operators()
    with pytest.raises(RuntimeError, match=r"Expected w_ih \(3H, features\).*w_hh.shape=\[15, 6\]"):
        torch.ops.lamina_native_gru.forward(
            x, h0, torch.randn(15, 4), torch.randn(15, 6), None, None, False
        )


def test_only_float_cpu_tensors_without_autocast_use_it():
    x, h0 = torch.randn(2, 3, 4), torch.randn(2, 5)
    params = [p.detach() for p in _weights(4, 5, torch.float32, True)]
    assert native_gru.usable(x, h0, params)
    half = [p.bfloat16() for p in params]
    assert not native_gru.usable(x.bfloat16(), h0.bfloat16(), half)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not native_gru.usable(x, h0, params)
    config.set_native_kernels(False)
    try:
        assert not native_gru.usable(x, h0, params)
    finally:
        config.set_native_kernels(True)


def _gru_model(seed: int) -> lamina.Model:
    lamina.utils.set_random_seed(seed)
    inputs = Input((12, 3))
    hidden = GRU(8, return_sequences=True)(inputs)
    outputs = Dense(1)(GRU(6)(hidden))
    model = lamina.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse")
    return model


def test_fit_on_the_kernel_equals_fit_on_torch_gru(monkeypatch):
    """Lightning-style parity: the same model trained on each kernel ends the same."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 12, 3)).astype("float32")
    y = rng.normal(size=(48, 1)).astype("float32")
    calls = []
    run = native_gru.run
    monkeypatch.setattr(native_gru, "run", lambda *a: calls.append(1) or run(*a))
    fast = _gru_model(3)
    fast_history = fast.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    assert calls, "the GRU layers did not run on the kernel"
    config.set_native_kernels(False)
    try:
        calls.clear()
        slow = _gru_model(3)
        slow_history = slow.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
        assert not calls
    finally:
        config.set_native_kernels(True)
    np.testing.assert_allclose(fast_history.history["loss"], slow_history.history["loss"], 1e-5)
    for a, b in zip(fast.get_weights(), slow.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(fast.predict(x, verbose=0), slow.predict(x, verbose=0), 1e-4, 1e-6)


def test_a_kernel_that_cannot_be_built_warns_once_and_torch_gru_runs(monkeypatch):
    monkeypatch.setattr(native_build, "load_operators", lambda *args: False)
    monkeypatch.setitem(native_build._FAILED, native_gru.LIBRARY, "RuntimeError: no compiler")
    monkeypatch.setattr(native_gru.KERNEL, "warned", False)
    layer = GRU(4, return_sequences=True)
    x = torch.randn(2, 5, 3)
    with pytest.warns(RuntimeWarning, match="GRU kernel could not be built.*no compiler"):
        first = layer(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = layer(x)
    torch.testing.assert_close(first, second)
    monkeypatch.undo()
    torch.testing.assert_close(layer(x), first, rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize(
    "batch, units, threads",
    [(40, 7, 2), (37, 50, 2), (64, 128, 2), (13, 33, 3), (9, 64, 1), (5, 40, 4)],
)
@pytest.mark.parametrize("x_grad", [True, False])
def test_every_split_of_the_units_over_threads_matches_torch_gru(
    dtype, batch, units, threads, x_grad
):
    """The team's split of the units (slices whose panels need padding, a thread with
    fewer units than the others, more threads than cores), batches that leave rows over
    after the register blocks, and an odd number of steps give torch.gru's values."""
    torch.manual_seed(2)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        x = torch.randn(batch, 5, 3, dtype=dtype, requires_grad=x_grad)  # no dx: a ring of steps
        h0 = torch.randn(batch, units, dtype=dtype, requires_grad=True)
        params = _weights(3, units, dtype, True)
        out, h = native_gru.run(x, h0, params, True)
        ref_out, ref_h = _reference(x, h0, params)
        tol = {"rtol": 2e-5, "atol": 5e-6} if dtype == torch.float32 else {}
        torch.testing.assert_close(out, ref_out, **tol)
        torch.testing.assert_close(h, ref_h, **tol)
        inference, last = native_gru.run(x.detach(), h0.detach(), params, False)
        torch.testing.assert_close(inference, ref_out.detach(), **tol)
        d_out, d_h = torch.randn_like(out), torch.randn_like(h)
        inputs = [x, h0, *params][0 if x_grad else 1 :]
        got = torch.autograd.grad((out * d_out).sum() + (h * d_h).sum(), inputs)
        want = torch.autograd.grad((ref_out * d_out).sum() + (ref_h * d_h).sum(), inputs)
        for a, b in zip(got, want):
            # float32 rounds both to about 4e-6 of the largest gradient (both are that far
            # from the float64 values, whose gradients reach 50-100 at 128 units)
            scale = float(b.abs().max()) if dtype == torch.float32 else 0.0
            torch.testing.assert_close(
                a, b, rtol=2e-5 if scale else 1e-10, atol=2e-5 * scale or 1e-12
            )
    finally:
        torch.set_num_threads(before)


def test_nan_in_the_input_comes_out_as_nan_like_torch_gru():
    """The kernel's own exp must not turn a NaN into a number (TerminateOnNaN relies on it)."""
    x, h0 = torch.randn(2, 4, 3), torch.zeros(2, 5)
    x[1, 2, 0] = float("nan")
    params = [p.detach() for p in _weights(3, 5, torch.float32, True)]
    with torch.no_grad():
        out, h = native_gru.run(x, h0, params, False)
        ref_out, ref_h = _reference(x, h0, params)
    assert torch.equal(out.isnan(), ref_out.isnan()) and bool(out[1, 2:].isnan().all())
    torch.testing.assert_close(out[0], ref_out[0], rtol=1e-5, atol=2e-6)


def test_extreme_pre_activations_saturate_like_torch_gru():
    """Gates pushed far past exp's float range saturate at 0 and 1 (no inf or NaN)."""
    x, h0 = torch.randn(3, 5, 4) * 1e4, torch.randn(3, 6)
    params = [p.detach() for p in _weights(4, 6, torch.float32, True)]
    with torch.no_grad():
        out, h = native_gru.run(x, h0, params, False)
        ref_out, ref_h = _reference(x, h0, params)
    assert bool(out.isfinite().all())
    torch.testing.assert_close(out, ref_out, rtol=1e-5, atol=2e-6)


def test_bidirectional_gru_runs_each_direction_on_the_kernel(monkeypatch):
    """Bidirectional(GRU) leaves torch.gru's two-direction call for two kernel calls, with
    the same outputs and gradients."""
    from lamina.layers import Bidirectional

    torch.manual_seed(0)
    x = torch.randn(6, 9, 3)
    layer = Bidirectional(GRU(5, return_sequences=True), merge_mode="concat")
    calls = []
    run = native_gru.run
    monkeypatch.setattr(native_gru, "run", lambda *a: calls.append(1) or run(*a))
    out = layer(x)
    assert len(calls) == 2
    grads = torch.autograd.grad(out.square().sum(), list(layer.parameters()))
    config.set_native_kernels(False)
    try:
        ref = layer(x)
        ref_grads = torch.autograd.grad(ref.square().sum(), list(layer.parameters()))
    finally:
        config.set_native_kernels(True)
    assert len(calls) == 2
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=2e-6)
    for a, b in zip(grads, ref_grads):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_second_derivatives_match_torch_gru():
    """A gradient penalty (create_graph=True) differentiates the backward, as torch.gru allows."""
    torch.manual_seed(3)
    x = torch.randn(4, 5, 3, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(4, 6, dtype=torch.float64)
    params = _weights(3, 6, torch.float64, True)

    def penalty(run):
        out, h = run(x, h0, params)
        grads = torch.autograd.grad(
            out.tanh().sum() + h.square().sum(), [x, *params], create_graph=True
        )
        return sum(g.square().sum() for g in grads)

    got = torch.autograd.grad(penalty(lambda *a: native_gru.run(*a, True)), [x, *params])
    want = torch.autograd.grad(penalty(_reference), [x, *params])
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b)
