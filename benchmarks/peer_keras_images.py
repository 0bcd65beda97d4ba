"""Keras's ImageDataGenerator.flow_from_directory over the image benchmark's folder.

Runs in the TF venv (`.bench-envs/tf`: tf.keras 2, scipy and Pillow). Prints one
JSON line per epoch: {"epoch": i, "seconds": s, "images": n}. Every epoch decodes
the JPEGs again: Keras has no cache.

    .bench-envs/tf/bin/python benchmarks/peer_keras_images.py --dir D --epochs 2
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# the augmentation both sides use: the courses' flips, rotation and zoom
AUGMENT = {"rescale": 1 / 255, "rotation_range": 40, "zoom_range": 0.2, "horizontal_flip": True}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--size", type=int, default=150)
    ap.add_argument("--max-batches", type=int, default=0, help="0: whole epochs")
    args = ap.parse_args()
    try:  # tf.keras 2's public class, as the courses use it (Keras 3.15 keeps it only as legacy)
        from tf_keras.preprocessing.image import ImageDataGenerator
    except ImportError:
        from keras.src.legacy.preprocessing.image import ImageDataGenerator

    gen = ImageDataGenerator(**AUGMENT).flow_from_directory(
        args.dir, target_size=(args.size, args.size), batch_size=args.batch, class_mode="binary"
    )
    steps = len(gen) if not args.max_batches else min(len(gen), args.max_batches)
    for epoch in range(args.epochs):
        start, images = time.perf_counter(), 0
        for _ in range(steps):
            x, _ = next(gen)
            images += len(x)
        seconds = time.perf_counter() - start
        print(json.dumps({"epoch": epoch, "seconds": seconds, "images": images}), flush=True)


if __name__ == "__main__":
    main()
