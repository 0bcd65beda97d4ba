"""Lamina's CPU LSTM kernel (`native_lstm.py`, `lstm_kernel.cpp`) against `torch.lstm`:
outputs, both final states and every gradient, finite differences in float64, every
split of the units over threads, and the layer and `fit` on it against `torch.lstm`."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

import lamina
from lamina import config
from lamina.layers import LSTM, Bidirectional, Dense, Input
from lamina.layers.recurrent import native_lstm
from lamina.runtime import native_build

pytestmark = pytest.mark.skipif(
    shutil.which("c++") is None or shutil.which("ninja") is None,
    reason="a C++ compiler and ninja are needed to build the LSTM kernel",
)


def test_the_kernel_builds_here():
    usable = native_lstm.usable(torch.zeros(1, 1, 1), [torch.zeros(1, 1)] * 2, [])
    assert usable, native_build.failure(native_lstm.LIBRARY)


def _weights(features: int, units: int, dtype: torch.dtype, bias: bool) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    shapes = [(4 * units, features), (4 * units, units)] + ([(4 * units,)] * 2 if bias else [])
    return [(torch.randn(s, generator=g, dtype=dtype) * 0.5).requires_grad_() for s in shapes]


def _states(batch: int, units: int, dtype: torch.dtype) -> list[torch.Tensor]:
    return [torch.randn(batch, units, dtype=dtype, requires_grad=True) for _ in range(2)]


def _close(got, want, dtype):
    """float64 to 1e-10; float32 to 2e-5 of the largest value (both kernels round that far
    from the float64 values)."""
    for a, b in zip(got, want):
        if dtype == torch.float64:
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
        else:
            scale = float(b.detach().abs().max()) if b.numel() else 0.0
            torch.testing.assert_close(a, b, rtol=2e-5, atol=2e-5 * scale + 1e-7)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("through", ["all", "sequence", "h", "c"])
def test_outputs_and_gradients_match_torch_lstm(dtype, bias, through):
    torch.manual_seed(0)
    x = torch.randn(5, 7, 4, dtype=dtype, requires_grad=True)
    states = _states(5, 6, dtype)
    params = _weights(4, 6, dtype, bias)
    out, (h, c) = native_lstm.run(x, states, params, True)
    ref_out, (ref_h, ref_c) = native_lstm.reference(x, states, params)
    _close([out, h, c], [ref_out, ref_h, ref_c], dtype)
    d = [torch.randn_like(t) for t in (out, h, c)]

    def loss(o, hh, cc):
        terms = [(o * d[0]).sum(), (hh * d[1]).sum(), (cc * d[2]).sum()]
        chosen = {"all": terms, "sequence": terms[:1], "h": terms[1:2], "c": terms[2:]}
        return sum(chosen[through])

    inputs = [x, *states, *params]
    got = torch.autograd.grad(loss(out, h, c), inputs, allow_unused=True)
    want = torch.autograd.grad(loss(ref_out, ref_h, ref_c), inputs, allow_unused=True)
    _close(
        [g if g is not None else torch.zeros_like(t) for g, t in zip(got, inputs)],
        [g if g is not None else torch.zeros_like(t) for g, t in zip(want, inputs)],
        dtype,
    )


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize(
    "batch, units, threads", [(37, 50, 2), (64, 128, 2), (13, 33, 3), (9, 64, 1), (5, 40, 4)]
)
@pytest.mark.parametrize("x_grad", [True, False])
def test_every_split_of_the_units_over_threads_matches_torch_lstm(
    dtype, batch, units, threads, x_grad
):
    """Slices whose panels need padding, uneven slices, more threads than cores, rows left
    over after the register blocks, an odd number of steps."""
    torch.manual_seed(2)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        x = torch.randn(batch, 5, 3, dtype=dtype, requires_grad=x_grad)  # no dx: a ring of steps
        states = _states(batch, units, dtype)
        params = _weights(3, units, dtype, True)
        out, (h, c) = native_lstm.run(x, states, params, True)
        ref_out, (ref_h, ref_c) = native_lstm.reference(x, states, params)
        _close([out, h, c], [ref_out, ref_h, ref_c], dtype)
        with torch.no_grad():
            inference, finals = native_lstm.run(x, states, params, False)
        _close([inference, *finals], [ref_out, ref_h, ref_c], dtype)
        d = [torch.randn_like(t) for t in (out, h, c)]
        inputs = [x, *states, *params][0 if x_grad else 1 :]
        got = torch.autograd.grad(sum((a * b).sum() for a, b in zip((out, h, c), d)), inputs)
        want = torch.autograd.grad(
            sum((a * b).sum() for a, b in zip((ref_out, ref_h, ref_c), d)), inputs
        )
        _close(got, want, dtype)
    finally:
        torch.set_num_threads(before)


def test_finite_differences_float64():
    torch.manual_seed(1)
    x = torch.randn(3, 4, 2, dtype=torch.float64, requires_grad=True)
    states = _states(3, 5, torch.float64)
    params = _weights(2, 5, torch.float64, True)

    def f(x, h0, c0, *params):
        out, (h, c) = native_lstm.run(x, [h0, c0], list(params), True)
        return out, h, c

    assert torch.autograd.gradcheck(f, (x, *states, *params))


def test_the_operator_names_wrong_weight_shapes():
    x, h0 = torch.randn(2, 3, 4), torch.randn(2, 5)
    native_lstm.KERNEL.operators()
    with pytest.raises(RuntimeError, match=r"Expected w_ih \(4H, features\).*w_hh.shape=\[20, 6\]"):
        torch.ops.lamina_native_lstm.forward(
            x, h0, h0, torch.randn(20, 4), torch.randn(20, 6), None, None, False
        )


def test_nan_and_saturation_like_torch_lstm():
    """A NaN stays NaN (TerminateOnNaN relies on it); gates far past exp's range saturate."""
    x = torch.randn(3, 5, 4)
    x[1, 2, 0] = float("nan")
    states = [torch.zeros(3, 6)] * 2
    params = [p.detach() for p in _weights(4, 6, torch.float32, True)]
    with torch.no_grad():
        out, _ = native_lstm.run(x, states, params, False)
        ref, _ = native_lstm.reference(x, states, params)
        assert torch.equal(out.isnan(), ref.isnan()) and bool(out[1, 2:].isnan().all())
        big, _ = native_lstm.run(x.nan_to_num() * 1e4, states, params, False)
        ref_big, _ = native_lstm.reference(x.nan_to_num() * 1e4, states, params)
    assert bool(big.isfinite().all())
    torch.testing.assert_close(big, ref_big, rtol=1e-5, atol=2e-6)


