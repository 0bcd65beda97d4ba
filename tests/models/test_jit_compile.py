"""`compile(jit_compile=True)`: the torch.compile'd train step gives the eager losses,
and a compile failure falls back to eager with one warning."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def _train(jit: bool, **compile_kw):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6)).astype("float32")
    y = rng.integers(0, 3, size=64)
    lamina.utils.set_random_seed(0)
    model = lamina.Sequential(
        [
            layers.Dense(8, activation="relu", input_shape=(6,)),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=jit,
        device="cpu",
        **compile_kw,
    )
    hist = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    return hist.history, model.get_weights()


def test_compiled_step_matches_eager():
    eager_hist, eager_w = _train(False)
    jit_hist, jit_w = _train(True)
    for key in eager_hist:
        np.testing.assert_allclose(jit_hist[key], eager_hist[key], rtol=1e-5, atol=1e-6)
    for a, b in zip(jit_w, eager_w):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_compile_failure_falls_back_with_one_warning(monkeypatch):
    def broken_compile(fn, *args, **kwargs):
        def run(*a, **k):
            raise RuntimeError("no C++ compiler")

        return run

    monkeypatch.setattr(torch, "compile", broken_compile)
    eager_hist, _ = _train(False)
    with pytest.warns(UserWarning, match="training eagerly") as record:
        jit_hist, _ = _train(True)
    assert sum("training eagerly" in str(w.message) for w in record) == 1
    np.testing.assert_allclose(jit_hist["loss"], eager_hist["loss"], rtol=1e-6)
