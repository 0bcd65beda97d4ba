"""Test helper: write a directory of class subfolders of real MNIST / Fashion-MNIST images.

`make_image_folder` resizes real 28x28 digits or clothes to varied sizes, tints them to RGB,
saves them as the given formats, and (with `broken=True`) adds the awkward cases a real
folder has. It returns a `Manifest` saying which label every decodable file must get.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

FASHION_NAMES = [
    "tshirt",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "boot",
]


@dataclass
class Manifest:
    """What `make_image_folder` wrote (paths relative to the root)."""

    root: Path
    classes: list[str]  # sorted class folder names, the empty class included
    labels: dict[str, int]  # every decodable image -> its class index
    sources: dict[str, np.ndarray] = field(default_factory=dict)  # file -> uint8 RGB written
    unreadable: list[str] = field(default_factory=list)  # image extension, not decodable
    special: dict[str, str] = field(default_factory=dict)  # case -> file (decodable)
    ignored: list[str] = field(default_factory=list)  # non-image extensions
    empty_class: str | None = None

    def label_of(self, filename: str) -> int:
        return self.labels[filename]


def _dataset(name: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    if name == "mnist":
        from lamina.datasets import mnist

        (x, y), _ = mnist.load_data()
        return x, y, [f"digit_{d}" for d in range(10)]
    if name == "fashion_mnist":
        from lamina.datasets import fashion_mnist

        (x, y), _ = fashion_mnist.load_data()
        return x, y, FASHION_NAMES
    raise ValueError(f"Expected dataset 'mnist' or 'fashion_mnist', received: dataset={name!r}")


def _tinted(gray: np.ndarray, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A 28x28 digit resized to (h, w) and tinted with a random colour: uint8 (h, w, 3)."""
    img = Image.fromarray(gray).resize((size[1], size[0]), Image.Resampling.BILINEAR)
    tint = rng.uniform(0.4, 1.0, size=3)
    return np.clip(np.asarray(img, dtype=np.float64)[..., None] * tint, 0, 255).astype(np.uint8)


def _save(rgb: np.ndarray, path: Path) -> None:
    fmt = {"jpg": "JPEG", "jpeg": "JPEG", "tif": "TIFF"}.get(path.suffix[1:], None)
    kwargs = {"quality": 95} if fmt == "JPEG" else {}
    Image.fromarray(rgb).save(path, format=fmt, **kwargs)


def make_image_folder(
    root: str | os.PathLike,
    n_per_class: int = 4,
    classes: tuple[int, ...] = (0, 1, 2),
    size_range: tuple[int, int] = (20, 48),
    formats: tuple[str, ...] = ("jpg", "png"),
    broken: bool = True,
    dataset: str = "mnist",
    seed: int = 0,
) -> Manifest:
    """Write `root/<class name>/<file>` for the given class ids; return the manifest."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    x, y, names = _dataset(dataset)
    picked = [names[c] for c in classes]
    empty = None
    if broken:  # sorts between the first two classes, so later classes must skip an index
        empty = picked[0] + "_empty"
    folders = sorted(picked + ([empty] if empty else []))
    man = Manifest(root=root, classes=folders, labels={}, empty_class=empty)
    for name in folders:
        (root / name).mkdir(parents=True, exist_ok=True)
    k = 0
    for c, name in zip(classes, picked):
        for i, src in enumerate(rng.choice(np.flatnonzero(y == c), n_per_class, replace=False)):
            h, w = (int(v) for v in rng.integers(size_range[0], size_range[1] + 1, size=2))
            rgb = _tinted(x[src], (h, w), rng)
            rel = f"{name}/img_{i:03d}.{formats[k % len(formats)]}"
            k += 1
            _save(rgb, root / rel)
            man.labels[rel] = folders.index(name)
            man.sources[rel] = rgb
    if broken:
        _add_broken(man, x, picked, folders, rng)
    return man


def _add_broken(man: Manifest, x: np.ndarray, picked: list[str], folders: list[str], rng) -> None:
    root, first = man.root, picked[0]
    digit = _tinted(x[0], (64, 64), rng)
    noisy = rng.integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    full = root / first / "bad_truncated.jpg"
    Image.fromarray(noisy).save(full, quality=95)
    full.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    (root / first / "bad_text.jpg").write_text("this is not an image\n")
    (root / first / "bad_empty.png").write_bytes(b"")
    man.unreadable += [
        f"{first}/bad_truncated.jpg",
        f"{first}/bad_text.jpg",
        f"{first}/bad_empty.png",
    ]
    (root / first / "notes.txt").write_text("class notes\n")
    man.ignored.append(f"{first}/notes.txt")

    def add(case: str, name: str, image: Image.Image, rgb: np.ndarray) -> None:
        folder = picked[len(man.special) % len(picked)]
        rel = f"{folder}/{name}"
        image.save(root / rel)
        man.special[case] = rel
        man.labels[rel] = folders.index(folder)
        man.sources[rel] = rgb

    add("cmyk", "cmyk.jpg", Image.fromarray(digit).convert("CMYK"), digit)
    rgba = np.dstack([digit, np.full(digit.shape[:2], 128, np.uint8)])
    add("rgba", "rgba.png", Image.fromarray(rgba, "RGBA"), digit)
    gray = x[1]
    sixteen = Image.fromarray(gray.astype(np.uint16) * 257)  # mode 'I;16', 65535 = white
    add("sixteen_bit", "sixteen.png", sixteen, np.repeat(gray[..., None], 3, axis=2))
    add("gray", "gray.png", Image.fromarray(gray, "L"), np.repeat(gray[..., None], 3, axis=2))
    small = _tinted(x[2], (6, 5), rng)
    add("small", "small.png", Image.fromarray(small), small)
