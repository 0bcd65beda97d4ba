"""The load test on loopback, small: `benchmarks/serve_load.py` starts the server as the
documented multi-process set-up does (uvicorn's factory, in a child process), drives it at 1,
8 and 64 clients, then mixes hostile requests into the load. Every good answer must be its own
request's `model.predict` row (none lost, swapped or failed) and every hostile request must get
a 4xx from the server, none a 5xx. The full-size run's figures are in benchmarks/RESULTS.md."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("uvicorn")
ROOT = Path(__file__).resolve().parents[2]


def test_load_and_hostile_requests_on_a_real_socket(tmp_path):
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "serve_load.py"), "--requests", "40",
         "--seconds", "10", "--hostile-rounds", "1"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    out = run.stdout.split("## lamina serve under load", 1)[1]  # the report, after the progress
    assert "All phase-1 checks passed: True; phase 2 good requests all correct: True" in out
    rows = re.findall(r"^\| (mlp|cnn) \| (\d+) \| (\d+) \| (\d+) \| 0 / 0 / 0 \|", out, re.M)
    assert sorted((m, int(c)) for m, c, _, _ in rows) == sorted(
        (m, c) for m in ("mlp", "cnn") for c in (1, 8, 64)
    )
    assert all(sent == correct == "40" for _, _, sent, correct in rows)
    hostile = re.search(r"\((\d+) hostile requests sent; every one answered 4xx by the server, "
                        r"none 5xx, each 200 a good request: (\w+)\); /healthz afterwards: (\d+)", out)  # fmt: skip
    assert hostile is not None and int(hostile[1]) >= 20
    assert hostile[2] == "True" and hostile[3] == "200"
