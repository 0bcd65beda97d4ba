"""tools/api_coverage.py: the coverage of Keras 3's API can only grow, and every name has its parity test.

A name Lamina has (under Keras's module and name) must be compared with Keras by a parity
test that declares it; a name that loses its parity test fails here. The per-module counts
of parity-tested names may not fall below `tools/api_coverage_floor.json`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
import keras  # noqa: E402, F401  (the oracle: installed by `make setup`, never skipped here)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import api_coverage  # noqa: E402

FLOOR = ROOT / "tools" / "api_coverage_floor.json"


@pytest.fixture(scope="module")
def figures() -> tuple[list[api_coverage.Row], list[str]]:
    return api_coverage.coverage()


def test_every_present_name_has_a_parity_test(figures) -> None:
    rows, _ = figures
    untested = {f"{r.module}.{n}" for r in rows for n, s in r.names.items() if s == "untested"}
    assert not untested, (
        f"Expected a parity test for every present name, received: untested={sorted(untested)}"
    )


def test_every_parity_key_names_a_keras_object(figures) -> None:
    _, unknown = figures
    assert unknown == []


def test_coverage_does_not_fall_below_the_floor(figures) -> None:
    rows, _ = figures
    floor = json.loads(FLOOR.read_text())
    got = {r.module: r.tested for r in rows}
    fallen = {m: (got.get(m, 0), n) for m, n in floor.items() if got.get(m, 0) < n}
    assert not fallen, (
        f"Expected at least the floor's parity-tested names, received: (now, floor)={fallen}"
    )


def test_a_declared_table_is_what_counts(tmp_path: Path) -> None:
    (tmp_path / "test_fake_parity.py").write_text(
        'FAKE_PARITY = {"layers.Dense": 1, "ops.numpy.add": 2, "layers.NoSuchLayer": 3}\n'
    )
    keys = api_coverage.declared_keys(tmp_path)
    assert set(keys) == {"layers.Dense", "ops.numpy.add", "layers.NoSuchLayer"}
    rows, unknown = api_coverage.coverage(tmp_path)
    by_module = {r.module: r for r in rows}
    assert by_module["layers"].names["Dense"] == "tested"
    assert by_module["layers"].names["Conv2D"] == "untested"  # present, but no table names it
    assert unknown == ["layers.NoSuchLayer"]
    # an alias of the same Keras object counts: ops.numpy.add is ops.add
    assert by_module["ops"].names["add"] == "tested"
    assert "FlaxLayer" not in by_module["layers"].names
