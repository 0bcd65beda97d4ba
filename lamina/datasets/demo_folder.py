"""A Dogs-vs-Cats-style folder of photos-like JPEGs, written from Fashion-MNIST.

Real cats-vs-dogs photos are not on this machine, so the folder examples and the
image benchmark use this: two classes ("tops": T-shirts, pullovers, coats and
shirts; "shoes": sandals, sneakers and ankle boots), each image a garment scaled
onto a coloured, noisy background of its own size, saved as an RGB JPEG. The noise
gives the JPEG decoder real texture; the varied sizes make resizing necessary, as
with the courses' 25,000 photos. Garments and backgrounds take random colours, often
close ones, so the course's CNN needs many epochs over thousands of images, as with
real photos. `easy=True` writes a folder it learns in a few epochs from a few hundred
images (the example's test checks that training really learns on it): solid, bright
silhouettes on dark, quieter backgrounds, and no ankle boots (the shoes most like tops).

    from lamina.datasets import demo_folder
    root = demo_folder.write("cats_vs_dogs_style", images=2000)
    # root/tops/*.jpg, root/shoes/*.jpg
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

CLASSES: dict[str, tuple[int, ...]] = {"tops": (0, 2, 4, 6), "shoes": (5, 7, 9)}
# easy=True: no ankle boots, whose tall outline is the tops' nearest
EASY_CLASSES: dict[str, tuple[int, ...]] = {"tops": (0, 2, 4, 6), "shoes": (5, 7)}
# (width, height) choices when sizes are not given: landscape and portrait, 150-500 px
DEFAULT_SIZES: tuple[tuple[int, int], ...] = ((500, 375), (375, 500), (320, 240), (200, 150))
STAMP = ".demo_folder.json"  # the settings a folder was written with


def write(
    root: str | Path,
    images: int = 2000,
    sizes: Sequence[tuple[int, int]] = DEFAULT_SIZES,
    seed: int = 0,
    quality: int = 90,
    easy: bool = False,
) -> Path:
    """Write `images` JPEGs (half per class) under root/<class>/; returns root.

    Skips the work when root already holds exactly that many JPEGs written with the same
    settings (a folder from before settings were recorded counts as easy=False). Sizes are
    (width, height) pairs picked at random per image. easy: bright garments on dark,
    quieter backgrounds (see the module docstring).
    """
    from PIL import Image

    from lamina.datasets import fashion_mnist

    if not isinstance(images, int) or images < 2:
        raise ValueError(f"Expected an int >= 2 for images, received: images={images!r}")
    out = Path(root)
    settings = {"images": images, "sizes": [list(s) for s in sizes], "seed": seed}
    settings.update(quality=quality, easy=bool(easy))
    if out.exists() and sum(1 for _ in out.glob("*/*.jpg")) == images:
        stamp = out / STAMP
        if stamp.exists() and json.loads(stamp.read_text()) == settings:
            return out
        if not stamp.exists() and not easy:
            return out
    for name in CLASSES:  # a folder of other settings or counts: start afresh
        for old in out.glob(f"{name}/{name}_*.jpg"):
            old.unlink()
    (x, y), _ = fashion_mnist.load_data()
    rng = np.random.default_rng(seed)
    classes = EASY_CLASSES if easy else CLASSES
    pools = {name: np.flatnonzero(np.isin(y, labels)) for name, labels in classes.items()}
    longest = max(max(w, h) for w, h in sizes) + 1
    # a few noise fields cropped at random offsets: texture without per-image RNG cost
    spread = 6 if easy else 18
    noise = [rng.normal(0, spread, size=(longest, longest, 1)).astype(np.float32) for _ in range(4)]
    names = list(CLASSES)
    for name in names:
        (out / name).mkdir(parents=True, exist_ok=True)
    for i in range(images):
        name = names[i % len(names)]
        k = int(rng.choice(pools[name]))
        w, h = sizes[int(rng.integers(0, len(sizes)))]
        field = noise[i % len(noise)]
        oy, ox = int(rng.integers(0, longest - h)), int(rng.integers(0, longest - w))
        base = rng.integers(0, 48 if easy else 256, size=3).astype(np.float32)
        canvas = field[oy : oy + h, ox : ox + w] + base
        side = int(min(h, w) * rng.uniform(0.6, 0.95))
        garment = np.asarray(Image.fromarray(x[k]).resize((side, side), Image.BILINEAR))
        colour = rng.uniform(0.75 if easy else 0.3, 1.0, size=3).astype(np.float32)
        top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        alpha = garment[..., None].astype(np.float32) / 255.0
        if easy:  # solid silhouettes: dark garments show as brightly as light ones
            alpha = np.clip(alpha * 6.0, 0.0, 1.0)
        patch = canvas[top : top + side, left : left + side]
        patch[:] = patch * (1 - alpha) + 255 * alpha * colour
        img = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8))
        img.save(out / name / f"{name}_{i:06d}.jpg", quality=quality)
    (out / STAMP).write_text(json.dumps(settings))
    return out
