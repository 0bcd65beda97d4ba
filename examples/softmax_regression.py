"""Softmax regression on MNIST: one Dense(10, softmax) layer on the 784 pixels (course: 91.7%).

The courses' first MNIST model: flatten each image to 784 values in [0, 1], one dense
layer of 10 units with softmax, categorical cross-entropy, 'rmsprop' as the course compiles
it, batch 128 for 20 epochs (the batch size and epochs of the Keras examples of the time).
Prints the test accuracy on the real MNIST test set.

    python examples/softmax_regression.py          # 60,000 images, 20 epochs
    python examples/softmax_regression.py --quick  # 10,000 images, 3 epochs
"""

from __future__ import annotations

import argparse
import time

from _mnist import load_mnist

import lamina as keras
from lamina import layers
from lamina.utils import set_random_seed


def build_model(learning_rate: float | None = None) -> keras.Sequential:
    """Dense(10, softmax) on 784 inputs, compiled with 'rmsprop' (or RMSprop at a given rate)."""
    model = keras.Sequential([layers.Dense(10, activation="softmax", input_shape=(784,))])
    optimizer = "rmsprop" if learning_rate is None else keras.optimizers.RMSprop(learning_rate)
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 images, 3 epochs")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=None, help="default: rmsprop's")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    epochs = args.epochs or (3 if args.quick else 20)

    set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = load_mnist((784,), train=10_000 if args.quick else None)
    model = build_model(args.learning_rate)
    start = time.perf_counter()
    model.fit(x_train, y_train, batch_size=args.batch_size, epochs=epochs, verbose=0)
    elapsed = time.perf_counter() - start
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=1000, verbose=0)
    print(f"Trained on {len(x_train)} images for {epochs} epochs in {elapsed:.1f}s")
    print(f"Test accuracy: {accuracy * 100:.2f}%  (test loss {loss:.4f}; course 91.7%)")


if __name__ == "__main__":
    main()
