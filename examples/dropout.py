"""Dropout against no dropout: the 5-layer ReLU MLP on MNIST, with the overfitting gap plotted.

The courses' MLP (200-100-60-30-10, ReLU) trained twice from the same seed: as is, and with
Dropout(0.25) after each hidden layer (the course's 98.26% model). Both use 'rmsprop' (the
MLP's optimizer, so dropout is the only difference; the course's dropout slide compiles with
'sgd': `--optimizer sgd`). The overfitting gap is training minus test accuracy (and test
minus training loss), both measured at the end in inference mode. Per-epoch curves, training
(as fit reports it, with dropout active) against validation, go to artifacts/dropout.png.

    python examples/dropout.py          # 60,000 images, 20 epochs
    python examples/dropout.py --quick  # 1,000 images, 20 epochs: overfits quickly
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _mnist import load_mnist

import lamina as keras
from lamina import layers
from lamina.plot.figure import finish, pyplot
from lamina.utils import set_random_seed


def build_model(
    dropout: float = 0.25, optimizer: str = "rmsprop", learning_rate: float | None = None
) -> keras.Sequential:
    """The 5-layer ReLU MLP, with Dropout(`dropout`) after each hidden layer when above 0."""
    model = keras.Sequential([keras.Input(shape=(784,))])
    for units in (200, 100, 60, 30):
        model.add(layers.Dense(units, activation="relu"))
        if dropout > 0:
            model.add(layers.Dropout(dropout))
    model.add(layers.Dense(10, activation="softmax"))
    opt = keras.optimizers.get(optimizer)
    if learning_rate is not None:
        opt.learning_rate = learning_rate
    model.compile(optimizer=opt, loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 training images")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--rate", type=float, default=0.25, help="the dropout rate")
    parser.add_argument("--optimizer", default="rmsprop")
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--plot", default="artifacts/dropout.png")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    train, test = (1000, 5000) if args.quick else (None, None)
    (x_train, y_train), (x_test, y_test) = load_mnist((784,), train=train, test=test)
    print(f"{len(x_train)} training images, {len(x_test)} test images, {args.epochs} epochs")
    plt = pyplot()
    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(11, 4))
    for label, rate, colour in (
        ("no dropout", 0.0, "tab:red"),
        (f"dropout {args.rate}", args.rate, "tab:blue"),
    ):
        set_random_seed(args.seed)
        model = build_model(rate, args.optimizer, args.learning_rate)
        start = time.perf_counter()
        history = model.fit(
            x_train,
            y_train,
            batch_size=args.batch_size,
            epochs=args.epochs,
            validation_data=(x_test, y_test),
            verbose=0,
        )
        elapsed = time.perf_counter() - start
        train_loss, train_acc = model.evaluate(x_train, y_train, batch_size=1000, verbose=0)
        test_loss, test_acc = model.evaluate(x_test, y_test, batch_size=1000, verbose=0)
        print(
            f"{label}: train accuracy {train_acc * 100:.2f}%, Test accuracy: {test_acc * 100:.2f}%, "
            f"gap {(train_acc - test_acc) * 100:.2f} points, loss gap {test_loss - train_loss:.4f} "
            f"({elapsed:.1f}s)"
        )
        epochs = np.arange(1, args.epochs + 1)
        h = history.history
        ax_acc.plot(epochs, h["accuracy"], color=colour, label=f"{label}: training")
        ax_acc.plot(epochs, h["val_accuracy"], color=colour, ls="--", label=f"{label}: test")
        ax_loss.plot(epochs, h["loss"], color=colour, label=f"{label}: training")
        ax_loss.plot(epochs, h["val_loss"], color=colour, ls="--", label=f"{label}: test")
    ax_acc.set_title("accuracy (gap = overfitting)")
    ax_loss.set_title("loss")
    for ax in (ax_acc, ax_loss):
        ax.set_xlabel("epoch")
        ax.legend(fontsize=8)
    fig.tight_layout()
    finish(fig, args.plot)
    print(f"Plot: {args.plot}")


if __name__ == "__main__":
    main()
