"""MNIST to 99% test accuracy in a minute on a 2-core CPU: `make demo`.

A small CNN trained in two epochs: three 3x3 convolutions (16, 32, 64 channels,
ReLU) each followed by 2x2 max pooling and BatchNormalization, then Dense 128
(ReLU) and softmax; Adam whose rate warms up for the first fifth of the steps and
then follows a cosine to zero (one-cycle); batch 64. The test set is only evaluated at each
epoch's end, to tell when 99% was first reached. Prints the test accuracy, the
time, the learning curves' file and the HTML training report's.

    python examples/mnist_99.py [--seed 0] [--epochs 2]
"""

from __future__ import annotations

import argparse
import time

START = time.perf_counter()  # the wall clock of the whole run, imports included

import lamina as keras  # noqa: E402
from lamina import layers  # noqa: E402
from lamina.datasets import mnist  # noqa: E402
from lamina.plot import plot_history  # noqa: E402
from lamina.utils import set_random_seed  # noqa: E402

FILTERS = (16, 32, 64)
HIDDEN = 128
BATCH_SIZE = 64
PEAK_RATE = 3e-3
WARMUP = 0.2  # share of the steps spent warming up


def build_model() -> keras.Sequential:
    """Convolution + pooling first (the 28x28 map is the costly one), normalised after pooling."""
    stack: list = [layers.Input((28, 28, 1))]
    for filters in FILTERS:
        stack += [
            layers.Conv2D(filters, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.BatchNormalization(),
        ]
    stack += [
        layers.Flatten(),
        layers.Dense(HIDDEN, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ]
    return keras.Sequential(stack)


def make_optimizer(total_steps: int) -> keras.optimizers.Adam:
    """Adam with a linear warmup to PEAK_RATE, then a cosine down to zero."""
    warmup = int(WARMUP * total_steps)
    rate = keras.optimizers.schedules.CosineDecay(
        PEAK_RATE / 10, total_steps - warmup, warmup_target=PEAK_RATE, warmup_steps=warmup
    )
    return keras.optimizers.Adam(rate)


class TimeTo99(keras.callbacks.Callback):
    """Notes the wall time (since START) after the first epoch whose test accuracy is >= 99%."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: float | None = None
        self.epoch: int | None = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.seconds is None and (logs or {}).get("val_accuracy", 0.0) >= 0.99:
            self.seconds, self.epoch = time.perf_counter() - START, epoch + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--curves", default="artifacts/mnist_99_curves.png")
    parser.add_argument("--report", default="artifacts/mnist_99_report.html")
    parser.add_argument("--no-diagnose", action="store_true", help="train without diagnostics")
    args = parser.parse_args()

    set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    x_train = x_train.reshape(-1, 28, 28, 1).astype("float32") / 255.0
    x_test = x_test.reshape(-1, 28, 28, 1).astype("float32") / 255.0

    model = build_model()
    steps = args.epochs * -(-len(x_train) // BATCH_SIZE)
    model.compile(
        optimizer=make_optimizer(steps),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    clock = TimeTo99()
    fit_start = time.perf_counter()
    history = model.fit(
        x_train,
        y_train,
        batch_size=BATCH_SIZE,
        epochs=args.epochs,
        validation_data=(x_test, y_test),  # evaluated at epoch ends only; never trained on
        callbacks=[clock],
        diagnose=not args.no_diagnose,
        verbose=2,
    )
    train_time = time.perf_counter() - fit_start
    total_time = time.perf_counter() - START
    accuracy = history.history["val_accuracy"][-1]
    plot_history(history, args.curves, title="MNIST to 99%")
    report = keras.report(
        model, history, data=(x_test, y_test), path=args.report, title="MNIST to 99%"
    )
    print(f"\nTest accuracy: {accuracy * 100:.2f}%")
    print(f"Training time: {train_time:.1f} s for {args.epochs} epochs")
    if clock.seconds is None:
        print("Time to 99%: not reached")
    else:
        print(f"Time to 99%: {clock.seconds:.1f} s from process start (epoch {clock.epoch})")
    print(f"Total time: {total_time:.1f} s from process start, before plots and report")
    print(f"Learning curves: {args.curves}")
    print(f"Training report: {report}")


if __name__ == "__main__":
    main()
