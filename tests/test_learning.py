"""The courses' small learning problems: XOR and a sine curve, for every seed in range(5)."""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina import layers

SEEDS = range(5)


@pytest.mark.parametrize("seed", SEEDS)
def test_xor_learns_with_a_sigmoid_mlp(seed):
    # The courses' point: XOR is not linearly separable, so it needs a hidden layer. Two
    # sigmoid units can represent it, but from some starting weights gradient descent on a
    # 2-2-1 net stalls in a local minimum with one point wrong, so a 2-2-1 test passes only
    # for hand-picked seeds. A few more hidden units than the minimum make such minima rare.
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype="float32")
    y = np.array([[0], [1], [1], [0]], dtype="float32")
    lamina.utils.set_random_seed(seed)
    model = lamina.Sequential(
        [
            layers.Dense(8, activation="sigmoid", input_shape=(2,)),
            layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        optimizer=lamina.optimizers.Adam(learning_rate=0.1),
        loss="binary_crossentropy",
        metrics=["accuracy"],
        device="cpu",
    )
    model.fit(x, y, batch_size=4, epochs=300, verbose=0)
    pred = model.predict(x, verbose=0)
    np.testing.assert_array_equal((pred > 0.5).astype("float32"), y)
    assert model.evaluate(x, y, verbose=0)[1] == 1.0


@pytest.mark.parametrize("seed", SEEDS)
def test_one_hidden_layer_mlp_approximates_sine(seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-np.pi, np.pi, size=(2000, 1)).astype("float32")
    y = np.sin(x)
    lamina.utils.set_random_seed(seed)
    model = lamina.Sequential(
        [layers.Dense(32, activation="tanh", input_shape=(1,)), layers.Dense(1)]
    )
    model.compile(
        optimizer=lamina.optimizers.Adam(learning_rate=0.01),
        loss="mse",
        metrics=["root_mean_squared_error"],
        device="cpu",
    )
    # 80 epochs: at 60, Adam's last steps still jitter around the bound for some seeds.
    model.fit(x, y, batch_size=64, epochs=80, verbose=0)
    grid = np.linspace(-np.pi, np.pi, 400, dtype="float32").reshape(-1, 1)
    rmse = float(np.sqrt(np.mean((model.predict(grid, verbose=0) - np.sin(grid)) ** 2)))
    assert rmse < 0.05, rmse
