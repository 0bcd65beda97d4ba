"""compile() again replaces the loss and metrics; Keras 3.15 keeps the previous ones
(docs/keras_differences.md). Both behaviours are pinned here."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

import lamina  # noqa: E402


def _keys(lib, recompile: dict) -> list[str]:
    x, y = np.ones((8, 3), "float32"), np.ones((8, 1), "float32")
    model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    model.fit(x, y, verbose=0)
    model.compile(optimizer="sgd", **recompile)
    return sorted(model.fit(x, y, verbose=0).history)


def test_recompiling_without_metrics_drops_them_unlike_keras() -> None:
    assert _keys(lamina, {"loss": "mse"}) == ["loss"]
    assert _keys(keras, {"loss": "mse"}) == ["loss", "mae"]


def test_recompiling_without_a_loss_asks_for_one_unlike_keras() -> None:
    with pytest.raises(ValueError, match="expected a loss"):
        _keys(lamina, {})
    assert _keys(keras, {}) == ["loss", "mae"]
