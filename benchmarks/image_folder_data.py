"""The image benchmark's folder: 10,000 JPEGs of about Dogs-vs-Cats size, written once.

500x375 (landscape) or 375x500 (portrait) JPEGs in two classes, written by
`lamina.datasets.demo_folder` from Fashion-MNIST into `.bench-data/` (git-ignored)
and reused while the file count matches.

    python benchmarks/image_folder_data.py --images 10000
"""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / ".bench-data"
SIZES = ((500, 375), (375, 500))


def make(images: int = 10000, seed: int = 0) -> Path:
    """The folder with `images` JPEGs (created on first use); returns its path."""
    from lamina.datasets import demo_folder

    return demo_folder.write(ROOT / f"jpeg-{images}", images=images, sizes=SIZES, seed=seed)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=10000)
    print(make(ap.parse_args().images))
