"""The examples run end to end on small inputs (as subprocesses, like a user runs them)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_cats_vs_dogs_style_trains_from_a_demo_folder_with_a_cache(tmp_path):
    env = {**os.environ, "LAMINA_HOME": str(tmp_path / "home")}
    cmd = [sys.executable, str(ROOT / "examples" / "cats_vs_dogs_style.py")]
    cmd += ["--make-demo-folder", str(tmp_path / "photos"), "--images", "60"]
    cmd += ["--epochs", "2", "--size", "64", "--batch-size", "16"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "48 training, 12 validation images" in out
    acc = float(re.search(r"validation accuracy ([0-9.]+) after 2 epochs", out).group(1))
    assert 0.0 <= acc <= 1.0
    # both subsets were decoded once into the memory-mapped cache
    cached = sorted((tmp_path / "home" / "cache" / "images").glob("*.u8"))
    assert len(cached) == 2 and all(f.stat().st_size > 0 for f in cached)
