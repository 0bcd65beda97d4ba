"""Compare a figure with its stored reference image (matplotlib.testing.compare).

`assert_matches_baseline(fig, "name")` saves the figure to a temporary PNG and compares it
with tests/plot/baseline/name.png within `tol` (RMS over 0-255 pixel values). With
LAMINA_REGEN_BASELINES=1 it writes the reference instead and skips: review the new image
before committing it. Figures are drawn with the `classic`-free default style, fixed size and
DPI, and text hinting as matplotlib's own tests set it, so the same wheel draws the same pixels.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

BASELINE = Path(__file__).parent / "baseline"


def deterministic_matplotlib() -> None:
    """Settings that make rendering repeatable across runs (as matplotlib's own tests do)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.testing import setup

    setup()  # default style, text hinting and font settings of matplotlib's test suite


def assert_matches_baseline(fig, name: str, tmp_path: Path, tol: float = 2.0, dpi: int = 80):
    from matplotlib.testing.compare import compare_images

    expected = BASELINE / f"{name}.png"
    if os.environ.get("LAMINA_REGEN_BASELINES") == "1":
        BASELINE.mkdir(parents=True, exist_ok=True)
        fig.savefig(expected, dpi=dpi)
        pytest.skip(f"wrote the reference image {expected}; review it before committing")
    actual = tmp_path / f"{name}.png"
    fig.savefig(actual, dpi=dpi)
    assert expected.exists(), f"no reference image {expected}: run with LAMINA_REGEN_BASELINES=1"
    diff = compare_images(str(expected), str(actual), tol=tol)
    assert diff is None, diff
