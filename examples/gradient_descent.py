"""Batch, stochastic and mini-batch gradient descent on one linear regression, loss against time.

The same model (Dense(1) on 5 features), loss (MSE), optimizer (plain SGD, learning rate
0.05) and initial weights, trained three ways: batch gradient descent (one step per epoch on
all n points, batch_size = n), stochastic gradient descent (one step per point,
batch_size = 1) and mini-batch gradient descent (batch_size = 32). The loss on the whole
training set is recorded against wall time (evaluation time excluded) and plotted to
artifacts/gradient_descent.png; each final loss and time are printed, beside the least-squares
optimum.

    python examples/gradient_descent.py          # 2000 points
    python examples/gradient_descent.py --quick  # 200 points
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

import lamina as keras
from lamina import layers
from lamina.plot.figure import finish, pyplot
from lamina.utils import set_random_seed

# name -> (batch size, or None for all n points; epochs in a full run; epochs with --quick)
METHODS: dict[str, tuple[int | None, int, int]] = {
    "batch": (None, 300, 100),
    "stochastic": (1, 3, 2),
    "mini-batch": (32, 30, 10),
}


def load_data(quick: bool = False, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """y = x.w + 1 + noise (standard deviation 0.5) on 5 standard-normal features."""
    rng = np.random.default_rng(seed)
    n = 200 if quick else 2000
    x = rng.standard_normal((n, 5)).astype("float32")
    w = np.array([1.5, -2.0, 0.5, 3.0, -1.0], dtype="float32")
    y = x @ w + 1.0 + 0.5 * rng.standard_normal(n).astype("float32")
    return x, y[:, None].astype("float32")


def build_model(learning_rate: float = 0.05) -> keras.Sequential:
    """Linear regression: one Dense unit, plain SGD on MSE."""
    model = keras.Sequential([layers.Dense(1, input_shape=(5,))])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate), loss="mse")
    return model


class LossClock(keras.callbacks.Callback):
    """Full-training-set MSE against training time, every `every` steps (its own time excluded)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, every: int) -> None:
        super().__init__()
        self.x, self.y, self.every = x, y, every
        self.times: list[float] = []
        self.losses: list[float] = []

    def _record(self) -> None:
        paused = time.perf_counter()
        kernel, bias = self.model.layers[0].get_weights()
        self.times.append(paused - self.start)
        self.losses.append(float(np.mean((self.x @ kernel + bias - self.y) ** 2)))
        self.start += time.perf_counter() - paused  # leave the evaluation out of the clock

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.start, self.steps = time.perf_counter(), 0
        self._record()

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.steps += 1
        if self.steps % self.every == 0:
            self._record()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.steps % self.every:
            self._record()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 points, fewer epochs")
    parser.add_argument("--learning-rate", type=float, default=0.05)
    parser.add_argument("--plot", default="artifacts/gradient_descent.png")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    x, y = load_data(args.quick, args.seed)
    design = np.hstack([x, np.ones((len(x), 1), "float32")])
    optimum = np.linalg.lstsq(design, y, rcond=None)[0]
    best = float(np.mean((design @ optimum - y) ** 2))
    print(f"{len(x)} points; least-squares optimum MSE {best:.4f}")
    set_random_seed(args.seed)
    initial = build_model(args.learning_rate).get_weights()  # the same start for all three

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, (batch_size, full_epochs, quick_epochs) in METHODS.items():
        batch_size = batch_size or len(x)
        epochs = quick_epochs if args.quick else full_epochs
        steps = epochs * -(-len(x) // batch_size)
        model = build_model(args.learning_rate)
        model.set_weights(initial)
        clock = LossClock(x, y, every=max(1, steps // 100))
        model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0, callbacks=[clock])
        print(
            f"{name} (batch_size={batch_size}): final loss {clock.losses[-1]:.4f} "
            f"after {steps} steps in {clock.times[-1]:.2f}s"
        )
        ax.plot(clock.times, clock.losses, marker=".", label=f"{name} (batch_size={batch_size})")
    ax.axhline(best, color="k", ls=":", label="least-squares optimum")
    ax.set_yscale("log")
    ax.set_xlabel("training time (s)")
    ax.set_ylabel("MSE on the training set")
    ax.set_title("Gradient descent: batch, stochastic, mini-batch")
    ax.legend()
    finish(fig, args.plot)
    print(f"Plot: {args.plot}")


if __name__ == "__main__":
    main()
