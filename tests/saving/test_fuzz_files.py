"""Fuzzing every model and weights format: each damaged file loads or raises FileFormatError.

From a valid file of a small trained model (Conv2D, BatchNormalization, Dense; Adam
state after one step) in each format, Hypothesis truncates, flips bytes, swaps JSON
values for values of the wrong type, declares 10^12-element tensors in safetensors
headers, builds zips with duplicate, overlapping and lying members, and links HDF5
groups into cycles or out of the file. Every load runs under a hard timeout and a
memory bound (fuzz_cases.py). The memory-bound bombs (members inflating to GBs, huge
declared datasets, half a million zip entries) run in a fresh process each run.

LAMINA_FUZZ_EXAMPLES=N runs N examples per test (the campaign); the summary is printed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from fuzz_bombs import CASES as BOMBS
from fuzz_cases import FORMATS, Loaders, examples, run_case, summary, valid_files
from fuzz_mutations import (
    WRONG_VALUES,
    crafted_zip,
    flipped,
    h5_attr_mutant,
    h5_structural,
    json_mutant,
    st_header_mutant,
    st_huge_shape,
    truncated,
    zip_members,
    zip_of,
    zip_replacing,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FUZZ = settings(
    max_examples=examples(40),
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ZIPS = ("lamina", "keras", "torch")
JSON_MEMBERS = {"lamina": ("config.json", "compile.json", "optimizer.json"),
                "keras": ("config.json", "metadata.json")}  # fmt: skip
SAFETENSORS = {"safetensors": None, "lamina": ("model.safetensors", "optimizer.safetensors")}
H5 = {"h5": None, "weights_h5": None, "keras": "model.weights.h5"}
MEMORY_LIMIT = 100 << 20
KNOWN: dict[tuple[str, str], str] = {}  # (test, parameter) -> an open bug, marked strict xfail


def _params(test: str, names) -> list:
    """`names` as parameters, the known bugs marked strict xfail with their reason."""
    return [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=KNOWN[test, n]))
        if (test, n) in KNOWN
        else n
        for n in names
    ]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def valid(workdir) -> dict[str, bytes]:
    return valid_files(workdir)


@pytest.fixture(scope="module")
def loaders() -> Loaders:
    return Loaders()


@pytest.fixture(scope="module")
def outside(workdir) -> str:
    """An HDF5 file outside the model file, for external links to point at."""
    path = workdir / "outside.h5"
    with h5py.File(path, "w") as f:
        f["data"] = np.arange(6, dtype="float32")
    return str(path)


@pytest.fixture(scope="module", autouse=True)
def print_summary(request):
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    for line in summary():
        (reporter.write_line if reporter else print)(line)


def _bytes_of(valid, fmt) -> bytes:
    if fmt not in valid:
        pytest.skip(f"{fmt} files are not written yet")
    return valid[fmt]


def _in_member(data: bytes, member: str | None, edit) -> bytes:
    """`edit` applied to the whole file, or to one member of a zip."""
    return edit(data) if member is None else zip_replacing(data, member, edit)


def test_every_valid_file_loads(valid, workdir, loaders):
    assert set(valid) >= {"lamina", "safetensors", "torch"}
    for fmt, data in valid.items():
        run_case(fmt, "valid", data, workdir, loaders, "unchanged")


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(st.data())
def test_truncated_anywhere(valid, workdir, loaders, fmt, data):
    original = _bytes_of(valid, fmt)
    n = data.draw(st.integers(0, len(original) - 1), label="length")
    run_case(fmt, "truncated", truncated(original, n), workdir, loaders, f"to {n}")


@pytest.mark.parametrize("fmt", _params("flipped", FORMATS))
@FUZZ
@given(st.data())
def test_bytes_flipped(valid, workdir, loaders, fmt, data):
    original = _bytes_of(valid, fmt)
    flips = data.draw(
        st.lists(
            st.tuples(st.integers(0, len(original) - 1), st.integers(1, 255)),
            min_size=1,
            max_size=4,
        ),
        label="flips",
    )
    run_case(fmt, "flipped", flipped(original, flips), workdir, loaders, str(flips))


@pytest.mark.parametrize("fmt", _params("json", JSON_MEMBERS))
@FUZZ
@given(st.data())
def test_json_value_of_the_wrong_type(valid, workdir, loaders, fmt, data):
    original = _bytes_of(valid, fmt)
    member = data.draw(st.sampled_from(JSON_MEMBERS[fmt]), label="member")
    pick = data.draw(st.integers(0, 10_000), label="value")
    choice = data.draw(st.integers(0, len(WRONG_VALUES) - 1), label="replacement")
    found = {}

    def edit(text: bytes) -> bytes:
        out, found["what"] = json_mutant(text, pick, choice)
        return out

    mutant = zip_replacing(original, member, edit)
    run_case(fmt, "json", mutant, workdir, loaders, f"{member} {found['what']}")


@pytest.mark.parametrize("fmt", list(SAFETENSORS))
@FUZZ
@given(st.data())
def test_safetensors_header_damaged(valid, workdir, loaders, fmt, data):
    original = _bytes_of(valid, fmt)
    members = SAFETENSORS[fmt]
    member = None if members is None else data.draw(st.sampled_from(members), label="member")
    pick = data.draw(st.integers(0, 10_000), label="value")
    choice = data.draw(st.integers(0, len(WRONG_VALUES) + 3), label="replacement")
    found = {}

    def edit(blob: bytes) -> bytes:
        if choice >= len(WRONG_VALUES):  # a 10^12-element shape
            out, found["what"] = st_huge_shape(blob, pick, choice)
        else:
            out, found["what"] = st_header_mutant(blob, pick, choice)
        return out

    mutant = _in_member(original, member, edit)
    run_case(fmt, "safetensors", mutant, workdir, loaders, f"{member} {found['what']}")


@pytest.mark.parametrize("fmt", ZIPS)
@FUZZ
@given(st.data())
def test_zip_structure(valid, workdir, loaders, fmt, data):
    """Duplicate names, overlapping entries, lying sizes, missing or swapped members."""
    original = _bytes_of(valid, fmt)
    members = zip_members(original)
    names = [n for n, _, _ in members]
    plain = [(n, p) for n, p, _ in members]
    kind = data.draw(st.integers(0, 5), label="kind")
    i = data.draw(st.integers(0, len(names) - 1), label="member")
    j = data.draw(st.integers(0, len(names) - 1), label="other")
    if kind == 0:  # the same name twice: first or second copy different
        mutant = zip_of([*members, (names[i], members[j][1], zipfile.ZIP_STORED)])
    elif kind == 1:  # a second central entry reading member j's data
        name = data.draw(st.sampled_from([names[i], "extra.json", "model.safetensors"]))
        mutant = crafted_zip(plain, extra_central=[(name, j)])
    elif kind == 2:  # a declared size from 1 byte more to 2^32 - 1
        size = data.draw(st.integers(len(plain[i][1]) + 1, 2**32 - 1), label="declared")
        mutant = crafted_zip(plain, declared={names[i]: size})
    elif kind == 3:  # a member missing
        mutant = zip_of([m for m in members if m[0] != names[i]])
    elif kind == 4:  # a member's bytes swapped for another's
        mutant = zip_of([(n, members[j][1] if n == names[i] else p, m) for n, p, m in members])
    else:  # a member's bytes replaced by junk
        junk = data.draw(st.binary(max_size=64), label="junk")
        mutant = zip_of([(n, junk if n == names[i] else p, m) for n, p, m in members])
    run_case(fmt, f"zip{kind}", mutant, workdir, loaders, f"{names[i]} {names[j]}")


@pytest.mark.parametrize("fmt", list(H5))
@FUZZ
@given(st.data())
def test_hdf5_structure(valid, workdir, loaders, outside, fmt, data):
    """Cycles (hard links to the root or to itself), external and dangling links, and
    datasets declaring 10^12 elements, or an attribute of the wrong type."""
    original = _bytes_of(valid, fmt)
    kind = data.draw(st.integers(0, 6), label="kind")
    pick = data.draw(st.integers(0, 1000), label="object")
    choice = data.draw(st.integers(0, len(WRONG_VALUES) - 1), label="replacement")
    sub = data.draw(st.integers(0, 10_000), label="value")
    found = {}

    def edit(blob: bytes) -> bytes:
        if kind == 6:
            out, found["what"] = h5_attr_mutant(blob, pick, choice, sub)
        else:
            out, found["what"] = h5_structural(blob, kind, pick, outside)
        return out

    mutant = _in_member(original, H5[fmt], edit)
    run_case(fmt, f"hdf5-{kind}", mutant, workdir, loaders, found["what"])


# ----- memory-bound bombs in a fresh process -----------------------------------------------


@pytest.fixture(scope="module")
def bomb_results(valid, workdir) -> dict[tuple[str, str], dict]:
    """Every bomb built here, then loaded in one fresh process (its own VmHWM)."""
    args = []
    for name, (fmt, build) in BOMBS.items():
        if fmt in valid:
            path = workdir / f"bomb_{name}{FORMATS[fmt]}"
            path.write_bytes(build(valid[fmt]))
            args.append(f"{name}:{fmt}:{path}")
    script = Path(__file__).with_name("fuzz_cases.py")
    proc = subprocess.run(
        [sys.executable, str(script), *args], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    results = {(r["case"], r["via"]): r for r in lines}
    reporter_lines = [
        f"  bomb {r['case']:40} {r['via']:12} {str(r['outcome'])[:30]:30} "
        f"{r['seconds']:7.3f} s {r['peak'] / 2**20:8.1f} MiB"
        for r in lines
    ]
    print("\n".join(reporter_lines))
    return results


@pytest.mark.parametrize("name", _params("bomb", BOMBS))
def test_bomb_is_refused_within_memory(bomb_results, valid, name):
    fmt = BOMBS[name][0]
    if fmt not in valid:
        pytest.skip(f"{fmt} files are not written yet")
    for (case, via), result in bomb_results.items():
        if case != name:
            continue
        assert result["outcome"] in ("loaded", "refused"), f"{name} via {via}: {result}"
        assert 0 <= result["peak"] < MEMORY_LIMIT, (
            f"Expected under {MEMORY_LIMIT >> 20} MiB above baseline for {name} via {via}, "
            f"received: {result['peak'] / 2**20:.0f} MiB"
        )
