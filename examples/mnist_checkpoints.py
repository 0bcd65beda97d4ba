"""Seed 004's callback code on the real MNIST: early stopping, the best model saved to
`model.h5`, then reloaded, evaluated and trained on.

    cb = [EarlyStopping(monitor='val_loss', patience=2),
          ModelCheckpoint('model.h5', save_best_only=True)]
    model.fit(..., callbacks=cb, ...)
    model = load_model('model.h5')

    python examples/mnist_checkpoints.py --model cnn --epochs 8
    python examples/mnist_checkpoints.py --quick      # 3,000 training images, 3 epochs
"""

from __future__ import annotations

import argparse
import os
import tempfile
from typing import Any

import numpy as np

import lamina as keras
from lamina import layers
from lamina.callbacks import EarlyStopping, ModelCheckpoint
from lamina.datasets import mnist
from lamina.models import load_model
from lamina.utils import set_random_seed, to_categorical


def build(kind: str) -> keras.Sequential:
    """The courses' MLP (784-200-100-60-30-10) or CNN (conv 32-32, pool, dense 256)."""
    if kind == "mlp":
        return keras.Sequential(
            [layers.Input((784,))]
            + [layers.Dense(n, activation="relu") for n in (200, 100, 60, 30)]
            + [layers.Dense(10, activation="softmax")]
        )
    return keras.Sequential(
        [
            layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)),
            layers.Conv2D(32, (3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Dropout(0.25),
            layers.Flatten(),
            layers.Dense(256, activation="relu"),
            layers.Dropout(0.25),
            layers.Dense(10, activation="softmax"),
        ]
    )


def data(kind: str, train_samples: int | None = None) -> tuple[Any, Any, Any, Any]:
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    shape = (-1, 784) if kind == "mlp" else (-1, 28, 28, 1)
    x_train = x_train.reshape(shape).astype("float32") / 255.0
    x_test = x_test.reshape(shape).astype("float32") / 255.0
    if train_samples:
        x_train, y_train = x_train[:train_samples], y_train[:train_samples]
    return x_train, to_categorical(y_train, 10), x_test, to_categorical(y_test, 10)


def run(
    kind: str, path: str, epochs: int, train_samples: int | None = None, verbose: int = 2
) -> dict[str, Any]:
    """Train with the seed's callbacks, reload the best file, evaluate it and train on."""
    x_train, y_train, x_test, y_test = data(kind, train_samples)
    model = build(kind)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    cb = [EarlyStopping(monitor="val_loss", patience=2), ModelCheckpoint(path, save_best_only=True)]
    history = model.fit(
        x_train,
        y_train,
        batch_size=128,
        epochs=epochs,
        validation_split=0.1,
        callbacks=cb,
        verbose=verbose,
    )
    best_epoch = int(np.argmin(history.history["val_loss"]))
    reloaded = load_model(path)
    loss, accuracy = reloaded.evaluate(x_test, y_test, verbose=0)
    more = reloaded.fit(x_train, y_train, batch_size=128, epochs=1, verbose=0)
    return {
        "epochs_run": len(history.epoch),
        "best_epoch": best_epoch,
        "best_val_loss": float(history.history["val_loss"][best_epoch]),
        "reloaded_test_accuracy": float(accuracy),
        "reloaded_test_loss": float(loss),
        "reloaded_model": reloaded,
        "loss_after_one_more_epoch": float(more.history["loss"][0]),
    }


QUICK_TRAIN = 3000  # training images with --quick (10% of them validate); all 10,000 test


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="3,000 training images, at most 3 epochs"
    )
    parser.add_argument("--model", choices=["mlp", "cnn"], default="cnn")
    parser.add_argument("--epochs", type=int, help="at most this many (default 8, 3 with --quick)")
    parser.add_argument("--train-samples", type=int, help="default all 60,000")
    parser.add_argument("--file", default=None, help="default: model.h5 in a temporary folder")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.epochs is None:
        args.epochs = 3 if args.quick else 8
    if args.train_samples is None and args.quick:
        args.train_samples = QUICK_TRAIN
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    set_random_seed(args.seed)
    with tempfile.TemporaryDirectory() as folder:
        path = args.file or os.path.join(folder, "model.h5")
        result = run(args.model, path, args.epochs, args.train_samples)
    result.pop("reloaded_model")
    for key, value in result.items():
        print(f"{key}: {value}")
    return result


if __name__ == "__main__":
    main()
