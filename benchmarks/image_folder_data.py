"""The image benchmark's folder: JPEGs of about Dogs-vs-Cats size, written once.

10,000 JPEGs of 500x375 (landscape) or 375x500 (portrait), two classes, made from
Fashion-MNIST clothes (the Debian package, read by `lamina.datasets.fashion_mnist`):
each image is a garment upscaled onto a coloured, noisy background, so the JPEG
decoder has real texture to decode (a flat image would decode unrealistically
fast). Written to `.bench-data/` (git-ignored) and reused while the file count
matches. Standard library, NumPy and Pillow only: the Keras peer in the TF venv
only reads the folder.

    python benchmarks/image_folder_data.py --images 10000
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent / ".bench-data"
CLASSES = ("class_a", "class_b")  # Fashion-MNIST labels 0-4 and 5-9


def folder(images: int) -> Path:
    return ROOT / f"jpeg-{images}"


def make(images: int = 10000, seed: int = 0) -> Path:
    """The folder with `images` JPEGs (created on first use); returns its path."""
    from PIL import Image

    out = folder(images)
    existing = sum(1 for _ in out.glob("*/*.jpg")) if out.exists() else 0
    if existing == images:
        return out
    from lamina.datasets import fashion_mnist

    (x, y), _ = fashion_mnist.load_data()
    rng = np.random.default_rng(seed)
    for name in CLASSES:
        (out / name).mkdir(parents=True, exist_ok=True)
    # a few noise fields, cropped at random offsets: texture without per-image RNG cost
    noise = [rng.normal(0, 18, size=(560, 560, 1)).astype(np.float32) for _ in range(4)]
    for i in range(images):
        k = int(rng.integers(0, len(x)))
        w, h = (500, 375) if rng.random() < 0.7 else (375, 500)
        field = noise[i % len(noise)]
        oy, ox = rng.integers(0, 560 - h), rng.integers(0, 560 - w)
        canvas = field[oy : oy + h, ox : ox + w] + rng.integers(0, 256, size=3).astype(np.float32)
        side = int(min(h, w) * rng.uniform(0.6, 0.95))
        garment = np.asarray(Image.fromarray(x[k]).resize((side, side), Image.BILINEAR))
        colour = rng.uniform(0.3, 1.0, size=3).astype(np.float32)
        top, left = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
        alpha = garment[..., None].astype(np.float32) / 255.0
        patch = canvas[top : top + side, left : left + side]
        patch[:] = patch * (1 - alpha) + 255 * alpha * colour
        img = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8))
        label = CLASSES[0] if y[k] < 5 else CLASSES[1]
        img.save(out / label / f"img_{i:06d}.jpg", quality=90)
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=10000)
    print(make(ap.parse_args().images))
