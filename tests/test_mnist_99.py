"""`make demo`'s promise: examples/mnist_99.py reaches 99.0% MNIST test accuracy (seed 0).

Runs the example as a user does (a subprocess, the real MNIST, the full two-epoch
recipe: this is the fast recipe, so it is affordable in CI) and checks the printed
test accuracy against the 99.0% bound a broken model or schedule misses, and that the
training report and the learning curves it names exist.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_mnist_99_example_reaches_99_percent(tmp_path: Path) -> None:
    report, curves = tmp_path / "report.html", tmp_path / "curves.png"
    cmd = [sys.executable, str(ROOT / "examples" / "mnist_99.py"), "--seed", "0"]
    cmd += ["--report", str(report), "--curves", str(curves)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    accuracy = float(re.search(r"^Test accuracy: ([\d.]+)%$", proc.stdout, re.M).group(1))
    assert accuracy >= 99.0, proc.stdout[-2000:]
    named = re.search(r"^Training report: (.+)$", proc.stdout, re.M).group(1)
    assert Path(named).resolve() == report.resolve() and report.stat().st_size > 10_000
    assert "<html" in report.read_text()[:2000].lower()
    assert curves.stat().st_size > 1000
    assert re.search(r"^Time to 99%: [\d.]+ s from process start", proc.stdout, re.M)
