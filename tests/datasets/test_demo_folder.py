"""lamina.datasets.demo_folder writes the Dogs-vs-Cats-style folder the examples use."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from lamina.datasets import demo_folder


def test_writes_balanced_rgb_jpegs_of_the_given_sizes(tmp_path):
    root = demo_folder.write(tmp_path / "d", images=12, sizes=((60, 40), (40, 60)), seed=1)
    files = {name: sorted((root / name).glob("*.jpg")) for name in demo_folder.CLASSES}
    assert {k: len(v) for k, v in files.items()} == {"tops": 6, "shoes": 6}
    sizes = set()
    for path in files["tops"] + files["shoes"]:
        with Image.open(path) as img:
            assert img.format == "JPEG" and img.mode == "RGB"
            sizes.add(img.size)
            pixels = np.asarray(img, dtype=np.float32)
        assert pixels.std() > 5  # texture, not a flat colour
    assert sizes <= {(60, 40), (40, 60)}


def test_reuses_a_complete_folder_and_rejects_bad_counts(tmp_path):
    root = demo_folder.write(tmp_path / "d", images=4, sizes=((30, 30),))
    first = sorted(p.stat().st_mtime_ns for p in root.glob("*/*.jpg"))
    demo_folder.write(root, images=4, sizes=((30, 30),))
    assert sorted(p.stat().st_mtime_ns for p in root.glob("*/*.jpg")) == first
    with pytest.raises(ValueError, match="Expected an int >= 2 for images, received: images=1"):
        demo_folder.write(tmp_path / "e", images=1)


def test_easy_folder_draws_bright_silhouettes_on_dark_backgrounds(tmp_path):
    root = demo_folder.write(tmp_path / "d", images=8, sizes=((64, 48),), seed=2, easy=True)
    for path in sorted(root.glob("*/*.jpg")):
        with Image.open(path) as img:
            pixels = np.asarray(img.convert("L"), dtype=np.float32)
        border = np.concatenate([pixels[:2].ravel(), pixels[-2:].ravel()])
        assert border.mean() < 70  # dark background
        assert np.percentile(pixels, 99) > 150  # a bright garment on it
    hard = demo_folder.write(tmp_path / "h", images=8, sizes=((64, 48),), seed=2)
    corners = [np.asarray(Image.open(p).convert("L"))[0, 0] for p in hard.glob("*/*.jpg")]
    assert max(corners) > 70  # the default backgrounds take any colour


def test_a_folder_of_other_settings_is_rewritten_not_reused(tmp_path):
    root = demo_folder.write(tmp_path / "d", images=4, sizes=((30, 30),))
    before = {p.name: p.read_bytes() for p in root.glob("*/*.jpg")}
    easy = demo_folder.write(root, images=4, sizes=((30, 30),), easy=True)
    after = {p.name: p.read_bytes() for p in easy.glob("*/*.jpg")}
    assert sorted(after) == sorted(before) and after != before
    demo_folder.write(root, images=2, sizes=((30, 30),))  # fewer: no stale files are left
    assert len(list(root.glob("*/*.jpg"))) == 2
