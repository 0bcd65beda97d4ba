"""benchmarks/course_table.py end to end on a tiny generated dataset: train, cache, resume, render.

The markdown table is parsed back and checked against the JSON cache (each seed's figure, the
mean and the min-max computed here with NumPy), and the missing seeds against what was run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import course_table as ct  # noqa: E402

ROWS = ("softmax", "mlp_relu_dropout", "cnn_augmented")


def tiny_mnist(
    seed: int = 0,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """uint8 28x28 images whose class is the row band of a bright bar: learnable in one epoch."""
    rng = np.random.default_rng(seed)

    def split(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, 10, n).astype(np.uint8)
        x = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
        for i, label in enumerate(y):
            x[i, 2 + 2 * label : 4 + 2 * label, 4:24] = 255
        return x, y

    return split(96), split(48)


def table_rows(text: str) -> dict[str, list[str]]:
    """The markdown table between the markers, as {model label: cells}."""
    block = text.split(ct.START, 1)[1].split(ct.END, 1)[0]
    lines = [line for line in block.splitlines() if line.startswith("|")]
    header, rule, *body = lines
    assert set(rule.replace("|", "")) == {"-"}
    width = len(header.split("|"))
    rows = {}
    for line in body:
        assert len(line.split("|")) == width, line
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = cells
    return rows


@pytest.fixture
def tiny_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """main() on the tiny data for ROWS, seed 0 only, 1 epoch, into a cache and doc under tmp_path."""
    monkeypatch.setattr(ct, "load_raw", lambda dataset: tiny_mnist())
    one_epoch = {k: ct.Row(**{**ct.ROW_BY_KEY[k].__dict__, "epochs": 1}) for k in ROWS}
    monkeypatch.setattr(ct, "ROW_BY_KEY", {**ct.ROW_BY_KEY, **one_epoch})
    monkeypatch.setattr(ct, "ROWS", tuple(one_epoch.get(r.key, r) for r in ct.ROWS))
    cache, doc = tmp_path / "cache.json", tmp_path / "COURSE.md"
    doc.write_text(f"# Title\n\nintro kept\n\n{ct.START}\n{ct.END}\n\nfindings kept\n")
    args = ["--rows", ",".join(ROWS), "--seeds", "0", "--cache", str(cache), "--doc", str(doc)]
    assert ct.main(args) == 0
    return cache, doc


def test_table_matches_the_cache(
    tiny_run: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_path, doc = tiny_run
    cache = json.loads(cache_path.read_text())
    assert sorted(cache["lamina"]) == sorted(ROWS)
    # a second seed written by hand, so that mean and min-max cover two figures
    ct.record(
        cache_path, "lamina", "softmax", 2, {**cache["lamina"]["softmax"]["0"], "accuracy": 12.5}
    )
    cache = json.loads(cache_path.read_text())
    ct.write_doc(cache, doc, ct.ROWS)
    text = doc.read_text()
    assert text.startswith("# Title\n\nintro kept\n") and text.endswith("findings kept\n")
    rows = table_rows(text)
    assert len(rows) == len(ct.ROWS)
    for row in ct.ROWS:
        cells = rows[row.label]
        runs = cache["lamina"].get(row.key)
        if runs is None:
            assert cells[5] == "not run yet"
            continue
        acc = np.array([runs[s]["accuracy"] for s in sorted(runs, key=int)])
        assert 0.0 <= acc.min() and acc.max() <= 100.0
        assert cells[5] == f"{acc.mean():.2f}% ({acc.min():.2f}-{acc.max():.2f})"
        assert cells[6].split(" (seeds")[0] == ", ".join(f"{a:.2f}" for a in acc)
        assert cells[3] == f"{row.course:.2f}%"
        expected = "yes" if acc.mean() >= row.target else "no"
        assert cells[7] == expected
        for run in runs.values():
            assert run["epochs"] == 1 and len(run["val_accuracy_by_epoch"]) == 1
    # the bar rows are learnable: the dropout-free softmax learns something in one epoch
    assert cache["lamina"]["softmax"]["0"]["accuracy"] > 10.0
    # missing: every row's seeds 1 (and 2 except softmax), and the rows not run at all
    missing = text.split("Missing: ", 1)[1].split(". To finish", 1)[0]
    assert "`softmax` seeds 1;" in missing
    assert "`mlp_relu_dropout` seeds 1,2" in missing and "`fashion_cnn` seeds 0,1,2" in missing
    # resuming skips what is cached: a rerun of the same seeds trains nothing
    monkeypatch.setattr(ct, "run_seed", lambda *a, **k: pytest.fail("retrained a cached seed"))
    args = ["--rows", ",".join(ROWS), "--seeds", "0", "--cache", str(cache_path), "--doc", str(doc)]
    assert ct.main(args) == 0


def test_summarize_against_numpy() -> None:
    runs = {
        str(s): {"accuracy": a, "wall_s": 10.0 * s, "loadavg_1min": 1.0}
        for s, a in enumerate((97.5, 98.25, 97.0))
    }
    s = ct.summarize(runs)
    acc = np.array([97.5, 98.25, 97.0])
    assert s["mean"] == pytest.approx(acc.mean())
    assert s["std"] == pytest.approx(acc.std(ddof=1))
    assert (s["min"], s["max"]) == (97.0, 98.25)
    assert s["wall_mean_s"] == pytest.approx(10.0)


def test_unknown_row_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as err:
        ct.main(
            ["--rows", "nope", "--cache", str(tmp_path / "c.json"), "--doc", str(tmp_path / "d.md")]
        )
    assert err.value.code == 2


def test_lamina_rmsprop_is_keras1s_rule() -> None:
    """COURSE.md's finding rests on this: Lamina's RMSprop divides by sqrt(v) + epsilon (Keras 1)."""
    import lamina

    opt = ct.keras1_rmsprop(lamina)
    start = np.array([1.0, -2.0, 3e-4], "float32")
    var = lamina.Variable(start)
    velocity = np.zeros(3)
    expected = start.astype(np.float64)
    for g in (np.array([0.5, -1e-5, 2.0], "float32"), np.array([-0.25, 3e-6, 1.0], "float32")):
        opt.apply_gradients([(lamina.ops.convert_to_tensor(g), var)])
        velocity = 0.9 * velocity + 0.1 * g.astype(np.float64) ** 2
        expected = expected - 0.001 * g / (np.sqrt(velocity) + 1e-8)
    np.testing.assert_allclose(var.detach().numpy(), expected, rtol=1e-5, atol=1e-7)
