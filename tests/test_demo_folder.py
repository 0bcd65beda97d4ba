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
