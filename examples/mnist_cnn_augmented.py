"""The courses' MNIST CNN trained with augmentation: random small rotations, shifts and zooms.

The same network as examples/mnist_cnn.py (Conv 32-32, max pooling, dropout, Dense 256,
dropout, softmax), with Lamina's augmentation layers in front of it: each training batch
is rotated by up to +-8 degrees, shifted by up to 2 pixels each way and zoomed by up to
+-8%, drawn afresh every epoch, so the network never sees the same image twice. The layers
pass images through unchanged at inference (evaluate, predict). Small transforms only: a
digit turned by 90 degrees or mirrored is another digit, or none. The courses report about
99.6% for this CNN with the training data expanded by augmentation (examples/mnist_expanded.py
does it offline, writing the expanded set to disk).

Adam's learning rate decays by `--decay` each epoch, since the augmented data keep the
loss noisy and a smaller step late in training settles the weights.

    python examples/mnist_cnn_augmented.py               # 15 epochs
    python examples/mnist_cnn_augmented.py --quick       # 1 epoch on 6,000 training images
"""

from __future__ import annotations

import argparse
import time

from _mnist import load_mnist

import lamina as keras
from lamina import layers
from lamina.callbacks import LearningRateScheduler
from lamina.utils import set_random_seed

QUICK_TRAIN = 6_000  # training images with --quick (the full test set is kept)


def augmentation(seed: int | None = None) -> list[keras.layers.Layer]:
    """Rotations of +-8 degrees (0.022 of a turn), shifts of +-2 pixels (0.07 of 28) and zooms
    of +-8%, filling with black (the digits' background); active only in training."""
    fill = {"fill_mode": "constant", "fill_value": 0.0}
    return [
        layers.RandomRotation(0.022, seed=seed, **fill),
        layers.RandomTranslation(0.07, 0.07, seed=None if seed is None else seed + 1, **fill),
        layers.RandomZoom(0.08, seed=None if seed is None else seed + 2, **fill),
    ]


def build_model(seed: int | None = None) -> keras.Sequential:
    """The courses' CNN behind the augmentation layers."""
    return keras.Sequential(
        [
            layers.Input((28, 28, 1)),
            *augmentation(seed),
            layers.Conv2D(32, (3, 3), activation="relu"),
            layers.Conv2D(32, (3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Dropout(0.25),
            layers.Flatten(),
            layers.Dense(256, activation="relu"),
            layers.Dropout(0.25),
            layers.Dense(10, activation="softmax"),
        ]
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 epoch on 6,000 images")
    parser.add_argument("--epochs", type=int, default=None, help="default 15 (1 with --quick)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="Adam's first rate")
    parser.add_argument("--decay", type=float, default=0.85, help="rate factor per epoch")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.epochs is None:
        args.epochs = 1 if args.quick else 15
    return args


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = parse_args(argv)
    set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = load_mnist(
        (28, 28, 1), train=QUICK_TRAIN if args.quick else None
    )
    model = build_model(seed=args.seed)
    model.compile(
        optimizer=keras.optimizers.Adam(args.learning_rate),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    first_rate, decay = args.learning_rate, args.decay
    schedule = LearningRateScheduler(lambda epoch, rate: first_rate * decay**epoch)
    start = time.perf_counter()
    model.fit(
        x_train,
        y_train,
        batch_size=args.batch_size,
        epochs=args.epochs,
        callbacks=[schedule],
        verbose=2,
    )
    train_time = time.perf_counter() - start
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=512, verbose=0)
    print(
        f"\nTraining images: {len(x_train)} (augmented afresh each epoch); "
        f"test images: {len(x_test)}"
    )
    print(f"Test accuracy: {accuracy * 100:.2f}%  (test loss {loss:.4f})")
    print(f"Training time: {train_time:.1f}s for {args.epochs} epochs")
    return {"accuracy": float(accuracy), "loss": float(loss), "seconds": train_time}


if __name__ == "__main__":
    main()
