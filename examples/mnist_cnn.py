"""The courses' MNIST CNN on the real MNIST (99.23% in the course): `make demo`.

Conv 32-32 (3x3, ReLU), max pooling, dropout, Dense 256, dropout, softmax: the
network that reaches 99.23% in the course. Trains with diagnostics on (it prints any
problem it sees after each epoch), prints test accuracy and time, writes the learning
curves to artifacts/mnist_cnn_curves.png and the training report (summary, curves,
diagnostics, mistakes, confusion matrix, first filters; one self-contained HTML page) to
artifacts/mnist_cnn_report.html.

    python examples/mnist_cnn.py --epochs 6
    python examples/mnist_cnn.py --quick      # 1 epoch on 6,000 training images
"""

from __future__ import annotations

import argparse
import time

from _mnist import load_mnist

import lamina as keras
from lamina import layers
from lamina.plot import plot_history
from lamina.utils import set_random_seed

QUICK_TRAIN = 6_000  # training images with --quick (the full test set is kept)


def build_model() -> keras.Sequential:
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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 epoch on 6,000 images")
    parser.add_argument("--epochs", type=int, default=None, help="default 6 (1 with --quick)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="Adam's rate")
    parser.add_argument("--curves", default="artifacts/mnist_cnn_curves.png")
    parser.add_argument("--report", default="artifacts/mnist_cnn_report.html")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.epochs is None:
        args.epochs = 1 if args.quick else 6
    return args


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = parse_args(argv)
    set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = load_mnist(
        (28, 28, 1), train=QUICK_TRAIN if args.quick else None
    )

    model = build_model()
    model.summary()
    model.compile(
        optimizer=keras.optimizers.Adam(args.learning_rate),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    history = model.fit(
        x_train,
        y_train,
        batch_size=args.batch_size,
        epochs=args.epochs,
        validation_data=(x_test, y_test),
        diagnose=True,
        verbose=2 if args.quick else "auto",
    )
    train_time = time.perf_counter() - start
    # The last epoch's validation pass ran the final weights over the test set (dropout off).
    loss, accuracy = history.history["val_loss"][-1], history.history["val_accuracy"][-1]
    plot_history(history, args.curves, title="MNIST CNN")
    report = keras.report(
        model, history, data=(x_test, y_test), path=args.report, title="MNIST CNN"
    )
    print(f"\nTraining images: {len(x_train)}; test images: {len(x_test)}")
    print(f"Test accuracy: {accuracy * 100:.2f}%  (test loss {loss:.4f})")
    print(f"Training time: {train_time:.1f}s for {args.epochs} epochs")
    print(f"Learning curves: {args.curves}")
    print(f"Training report: {report}")
    return {"accuracy": float(accuracy), "loss": float(loss), "seconds": train_time}


if __name__ == "__main__":
    main()
