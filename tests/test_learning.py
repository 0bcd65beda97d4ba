"""The courses' small learning problems: XOR and a sine curve."""

from __future__ import annotations

import numpy as np

import lamina
from lamina import layers


def test_xor_learns_with_2_2_1_sigmoid_mlp():
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype="float32")
    y = np.array([[0], [1], [1], [0]], dtype="float32")
    lamina.utils.set_random_seed(1)  # 2-2-1 nets can stall in a local minimum; seed 1 does not
    model = lamina.Sequential(
        [
            layers.Dense(2, activation="sigmoid", input_shape=(2,)),
            layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        optimizer=lamina.optimizers.Adam(learning_rate=0.1),
        loss="binary_crossentropy",
        metrics=["accuracy"],
        device="cpu",
    )
    model.fit(x, y, batch_size=4, epochs=600, verbose=0)
    pred = model.predict(x, verbose=0)
    np.testing.assert_array_equal((pred > 0.5).astype("float32"), y)
    assert model.evaluate(x, y, verbose=0)[1] == 1.0


def test_one_hidden_layer_mlp_approximates_sine():
    rng = np.random.default_rng(0)
    x = rng.uniform(-np.pi, np.pi, size=(2000, 1)).astype("float32")
    y = np.sin(x)
    lamina.utils.set_random_seed(0)
    model = lamina.Sequential(
        [layers.Dense(32, activation="tanh", input_shape=(1,)), layers.Dense(1)]
    )
    model.compile(
        optimizer=lamina.optimizers.Adam(learning_rate=0.01),
        loss="mse",
        metrics=["root_mean_squared_error"],
        device="cpu",
    )
    model.fit(x, y, batch_size=64, epochs=60, verbose=0)
    grid = np.linspace(-np.pi, np.pi, 400, dtype="float32").reshape(-1, 1)
    rmse = float(np.sqrt(np.mean((model.predict(grid, verbose=0) - np.sin(grid)) ** 2)))
    assert rmse < 0.05, rmse
