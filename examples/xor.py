"""XOR with a 2-2-1 network: the smallest problem a single neuron cannot solve.

Two tanh hidden units and a sigmoid output, trained on the four points with Adam and
binary cross-entropy. A 2-2-1 network can stall (both hidden units learn the same line, or
one saturates) from many initializations, whatever the learning rate: such a start is
stuck, not slow. Training therefore restarts from a fresh initialization, at most
`--restarts` times, until all four points are right. Prints the four predictions and the accuracy.

    python examples/xor.py            # full: 1000 full-batch steps per attempt
    python examples/xor.py --quick    # 500 steps per attempt
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import lamina as keras
from lamina import layers
from lamina.utils import set_random_seed

# the truth table: inputs and targets
X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype="float32")
Y = np.array([[0], [1], [1], [0]], dtype="float32")
STEPS_PER_EPOCH = 50


def load_data(quick: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The XOR truth table (the same whatever `quick`)."""
    return X.copy(), Y.copy()


def build_model(learning_rate: float = 0.1) -> keras.Sequential:
    """2 inputs -> 2 tanh units -> 1 sigmoid unit, compiled with Adam."""
    model = keras.Sequential(
        [
            layers.Dense(2, activation="tanh", input_shape=(2,)),
            layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model


def train(
    seed: int, epochs: int, learning_rate: float, restarts: int
) -> tuple[keras.Sequential, int]:
    """Train from seed, seed+1000, ... until 4/4 or out of restarts; returns (model, attempts)."""
    x, y = load_data()
    for attempt in range(1, restarts + 2):
        set_random_seed(seed + 1000 * (attempt - 1))
        model = build_model(learning_rate)
        # each epoch is `STEPS_PER_EPOCH` full-batch steps: the table tiled, not shuffled
        tiled_x, tiled_y = np.tile(x, (STEPS_PER_EPOCH, 1)), np.tile(y, (STEPS_PER_EPOCH, 1))
        model.fit(tiled_x, tiled_y, batch_size=4, epochs=epochs, shuffle=False, verbose=0)
        correct = int(((model.predict(x, verbose=0) > 0.5) == (y > 0.5)).sum())
        if correct == 4:
            break
    return model, attempt


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 steps per attempt")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument("--restarts", type=int, default=9)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    epochs = args.epochs or (10 if args.quick else 20)

    start = time.perf_counter()
    model, attempts = train(args.seed, epochs, args.learning_rate, args.restarts)
    elapsed = time.perf_counter() - start
    x, y = load_data()
    p = model.predict(x, verbose=0)[:, 0]
    for (a, b), target, prob in zip(x.astype(int), y[:, 0].astype(int), p):
        print(f"{a} XOR {b} = {target}: predicted {prob:.3f} -> {int(prob > 0.5)}")
    correct = int(((p > 0.5) == (y[:, 0] > 0.5)).sum())
    print(f"Accuracy: {correct}/4 ({correct * 25}%)")
    print(f"Attempts: {attempts} ({epochs * STEPS_PER_EPOCH} steps each), {elapsed:.1f}s")


if __name__ == "__main__":
    main()