def test_second_derivatives_match_torch_lstm():
    """A gradient penalty (create_graph=True) differentiates the backward through torch.lstm."""
    torch.manual_seed(3)
    x = torch.randn(4, 5, 3, dtype=torch.float64, requires_grad=True)
    states = [s.detach() for s in _states(4, 6, torch.float64)]
    params = _weights(3, 6, torch.float64, True)

    def penalty(run):
        out, (h, c) = run(x, states, params)
        total = out.tanh().sum() + h.square().sum() + c.sum()
        grads = torch.autograd.grad(total, [x, *params], create_graph=True)
        return sum(g.square().sum() for g in grads)

    got = torch.autograd.grad(penalty(lambda *a: native_lstm.run(*a, True)), [x, *params])
    want = torch.autograd.grad(penalty(native_lstm.reference), [x, *params])
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b)


def _model(seed: int) -> lamina.Model:
    lamina.utils.set_random_seed(seed)
    inputs = Input((12, 3))
    hidden = LSTM(8, return_sequences=True)(inputs)
    outputs = Dense(1)(Bidirectional(LSTM(6))(hidden))
    model = lamina.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse")
    return model


def test_fit_on_the_kernel_equals_fit_on_torch_lstm(monkeypatch):
    """Lightning-style parity: the same model (an LSTM and a Bidirectional LSTM) trained
    on each kernel ends the same."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 12, 3)).astype("float32")
    y = rng.normal(size=(48, 1)).astype("float32")
    calls = []
    run = native_lstm.run
    monkeypatch.setattr(native_lstm, "run", lambda *a: calls.append(1) or run(*a))
    fast = _model(3)
    fast_history = fast.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    assert len(calls) >= 3 * 3 * 3, "each LSTM direction on the kernel at every step"
    config.set_native_kernels(False)
    try:
        calls.clear()
        slow = _model(3)
        slow_history = slow.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
        assert not calls
    finally:
        config.set_native_kernels(True)
    np.testing.assert_allclose(fast_history.history["loss"], slow_history.history["loss"], 1e-5)
    for a, b in zip(fast.get_weights(), slow.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(fast.predict(x, verbose=0), slow.predict(x, verbose=0), 1e-4, 1e-6)
