"""The examples run end to end on small inputs (as subprocesses, like a user runs them)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run_folder_example(tmp_path: Path, *extra: str) -> str:
    env = {**os.environ, "LAMINA_HOME": str(tmp_path / "home")}
    cmd = [sys.executable, str(ROOT / "examples" / "cats_vs_dogs_style.py")]
    cmd += ["--make-demo-folder", str(tmp_path / "photos"), "--easy-demo", "--images", "600"]
    cmd += ["--epochs", "10", "--size", "48", "--batch-size", "16", *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_cats_vs_dogs_style_learns_from_a_demo_folder_with_a_cache(tmp_path):
    """The course's CNN, augmentation and validation split, trained from JPEG files: on the
    easy demo folder (tops vs sandals and sneakers as silhouettes) it must really learn.
    Chance is 0.5; seeds 1-8 ended at 0.925-0.967 here, a model that cannot learn
    (--learning-rate 0) ends at 0.5."""
    out = _run_folder_example(tmp_path)
    assert "480 training, 120 validation images" in out
    acc = float(re.search(r"validation accuracy ([0-9.]+) after 10 epochs", out).group(1))
    assert acc >= 0.85, out[-3000:]
    # both subsets were decoded once into the memory-mapped cache
    cached = sorted((tmp_path / "home" / "cache" / "images").glob("*.u8"))
    assert len(cached) == 2 and all(f.stat().st_size > 0 for f in cached)


# -- sequences: the chirp, sunspots and spam examples -------------------------------------
def _run_example(name: str, *args: str, timeout: int = 600) -> str:
    cmd = [sys.executable, str(ROOT / "examples" / name), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def _figure(pattern: str, out: str) -> float:
    match = re.search(pattern, out)
    assert match is not None, f"{pattern!r} not in:\n{out[-3000:]}"
    return float(match.group(1))


def test_chirp_lstm_beats_the_last_value():
    """Half the signal and a quarter of the epochs of the README's run (LSTM 0.063 against
    0.203 there): the LSTM must still beat the naive last value clearly (0.106 here; with
    --learning-rate 0 it scores 0.66 and fails)."""
    out = _run_example("chirp_rnn.py", "--samples", "2000", "--epochs", "10")
    lstm = _figure(r"Test RMSE LSTM: ([0-9.]+)", out)
    naive = _figure(r"Test RMSE naive last value: ([0-9.]+)", out)
    assert 0.15 < naive < 0.25, out  # the chirp itself: steps of about sin(pi f)
    assert lstm < 0.75 * naive, out


def test_sunspots_gru_beats_the_seasonal_naive_forecast():
    """A third of the README's epochs (GRU 16.5 there): the GRU must beat the seasonal-naive
    forecast (37.4) and the last value (33.2) on the held-out years 1950-2008 (17.7 here;
    --learning-rate 0 scores 101.7)."""
    pytest.importorskip("statsmodels")
    out = _run_example("sunspots_forecast.py", "--epochs", "50")
    assert "tested on 59 held-out years (1950-2008)" in out
    gru = _figure(r"Test RMSE GRU: ([0-9.]+)", out)
    seasonal = _figure(r"Test RMSE seasonal naive \(11 years before\): ([0-9.]+)", out)
    last = _figure(r"Test RMSE last value: ([0-9.]+)", out)
    assert seasonal == pytest.approx(37.42, abs=0.01) and last == pytest.approx(33.18, abs=0.01)
    assert gru < 0.75 * seasonal and gru < last, out


def test_spam_models_classify_held_out_mail():
    """Half the sequence length and 4 of the README's 8 epochs (there: Bidirectional LSTM
    99.2%, Conv1D 99.5%): both models stay >= 95% on the held-out 1,210 e-mails (70.2% is
    ham; at 3 epochs the LSTM gave 98.0% in one run and 95.5% in another, as the recurrent
    kernels' thread plan is chosen by timing), and the model on raw strings agrees exactly."""
    from lamina.datasets import spam_assassin

    if not (spam_assassin.data_dir() / spam_assassin.FILE_LIST).is_file():
        pytest.skip("the SpamAssassin corpus is not in the cache (run `make datasets`)")
    out = _run_example("spam_classification.py", "--epochs", "4", "--sequence-length", "150")
    for name in ("bidirectional_lstm", "conv1d"):
        accuracy = _figure(name + r": test accuracy ([0-9.]+)%", out) / 100
        auc = _figure(name + r": test accuracy [0-9.]+%, ROC AUC ([0-9.]+)", out)
        assert accuracy >= 0.95 and auc >= 0.99, out
    assert _figure(r"largest difference from above ([0-9.e+-]+)", out) < 1e-5


def test_spam_example_numpy_auc_matches_sklearn():
    """The example's NumPy ROC AUC (used without scikit-learn) against scikit-learn's."""
    metrics = pytest.importorskip("sklearn.metrics")
    spec = importlib.util.spec_from_file_location(
        "spam_example", ROOT / "examples" / "spam_classification.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 500)
    scores = np.round(labels * 0.3 + rng.random(500), 1)  # many ties
    assert module.numpy_roc_auc(labels, scores) == pytest.approx(
        metrics.roc_auc_score(labels, scores), abs=1e-12
    )
    assert module.numpy_roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])) == 0.75
    with pytest.raises(ValueError, match="both classes"):
        module.numpy_roc_auc(np.ones(3), np.arange(3.0))


def test_transfer_learning_example_at_a_tiny_scale(tmp_path):
    """examples/transfer_learning.py with 10 images per class at 32x32 and one epoch for the
    from-scratch and fine-tuning runs (the README reports the full run). The frozen ImageNet
    features must beat chance (0.1) clearly: 0.64 here, while a head that cannot learn
    (--learning-rate 0) scored 0.06. The features are cached on disk."""
    out = _run_example(
        "transfer_learning.py",
        *("--per-class", "10", "--test", "100", "--size", "32", "--head-epochs", "40"),
        *("--scratch-epochs", "1", "--fine-tune-epochs", "1", "--cache-dir", str(tmp_path)),
    )
    assert "100 training images (10 per class), 100 test images, as RGB 32x32" in out
    frozen = _figure(r"\(a\) frozen .*: test accuracy ([0-9.]+)", out)
    scratch = _figure(r"\(b\) same network from scratch.*: test accuracy ([0-9.]+)", out)
    tuned = _figure(r"\(c\) fine-tuned block7a_.*top_conv .*: test accuracy ([0-9.]+)", out)
    assert frozen >= 0.4 and tuned >= 0.4, out
    assert 0.0 <= scratch <= 1.0
    assert sorted(p.name for p in tmp_path.glob("*.npz")) == [
        "test-32px-100.npz",
        "train-32px-100.npz",
    ]
