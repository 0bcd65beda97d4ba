"""An MLP as a universal approximator: fitting sin(x) and a step function on [-pi, pi].

One input, two tanh hidden layers of 32, one linear output, trained with Adam on mean
squared error. Each fit is scored on fresh test points against two baselines that any fit
must beat: the mean of the training targets and the least-squares line. Plots each fit
against its target to artifacts/function_approximation.png.

    python examples/function_approximation.py          # 2000 points, 300 epochs
    python examples/function_approximation.py --quick  # 512 points, 60 epochs
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

import lamina as keras
from lamina import layers
from lamina.plot.figure import finish, pyplot
from lamina.utils import set_random_seed

TARGETS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sin": np.sin,
    "step": lambda x: (x >= 0).astype("float32"),
}


def load_data(
    name: str, quick: bool = False, seed: int = 0
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Uniform training points and an even test grid on [-pi, pi], as column vectors."""
    rng = np.random.default_rng(seed)
    x_train = rng.uniform(-np.pi, np.pi, size=(512 if quick else 2000, 1)).astype("float32")
    x_test = np.linspace(-np.pi, np.pi, 1001, dtype="float32")[:, None]
    f = TARGETS[name]
    return (x_train, f(x_train).astype("float32")), (x_test, f(x_test).astype("float32"))


def build_model(learning_rate: float = 0.01) -> keras.Sequential:
    """1 -> 32 tanh -> 32 tanh -> 1 linear, Adam on MSE."""
    model = keras.Sequential(
        [
            layers.Dense(32, activation="tanh", input_shape=(1,)),
            layers.Dense(32, activation="tanh"),
            layers.Dense(1),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="mse")
    return model


def baselines(
    x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray
) -> dict[str, float]:
    """Test MSE of the training mean and of the least-squares line."""
    slope, intercept = np.polyfit(x_train[:, 0], y_train[:, 0], 1)
    line = slope * x_test[:, 0] + intercept
    return {
        "mean": float(np.mean((y_test[:, 0] - y_train.mean()) ** 2)),
        "linear": float(np.mean((y_test[:, 0] - line) ** 2)),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="512 points, 60 epochs")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None, help="64; 128 with --quick")
    parser.add_argument("--learning-rate", type=float, default=0.01)
    parser.add_argument("--plot", default="artifacts/function_approximation.png")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    epochs = args.epochs or (60 if args.quick else 300)
    batch_size = args.batch_size or (128 if args.quick else 64)

    plt = pyplot()
    fig, axes = plt.subplots(1, len(TARGETS), figsize=(10, 3.8))
    for ax, name in zip(axes, TARGETS):
        set_random_seed(args.seed)
        (x_train, y_train), (x_test, y_test) = load_data(name, args.quick, args.seed)
        model = build_model(args.learning_rate)
        start = time.perf_counter()
        model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=0)
        elapsed = time.perf_counter() - start
        fit = model.predict(x_test, verbose=0)
        mse = float(np.mean((fit - y_test) ** 2))
        base = baselines(x_train, y_train, x_test, y_test)
        print(
            f"{name}: test MSE {mse:.5f} (mean baseline {base['mean']:.5f}, "
            f"linear baseline {base['linear']:.5f}) in {elapsed:.1f}s"
        )
        ax.plot(x_test[:, 0], y_test[:, 0], "k-", lw=2, label="target")
        ax.plot(x_test[:, 0], fit[:, 0], "r--", lw=2, label=f"MLP (MSE {mse:.4f})")
        ax.set_title(name)
        ax.set_xlabel("x")
        ax.legend(loc="upper left")
    fig.tight_layout()
    finish(fig, args.plot)
    print(f"Plot: {args.plot}")


if __name__ == "__main__":
    main()
