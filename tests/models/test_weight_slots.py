"""WeightSlots swaps tensors into every slot of a weight (tied weights too) and restores them,
and the compiled step built on it trains a model with a tied weight exactly like the eager step."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.models.weight_slots import WeightSlots


class TiedPair(layers.Layer):
    """Two dense maps that share one kernel: y = relu(x W) W^T (an autoencoder's tie)."""

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], 4), name="kernel")
        self.mirror = torch.nn.Linear(4, input_shape[-1], bias=False)
        self.mirror.weight = self.kernel  # the same Parameter in a second module

    def call(self, x):
        return self.mirror(torch.relu(x @ self.kernel))


def _tied_model() -> lamina.Sequential:
    lamina.utils.set_random_seed(0)
    model = lamina.Sequential([layers.Input((6,)), TiedPair(), layers.Dense(2)])
    return model


def test_holding_swaps_every_slot_and_restores():
    model = _tied_model()
    pair = model.layers[0]
    params = [p for p in model.parameters()]
    assert any(p is pair.kernel for p in params)
    slots = WeightSlots(model, params)
    stand_ins = [torch.zeros_like(p) for p in params]
    k = next(i for i, p in enumerate(params) if p is pair.kernel)
    with slots.holding(stand_ins):
        assert pair._parameters["kernel"] is stand_ins[k]
        assert pair.mirror._parameters["weight"] is stand_ins[k]
    assert pair._parameters["kernel"] is params[k]
    assert pair.mirror._parameters["weight"] is params[k]


def test_holding_restores_after_an_error():
    model = _tied_model()
    params = list(model.parameters())
    slots = WeightSlots(model, params)
    with pytest.raises(RuntimeError, match="boom"), slots.holding([p * 0 for p in params]):
        raise RuntimeError("boom")
    assert all(a is b for a, b in zip(model.parameters(), params))


def test_a_tensor_outside_the_model_is_refused():
    model = _tied_model()
    stray = torch.nn.Parameter(torch.zeros(3))
    with pytest.raises(ValueError, match="Expected every weight and buffer to belong"):
        WeightSlots(model, [*model.parameters(), stray])


def test_compiled_step_trains_a_tied_weight_like_eager():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6)).astype("float32")
    y = rng.normal(size=(64, 2)).astype("float32")

    def run(jit):
        model = _tied_model()
        model.compile(optimizer=lamina.optimizers.Adam(0.01), loss="mse", jit_compile=jit)
        hist = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
        if jit:
            assert model._step_fn.compiled is not None and not model._step_fn.failed
        return hist.history["loss"], model.get_weights()

    (loss_e, w_e), (loss_j, w_j) = run(False), run(True)
    np.testing.assert_allclose(loss_j, loss_e, rtol=2e-5, atol=2e-6)
    for a, b in zip(w_e, w_j):
        np.testing.assert_allclose(b, a, rtol=2e-4, atol=2e-5)
