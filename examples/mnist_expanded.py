"""Offline augmentation: write an expanded MNIST to disk (seed 003's "expanded" data), train the CNN on it.

Each training image is kept and joined by `--copies` transformed copies (a random rotation
of up to +-10 degrees and a random shift of up to +-2 pixels each way, drawn by Lamina's
seeded RandomRotation and RandomTranslation layers), as uint8 in one .npz file written
atomically: with the default 4 copies, 300,000 images. The file carries its recipe (source
images, copies, ranges, seed) as a small JSON entry; a later run whose recipe matches reads
the file instead of making it again, and one whose recipe differs replaces it. The courses'
CNN (as in examples/mnist_cnn.py) then trains on the expanded set and is tested on the
untouched MNIST test set (the courses report about 99.6% with expanded data).

    python examples/mnist_expanded.py                 # 300,000 images, 3 epochs over them
    python examples/mnist_expanded.py --quick         # 3,000 images + 2 copies, 1 epoch
    python examples/mnist_expanded.py --out artifacts/mnist_expanded.npz
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import lamina as keras
from lamina import layers
from lamina.callbacks import LearningRateScheduler
from lamina.datasets import cache_dir, mnist
from lamina.io_utils import atomic_write
from lamina.utils import set_random_seed, to_categorical

FORMAT = 1  # bump when the way copies are made changes: old files then no longer match
QUICK = {"train_images": 3000, "copies": 2}


def recipe(train_images: int, copies: int, rotation: float, shift: int, seed: int) -> dict:
    """Everything that decides the file's contents; a file is reused only if this matches."""
    return {
        "format": FORMAT,
        "source": "mnist train",
        "train_images": train_images,
        "copies": copies,
        "rotation_degrees": rotation,
        "shift_pixels": shift,
        "seed": seed,
    }


def expand(images: np.ndarray, labels: np.ndarray, spec: dict) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (N, 28, 28) images -> the originals followed by `copies` transformed sets."""
    rotate = layers.RandomRotation(
        spec["rotation_degrees"] / 360.0, fill_mode="constant", seed=spec["seed"]
    )
    fraction = spec["shift_pixels"] / images.shape[1]
    shift = layers.RandomTranslation(
        fraction, fraction, fill_mode="constant", seed=spec["seed"] + 1
    )
    sets = [images]
    for _ in range(spec["copies"]):
        copy = np.empty_like(images)
        for start in range(0, len(images), 2000):
            x = torch.from_numpy(images[start : start + 2000, :, :, None].astype("float32"))
            x = shift(rotate(x, training=True), training=True)
            copy[start : start + 2000] = x[..., 0].round().clamp(0, 255).to(torch.uint8).numpy()
        sets.append(copy)
    return np.concatenate(sets), np.tile(labels, spec["copies"] + 1)


def read_if_matching(path: Path, spec: dict) -> tuple[np.ndarray, np.ndarray] | None:
    """The file's (images, labels) when it exists and its recipe equals `spec`, else None."""
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as archive:
        if "recipe" not in archive or json.loads(str(archive["recipe"])) != spec:
            return None
        return archive["images"], archive["labels"]


def write(path: Path, images: np.ndarray, labels: np.ndarray, spec: dict) -> None:
    """The images, labels and recipe in one compressed .npz, written atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as f:
        np.savez_compressed(
            f, images=images, labels=labels, recipe=np.array(json.dumps(spec, sort_keys=True))
        )


def expanded_dataset(path: Path, spec: dict) -> tuple[np.ndarray, np.ndarray, bool]:
    """(images, labels, reused): the file at `path` if its recipe matches, else made and written."""
    found = read_if_matching(path, spec)
    if found is not None:
        return found[0], found[1], True
    (x_train, y_train), _ = mnist.load_data()
    n = spec["train_images"]
    images, labels = expand(x_train[:n], y_train[:n], spec)
    write(path, images, labels, spec)
    return images, labels, False


def build_model() -> keras.Sequential:
    """The courses' CNN: Conv 32-32, max pooling, dropout, Dense 256, dropout, softmax.

    It reads the uint8 pixels and scales them itself, so the 300,000 images stay uint8
    (235 MB) in memory instead of becoming 940 MB of float32."""
    return keras.Sequential(
        [
            layers.Input((28, 28, 1)),
            layers.Rescaling(1.0 / 255),
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


def to_inputs(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (N, 28, 28, 1) images (the model scales them) and one-hot labels."""
    return images.reshape(-1, 28, 28, 1), to_categorical(labels, 10)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3,000 images + 2 copies, 1 epoch")
    parser.add_argument("--train-images", type=int, default=None, help="default all 60,000")
    parser.add_argument("--copies", type=int, default=None, help="copies per image (default 4)")
    parser.add_argument("--rotation", type=float, default=10.0, help="largest turn, degrees")
    parser.add_argument("--shift", type=int, default=2, help="largest shift, pixels")
    parser.add_argument("--out", default=None, help="default $LAMINA_HOME/datasets/...npz")
    parser.add_argument("--epochs", type=int, default=None, help="default 3 (1 with --quick)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="Adam's first rate")
    parser.add_argument("--decay", type=float, default=0.6, help="rate factor per epoch")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.train_images is None:
        args.train_images = QUICK["train_images"] if args.quick else 60_000
    if args.copies is None:
        args.copies = QUICK["copies"] if args.quick else 4
    if args.epochs is None:
        args.epochs = 1 if args.quick else 3
    if args.out is None:
        name = "mnist_expanded_quick.npz" if args.quick else "mnist_expanded.npz"
        args.out = str(cache_dir() / name)
    return args


def load_data(quick: bool = False) -> tuple[tuple[Any, Any], tuple[Any, Any]]:
    """The expanded training set (made on first use) and the MNIST test set, as model inputs."""
    args = parse_args(["--quick"] if quick else [])
    spec = recipe(args.train_images, args.copies, args.rotation, args.shift, args.seed)
    images, labels, _ = expanded_dataset(Path(args.out), spec)
    _, (x_test, y_test) = mnist.load_data()
    return to_inputs(images, labels), to_inputs(x_test, y_test)


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = parse_args(argv)
    spec = recipe(args.train_images, args.copies, args.rotation, args.shift, args.seed)
    start = time.perf_counter()
    images, labels, reused = expanded_dataset(Path(args.out), spec)
    size = Path(args.out).stat().st_size / 2**20
    print(
        f"Expanded dataset: {args.out} ({'reused' if reused else 'written'} in "
        f"{time.perf_counter() - start:.1f}s): {len(images)} images = {args.train_images} "
        f"x (1 + {args.copies} copies), {size:.1f} MB"
    )
    x_train, y_train = to_inputs(images, labels)
    _, (x_test, y_test) = mnist.load_data()
    x_test, y_test = to_inputs(x_test, y_test)

    set_random_seed(args.seed)
    model = build_model()
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
    print(f"Test accuracy: {accuracy * 100:.2f}%  (test loss {loss:.4f})")
    print(f"Training time: {train_time:.1f}s for {args.epochs} epochs")
    return {"accuracy": float(accuracy), "loss": float(loss), "seconds": train_time}


if __name__ == "__main__":
    main()
