"""The courses' Dogs-vs-Cats CNN, trained from a folder of photos with augmentation.

Four blocks of Conv (32-64-128-128, 3x3, ReLU) and 2x2 max pooling, Flatten,
Dropout 0.5, Dense 512, and a sigmoid output, on 150x150x3 images read by
`ImageDataGenerator.flow_from_directory` with the course's augmentation (rotation,
shifts, shear, zoom, horizontal flips) and a validation split. The decoded images
are cached after the first epoch, so later epochs only augment.

Any folder of class subfolders works (e.g. the real cats-vs-dogs `train/` with `cats/`
and `dogs/`). This machine has no such photos: `--make-demo-folder` writes one from
Fashion-MNIST (two classes, RGB JPEGs of several sizes); with `--easy-demo` a folder the
CNN learns in a few epochs (tests/test_examples.py trains on it and checks the accuracy).

    python examples/cats_vs_dogs_style.py --make-demo-folder artifacts/demo_folder --epochs 5
    python examples/cats_vs_dogs_style.py --make-demo-folder artifacts/easy --easy-demo \
        --images 600 --size 48 --epochs 10
    python examples/cats_vs_dogs_style.py --data path/to/train --epochs 30
    python examples/cats_vs_dogs_style.py --quick     # the easy demo folder, small and fast
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from _sizes import fill_sizes

import lamina as keras
from lamina import layers
from lamina.preprocessing.image import ImageDataGenerator
from lamina.utils import set_random_seed


def build_model(size: int = 150) -> keras.Sequential:
    return keras.Sequential(
        [
            layers.Input((size, size, 3)),
            layers.Conv2D(32, (3, 3), activation="relu"),
            layers.MaxPooling2D(2, 2),
            layers.Conv2D(64, (3, 3), activation="relu"),
            layers.MaxPooling2D(2, 2),
            layers.Conv2D(128, (3, 3), activation="relu"),
            layers.MaxPooling2D(2, 2),
            layers.Conv2D(128, (3, 3), activation="relu"),
            layers.MaxPooling2D(2, 2),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(512, activation="relu"),
            layers.Dense(1, activation="sigmoid"),
        ]
    )


QUICK = {"images": 600, "epochs": 10, "size": 48, "batch_size": 16}
FULL = {"images": 2000, "epochs": 5, "size": 150, "batch_size": 32}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="a folder of class subfolders of images")
    parser.add_argument(
        "--make-demo-folder", metavar="DIR", help="write a demo folder there and use it"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="the easy demo folder (600 images, in artifacts/cats_vs_dogs_quick unless "
        "--data or --make-demo-folder), 48x48 pixels, batches of 16, 10 epochs",
    )
    parser.add_argument("--images", type=int, help="images in the demo folder (default 2000)")
    parser.add_argument(
        "--easy-demo",
        action="store_true",
        help="a demo folder a small CNN learns in a few epochs (bright garments, dark backgrounds)",
    )
    parser.add_argument("--epochs", type=int, help="default 5 (10 with --quick)")
    parser.add_argument("--batch-size", type=int, help="default 32 (16 with --quick)")
    parser.add_argument("--learning-rate", type=float, default=1e-4, help="RMSprop's rate")
    parser.add_argument("--size", type=int, help="image side in pixels (default 150)")
    parser.add_argument("--validation-split", type=float, default=0.2)
    parser.add_argument("--no-cache", action="store_true", help="decode the files every epoch")
    parser.add_argument("--seed", type=int, default=1)
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The arguments, with --quick's sizes (or the full run's) where none was given."""
    args = build_parser().parse_args(argv)
    args = fill_sizes(args, QUICK, FULL)
    if args.quick:
        args.easy_demo = True
        if not args.data and not args.make_demo_folder:
            args.make_demo_folder = "artifacts/cats_vs_dogs_quick"
    return args


def main(argv: list[str] | None = None) -> float:
    args = parse_args(argv)
    if args.make_demo_folder:
        from lamina.datasets import demo_folder

        root = demo_folder.write(args.make_demo_folder, images=args.images, easy=args.easy_demo)
        args.data = str(root)
        print(f"demo folder: {args.data}")
    if not args.data or not Path(args.data).is_dir():
        build_parser().error(
            f"expected a folder via --data or --make-demo-folder, received: data={args.data!r}"
        )
    set_random_seed(args.seed)
    augment = ImageDataGenerator(
        rescale=1.0 / 255,
        rotation_range=40,
        width_shift_range=0.2,
        height_shift_range=0.2,
        shear_range=0.2,
        zoom_range=0.2,
        horizontal_flip=True,
        fill_mode="nearest",
        validation_split=args.validation_split,
    )
    plain = ImageDataGenerator(rescale=1.0 / 255, validation_split=args.validation_split)
    common = dict(
        target_size=(args.size, args.size),
        batch_size=args.batch_size,
        class_mode="binary",
        seed=args.seed,
        cache=not args.no_cache,
    )
    train = augment.flow_from_directory(args.data, subset="training", **common)
    val = plain.flow_from_directory(args.data, subset="validation", shuffle=False, **common)
    print(
        f"classes: {train.class_indices}; {train.samples} training, {val.samples} validation images"
    )

    model = build_model(args.size)
    model.compile(
        optimizer=keras.optimizers.RMSprop(args.learning_rate),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    history = model.fit(train, validation_data=val, epochs=args.epochs, verbose=2)
    seconds = time.perf_counter() - start
    val_acc = history.history["val_accuracy"][-1]
    print(f"validation accuracy {val_acc:.4f} after {args.epochs} epochs ({seconds:.0f} s)")
    return float(val_acc)


if __name__ == "__main__":
    main()
