"""SwapEMAWeights where Lamina deliberately differs from Keras 3: after predict the trained
weights come back (Keras's on_predict_end tests the flag the wrong way round and leaves the
averages in the model); and its errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import callbacks


def fitted_model():
    lamina.utils.set_random_seed(1)
    model = lamina.Sequential([lamina.layers.Input((3,)), lamina.layers.Dense(2)])
    model.compile(optimizer=lamina.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.5), loss="mse")
    x = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
    model.fit(x, x[:, :2], epochs=2, batch_size=8, verbose=0)
    return model, x


def test_predict_swaps_back():
    model, x = fitted_model()
    # make the weights and the averages differ after fit's finalize (which makes them equal)
    with torch.no_grad():
        for p in model.optimizer._params:
            p.add_(1.0)
    trained = [w.copy() for w in model.get_weights()]
    averages = [a.clone() for a in model.optimizer.ema.averages]
    swap = callbacks.SwapEMAWeights()
    with_ema = model.predict(x, verbose=0, callbacks=[swap])
    for w, t in zip(model.get_weights(), trained):
        np.testing.assert_array_equal(w, t)  # the trained weights are back
    for a, b in zip(model.optimizer.ema.averages, averages):
        torch.testing.assert_close(a, b)
    plain = model.predict(x, verbose=0)
    assert not np.allclose(with_ema, plain)  # the averages did predict


def test_requires_use_ema():
    model = lamina.Sequential([lamina.layers.Input((3,)), lamina.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.zeros((4, 3), "float32")
    with pytest.raises(ValueError, match="use_ema=True"):
        model.fit(
            x,
            x[:, :2],
            epochs=1,
            verbose=0,
            validation_data=(x, x[:, :2]),
            callbacks=[callbacks.SwapEMAWeights()],
        )
    multi = lamina.optimizers.MultiOptimizer(
        lamina.optimizers.OptimizerMap(lamina.optimizers.SGD())
    )
    model.compile(optimizer=multi, loss="mse")
    with pytest.raises(ValueError, match="inner optimizer"):
        model.fit(
            x,
            x[:, :2],
            epochs=1,
            verbose=0,
            validation_data=(x, x[:, :2]),
            callbacks=[callbacks.SwapEMAWeights()],
        )
