"""A perceptron with the step activation, trained by the perceptron rule on separable 2-D points.

The model is one neuron, `Dense(1, activation="step")`: the course's threshold unit
(1 where w.x + b >= 0, else 0). The step has zero gradient everywhere, so backpropagation
cannot train it; the classic perceptron learning rule does, one point at a time:

    w <- w + lr * (y - step(w.x + b)) * x,    b <- b + lr * (y - step(w.x + b))

On linearly separable data the rule stops making mistakes after finitely many updates
(the perceptron convergence theorem). Prints the accuracy (100% on separable data), the
epochs and updates it took, and the learned weights.

    python examples/perceptron.py          # 400 points
    python examples/perceptron.py --quick  # 100 points
"""

from __future__ import annotations

import argparse

import numpy as np

import lamina as keras
from lamina import layers


def load_data(quick: bool = False, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points in [-1, 1]^2 labelled by the line x1 + 2 x2 = 0.2, with a margin of 0.1 kept empty."""
    rng = np.random.default_rng(seed)
    n = 100 if quick else 400
    x = rng.uniform(-1, 1, size=(4 * n, 2)).astype("float32")
    distance = (x[:, 0] + 2 * x[:, 1] - 0.2) / np.sqrt(5)
    keep = np.abs(distance) > 0.1
    x, distance = x[keep][:n], distance[keep][:n]
    return x, (distance > 0).astype("float32")


def build_model() -> keras.Sequential:
    """One neuron with the step activation, weights starting at zero."""
    return keras.Sequential(
        [layers.Dense(1, activation="step", kernel_initializer="zeros", input_shape=(2,))]
    )


def train_perceptron(
    model: keras.Sequential, x: np.ndarray, y: np.ndarray, learning_rate: float, max_epochs: int
) -> tuple[int, int, bool]:
    """The perceptron rule on the model's neuron, until an epoch without mistakes.

    Returns (epochs, updates, converged). The neuron's output is computed as the model computes it:
    step(w.x + b).
    """
    kernel, bias = model.layers[0].get_weights()
    w, b = kernel[:, 0].astype("float64"), float(bias[0])
    updates, mistakes, epochs_run = 0, -1, 0
    for epoch in range(1, max_epochs + 1):
        mistakes, epochs_run = 0, epoch
        for xi, yi in zip(x, y):
            error = yi - (1.0 if xi @ w + b >= 0 else 0.0)
            if error != 0:
                w += learning_rate * error * xi
                b += learning_rate * error
                mistakes += 1
        updates += mistakes
        if mistakes == 0:
            break
    model.layers[0].set_weights([w[:, None].astype("float32"), np.array([b], "float32")])
    return epochs_run, updates, mistakes == 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 points instead of 400")
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument("--max-epochs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    x, y = load_data(args.quick, args.seed)
    model = build_model()
    epochs, updates, converged = train_perceptron(model, x, y, args.learning_rate, args.max_epochs)
    predicted = model.predict(x, verbose=0)[:, 0]  # the step activation: 0.0 or 1.0
    accuracy = float((predicted == y).mean())
    (w1, w2), b = model.layers[0].get_weights()[0][:, 0], model.layers[0].get_weights()[1][0]
    print(f"{len(x)} points, {int(y.sum())} in class 1; true boundary x1 + 2 x2 = 0.2")
    print(f"Converged: {'yes' if converged else 'no'} after {epochs} epochs, {updates} updates")
    print(f"Learned weights: w = [{w1:.4f}, {w2:.4f}], b = {b:.4f}")
    if w1 != 0:
        print(f"Learned boundary: x1 + {w2 / w1:.3f} x2 = {-b / w1:.3f}")
    print(f"Accuracy: {accuracy * 100:.2f}%")


if __name__ == "__main__":
    main()
