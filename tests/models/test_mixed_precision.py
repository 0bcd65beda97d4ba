"""`compile(mixed_precision=...)`: bf16/fp16 autocast, fp16 loss scaling, compiled bf16."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lamina
from lamina import layers, optimizers


def _data(n=64):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 8)).astype("float32"), rng.integers(0, 3, size=n)


def _model():
    lamina.utils.set_random_seed(0)
    return lamina.Sequential(
        [layers.Dense(16, activation="relu", input_shape=(8,)), layers.Dense(3)]
    )


def test_bf16_loss_matches_torch_autocast_with_copied_weights():
    x, y = _data()
    model = _model()
    model.compile(
        optimizers.SGD(0.1),
        lamina.losses.SparseCategoricalCrossentropy(from_logits=True),
        mixed_precision="bf16",
        jit_compile=False,
    )
    loss = model.test_on_batch(x, y)
    w1, b1, w2, b2 = (torch.tensor(w) for w in model.get_weights())
    with torch.autocast("cpu", dtype=torch.bfloat16):
        h = torch.relu(F.linear(torch.tensor(x), w1.T, b1))
        logits = F.linear(h, w2.T, b2)
    assert logits.dtype == torch.bfloat16
    expected = F.cross_entropy(logits.float(), torch.tensor(y)).item()
    full = F.cross_entropy(torch.relu(torch.tensor(x) @ w1 + b1) @ w2 + b2, torch.tensor(y)).item()
    assert loss == pytest.approx(expected, rel=1e-3)
    assert abs(loss - full) > 1e-5  # really computed in bfloat16
    # predict returns float32 arrays
    assert model.predict(x, verbose=0).dtype == np.float32


def test_fp16_trains_with_loss_scaling():
    x, y = _data(256)
    model = _model()
    model.compile(
        optimizers.Adam(0.01),
        lamina.losses.SparseCategoricalCrossentropy(from_logits=True),
        mixed_precision="mixed_float16",
    )
    hist = model.fit(x, y, batch_size=32, epochs=3, verbose=0).history
    assert hist["loss"][-1] < hist["loss"][0]
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert model._precision.scaler is not None and model._step_fn.decision == "eager"


def test_fp16_overflow_skips_the_step_and_shrinks_the_scale():
    x, y = _data()
    model = _model()
    model.compile(
        optimizers.SGD(0.1),
        lamina.losses.SparseCategoricalCrossentropy(from_logits=True),
        mixed_precision="fp16",
    )
    model.test_on_batch(x, y)  # builds the model
    before = model.get_weights()
    scaler = torch.amp.GradScaler("cpu", init_scale=1e38)  # gradients overflow float16
    model._precision.scaler = scaler
    model.train_on_batch(x, y)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert scaler.get_scale() == pytest.approx(0.5e38)
    model._precision.scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    model.train_on_batch(x, y)
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_fp16_loss_scaler_and_loss_scale_factor_compose():
    """The loss is scaled by loss_scale_factor and by the float16 loss scaler; the scaler
    unscales before the update and the update divides by the factor: the same step."""
    x, y = _data()

    def step(**kwargs):
        model = _model()
        model.compile(
            optimizers.SGD(0.1, **kwargs),
            lamina.losses.SparseCategoricalCrossentropy(from_logits=True),
            mixed_precision="fp16",
        )
        # a scale that leaves room for the factor (the default 2**16 overflows with it)
        model._precision.scaler = torch.amp.GradScaler("cpu", init_scale=64.0)
        model.train_on_batch(x, y)
        assert model._precision.scaler.get_scale() == 64.0  # the step was not skipped
        return model.get_weights()

    start = _model().get_weights()
    plain, scaled = step(), step(loss_scale_factor=8.0)
    assert any(np.abs(a - b).max() > 1e-3 for a, b in zip(plain, start))
    for a, b in zip(scaled, plain):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)


def test_compiled_bf16_matches_eager_bf16():
    x, y = _data(96)

    def run(jit):
        model = _model()
        model.compile(
            optimizers.RMSprop(0.01),
            lamina.losses.SparseCategoricalCrossentropy(from_logits=True),
            mixed_precision="bf16",
            jit_compile=jit,
        )
        hist = model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0).history
        assert jit is False or not model._step_fn.failed
        return hist["loss"]

    np.testing.assert_allclose(run(True), run(False), rtol=2e-2)


def test_unknown_policy_is_rejected():
    with pytest.raises(ValueError, match="mixed_precision"):
        _model().compile("sgd", "mse", mixed_precision="fp8")
