"""A Dogs-vs-Cats-style folder of photos-like JPEGs, written from Fashion-MNIST.

Real cats-vs-dogs photos are not on this machine, so the folder examples and the
image benchmark use this: two classes ("tops": T-shirts, pullovers, coats and
shirts; "shoes": sandals, sneakers and ankle boots), each image a garment scaled
onto a coloured, noisy background of its own size, saved as an RGB JPEG. The noise
gives the JPEG decoder real texture; the varied sizes make resizing necessary, as
with the courses' 25,000 photos.

    from lamina.datasets import demo_folder
    root = demo_folder.write("cats_vs_dogs_style", images=2000)
    # root/tops/*.jpg, root/shoes/*.jpg
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

CLASSES: dict[str, tuple[int, ...]] = {"tops": (0, 2, 4, 6), "shoes": (5, 7, 9)}
# (width, height) choices when sizes are not given: landscape and portrait, 150-500 px
DEFAULT_SIZES: tuple[tuple[int, int], ...] = ((500, 375), (375, 500), (320, 240), (200, 150))


def write(
    root: str | Path,
    images: int = 2000,
    sizes: Sequence[tuple[int, int]] = DEFAULT_SIZES,
    seed: int = 0,
    quality: int = 90,
) -> Path:
    """Write `images` JPEGs (half per class) under root/<class>/; returns root.

    Skips the work when root already holds exactly that many JPEGs. Sizes are
    (width, height) pairs picked at random per image.
    """
    from PIL import Image

    from lamina.datasets import fashion_mnist

    if not isinstance(images, int) or images < 2:
        raise ValueError(f"Expected an int >= 2 for images, received: images={images!r}")
    out = Path(root)
    if out.exists() and sum(1 for _ in out.glob("*/*.jpg")) == images:
        return out
    (x, y), _ = fashion_mnist.load_data()
    rng = np.random.default_rng(seed)
    pools = {name: np.flatnonzero(np.isin(y, labels)) for name, labels in CLASSES.items()}
    longest = max(max(w, h) for w, h in sizes) + 1
    # a few noise fields cropped at random offsets: texture without per-image RNG cost
    noise = [rng.normal(0, 18, size=(longest, longest, 1)).astype(np.float32) for _ in range(4)]
    names = list(CLASSES)
    for name in names:
        (out / name).mkdir(parents=True, exist_ok=True)
    for i in range(images):
        name = names[i % len(names)]
        k = int(rng.choice(pools[name]))
        w, h = sizes[int(rng.integers(0, len(sizes)))]
        field = noise[i % len(noise)]
        oy, ox = int(rng.integers(0, longest - h)), int(rng.integers(0, longest - w))
        canvas = field[oy : oy + h, ox : ox + w] + rng.integers(0, 256, size=3).astype(np.float32)
        side = int(min(h, w) * rng.uniform(0.6, 0.95))
        garment = np.asarray(Image.fromarray(x[k]).resize((side, side), Image.BILINEAR))
        colour = rng.uniform(0.3, 1.0, size=3).astype(np.float32)
        top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        alpha = garment[..., None].astype(np.float32) / 255.0
        patch = canvas[top : top + side, left : left + side]
        patch[:] = patch * (1 - alpha) + 255 * alpha * colour
        img = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8))
        img.save(out / name / f"{name}_{i:06d}.jpg", quality=quality)
    return out
