"""The examples run end to end with `--quick` (as subprocesses, like a user runs them), and
each printed result must clear a bound that a model which cannot learn misses (each test's
docstring gives the figure such a model, trained with learning rate 0, printed here)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run_example(name: str, *args: str, env: dict | None = None, timeout: int = 600) -> str:
    cmd = [sys.executable, str(ROOT / "examples" / name), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def _figure(pattern: str, out: str) -> float:
    match = re.search(pattern, out)
    assert match is not None, f"{pattern!r} not in:\n{out[-3000:]}"
    return float(match.group(1))


def _example_module(name: str) -> ModuleType:
    """The example imported as its script run sees it: with examples/ on the path (its
    shared helpers, such as `_mnist`, sit beside it)."""
    if str(ROOT / "examples") not in sys.path:
        sys.path.insert(0, str(ROOT / "examples"))
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- MNIST: the courses' CNN, with augmentation, on an expanded set, with checkpoints -----
def test_mnist_cnn_quick_learns_and_writes_its_report(tmp_path):
    """One epoch on 6,000 images, tested on all 10,000 test images: 92.5% here (94.6% on
    10,000); a model that cannot learn (--learning-rate 0 keeps the initial weights) scores
    10.2%."""
    curves, report = tmp_path / "curves.png", tmp_path / "report.html"
    out = _run_example("mnist_cnn.py", "--quick", "--curves", str(curves), "--report", str(report))
    assert "Training images: 6000; test images: 10000" in out
    assert _figure(r"Test accuracy: ([0-9.]+)%", out) >= 90.0, out[-3000:]
    assert curves.stat().st_size > 0
    assert report.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")


def test_mnist_cnn_augmented_quick_learns():
    """The CNN behind rotation, shift and zoom layers, one epoch on 6,000 images: 92.6%
    here on the (unaugmented) test set (95.8% on 10,000); with --learning-rate 0 it scores
    10.2%."""
    out = _run_example("mnist_cnn_augmented.py", "--quick")
    assert "Training images: 6000 (augmented afresh each epoch)" in out
    assert _figure(r"Test accuracy: ([0-9.]+)%", out) >= 90.0, out[-3000:]


def test_mnist_expanded_quick_writes_the_set_and_learns_from_it(tmp_path):
    """3,000 images and 2 transformed copies of each (9,000), one epoch: 94.6% here; with
    --learning-rate 0 it scores 10.2%."""
    out_file = tmp_path / "expanded.npz"
    out = _run_example("mnist_expanded.py", "--quick", "--out", str(out_file))
    assert f"Expanded dataset: {out_file} (written" in out
    assert "9000 images = 3000 x (1 + 2 copies)" in out
    assert _figure(r"Test accuracy: ([0-9.]+)%", out) >= 88.0, out[-3000:]
    with np.load(out_file, allow_pickle=False) as archive:
        assert archive["images"].shape == (9000, 28, 28) and archive["images"].dtype == np.uint8
        assert json.loads(str(archive["recipe"]))["copies"] == 2


def _centre_of_mass(images: np.ndarray) -> np.ndarray:
    """(N, 2) ink-weighted mean (row, column) of uint8 images."""
    ink = images.astype(np.float64)
    rows, cols = np.indices(images.shape[1:])
    mass = ink.sum(axis=(1, 2))
    return (
        np.stack([(ink * rows).sum(axis=(1, 2)), (ink * cols).sum(axis=(1, 2))], 1) / mass[:, None]
    )


def test_expanded_dataset_copies_are_small_moves_and_the_file_follows_its_recipe(tmp_path):
    """The copies against their originals (NumPy): the ink's centre moves by at most the
    shift plus what a 10-degree turn about the image centre gives, the ink mass stays within
    15%, and the copies are not the originals. The file is reused for the same recipe only."""
    example = _example_module("mnist_expanded")
    path = tmp_path / "expanded.npz"
    spec = example.recipe(train_images=40, copies=2, rotation=10.0, shift=2, seed=5)
    images, labels, reused = example.expanded_dataset(path, spec)
    assert not reused and images.shape == (120, 28, 28) and images.dtype == np.uint8
    from lamina.datasets import mnist

    (x_train, y_train), _ = mnist.load_data()
    np.testing.assert_array_equal(images[:40], x_train[:40])
    np.testing.assert_array_equal(labels, np.tile(y_train[:40], 3))
    originals = np.tile(x_train[:40], (2, 1, 1))
    copies = images[40:]
    moved = np.linalg.norm(_centre_of_mass(copies) - _centre_of_mass(originals), axis=1)
    offset = np.linalg.norm(_centre_of_mass(originals) - 13.5, axis=1)
    assert (moved <= 2 * np.sqrt(2) + offset * 2 * np.sin(np.radians(5)) + 0.3).all()
    ratio = copies.sum(axis=(1, 2)) / originals.sum(axis=(1, 2))
    assert (np.abs(ratio - 1) < 0.15).all(), ratio
    assert all((c != o).any() for c, o in zip(copies, originals))
    assert moved.max() > 0.5  # the draws do move the digits

    again, _, reused = example.expanded_dataset(path, spec)
    assert reused
    np.testing.assert_array_equal(again, images)
    other = dict(spec, seed=6)
    changed, _, reused = example.expanded_dataset(path, other)
    assert not reused and (changed[40:] != images[40:]).any()
    np.testing.assert_array_equal(changed[:40], images[:40])
    path.unlink()  # the same recipe made afresh gives the same file contents
    remade, _, reused = example.expanded_dataset(path, spec)
    assert not reused
    np.testing.assert_array_equal(remade, images)


def test_mnist_checkpoints_quick_reloads_the_best_model():
    """Seed 004's callbacks on 3,000 images for up to 3 epochs: the reloaded best model
    scores 93.5% on the test set here; with a learning rate of 0 (the initial weights) it
    scores 10.2% (tests/test_seed004_checkpoints.py checks the file holds the best epoch)."""
    out = _run_example("mnist_checkpoints.py", "--quick")
    assert _figure(r"reloaded_test_accuracy: ([0-9.]+)", out) >= 0.88, out[-3000:]
    assert 1 <= _figure(r"epochs_run: ([0-9]+)", out) <= 3


# -- a folder of photos and transfer learning ---------------------------------------------
def test_cats_vs_dogs_style_learns_from_a_demo_folder_with_a_cache(tmp_path):
    """The course's CNN, augmentation and validation split, trained from JPEG files: on the
    easy demo folder (tops vs sandals and sneakers as silhouettes; --quick: 600 images at
    48x48, 10 epochs) it must really learn. Chance is 0.5; seeds 1-8 ended at 0.925-0.967
    here, a model that cannot learn (--learning-rate 0) ends at 0.5."""
    env = {**os.environ, "LAMINA_HOME": str(tmp_path / "home")}
    out = _run_example(
        "cats_vs_dogs_style.py", "--quick", "--make-demo-folder", str(tmp_path / "photos"), env=env
    )
    assert "480 training, 120 validation images" in out
    acc = _figure(r"validation accuracy ([0-9.]+) after 10 epochs", out)
    assert acc >= 0.85, out[-3000:]
    # both subsets were decoded once into the memory-mapped cache
    cached = sorted((tmp_path / "home" / "cache" / "images").glob("*.u8"))
    assert len(cached) == 2 and all(f.stat().st_size > 0 for f in cached)


def test_transfer_learning_example_at_a_tiny_scale(tmp_path):
    """examples/transfer_learning.py --quick: 10 images per class at 32x32 and one epoch for
    the from-scratch and fine-tuning runs (the README reports the full run). The frozen
    ImageNet features must beat chance (0.1) clearly: 0.64 here, while a head that cannot
    learn (--learning-rate 0) scored 0.06. The features are cached on disk."""
    out = _run_example("transfer_learning.py", "--quick", "--cache-dir", str(tmp_path))
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


# -- sequences: the chirp, sunspots and spam examples -------------------------------------
def test_chirp_lstm_beats_the_last_value():
    """--quick: half the signal and a quarter of the epochs of the README's run (LSTM 0.063
    against 0.203 there): the LSTM must still beat the naive last value clearly (0.106 here;
    with --learning-rate 0 it scores 0.66 and fails)."""
    out = _run_example("chirp_rnn.py", "--quick")
    assert "Chirp: 2000 samples" in out
    lstm = _figure(r"Test RMSE LSTM: ([0-9.]+)", out)
    naive = _figure(r"Test RMSE naive last value: ([0-9.]+)", out)
    assert 0.15 < naive < 0.25, out  # the chirp itself: steps of about sin(pi f)
    assert lstm < 0.75 * naive, out


def test_sunspots_gru_beats_the_seasonal_naive_forecast():
    """--quick: a third of the README's epochs (GRU 16.5 there): the GRU must beat the
    seasonal-naive forecast (37.4) and the last value (33.2) on the held-out years 1950-2008
    (17.7 here; --learning-rate 0 scores 101.7)."""
    pytest.importorskip("statsmodels")
    out = _run_example("sunspots_forecast.py", "--quick")
    assert "tested on 59 held-out years (1950-2008)" in out
    assert "for 50 epochs" in out
    gru = _figure(r"Test RMSE GRU: ([0-9.]+)", out)
    seasonal = _figure(r"Test RMSE seasonal naive \(11 years before\): ([0-9.]+)", out)
    last = _figure(r"Test RMSE last value: ([0-9.]+)", out)
    assert seasonal == pytest.approx(37.42, abs=0.01) and last == pytest.approx(33.18, abs=0.01)
    assert gru < 0.75 * seasonal and gru < last, out


def test_spam_models_classify_held_out_mail():
    """--quick: half the sequence length and 4 of the README's 8 epochs (there:
    Bidirectional LSTM 99.2%, Conv1D 99.5%): both models stay >= 95% on the held-out 1,210
    e-mails (70.2% is ham; at 3 epochs the LSTM gave 98.0% in one run and 95.5% in another,
    as the recurrent kernels' thread plan is chosen by timing), and the model on raw strings
    agrees exactly."""
    from lamina.datasets import spam_assassin

    if not (spam_assassin.data_dir() / spam_assassin.FILE_LIST).is_file():
        pytest.skip("the SpamAssassin corpus is not in the cache (run `make datasets`)")
    out = _run_example("spam_classification.py", "--quick")
    assert "for 4 epochs" in out
    for name in ("bidirectional_lstm", "conv1d"):
        accuracy = _figure(name + r": test accuracy ([0-9.]+)%", out) / 100
        auc = _figure(name + r": test accuracy [0-9.]+%, ROC AUC ([0-9.]+)", out)
        assert accuracy >= 0.95 and auc >= 0.99, out
    assert _figure(r"largest difference from above ([0-9.e+-]+)", out) < 1e-5


def test_spam_example_numpy_auc_matches_sklearn():
    """The example's NumPy ROC AUC (used without scikit-learn) against scikit-learn's."""
    metrics = pytest.importorskip("sklearn.metrics")
    module = _example_module("spam_classification")
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 500)
    scores = np.round(labels * 0.3 + rng.random(500), 1)  # many ties
    assert module.numpy_roc_auc(labels, scores) == pytest.approx(
        metrics.roc_auc_score(labels, scores), abs=1e-12
    )
    assert module.numpy_roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])) == 0.75
    with pytest.raises(ValueError, match="both classes"):
        module.numpy_roc_auc(np.ones(3), np.arange(3.0))


# -- the classic symmetric networks: Hopfield and the RBM ---------------------------------
def test_hopfield_capacity_quick_recalls_below_the_limit_and_fails_above(tmp_path):
    """N = 100, 4 networks per load, 10% noise: every pattern came back at 0.05 N here and
    about 1% at 0.3 N (mean overlap 0.53); of six noisy 10x10 letters (correlated, 0.06 N),
    Hebb's rule recalled 2 and Storkey's 6. A network that stores nothing recalls nothing."""
    plot = tmp_path / "hopfield.png"
    out = _run_example("hopfield_capacity.py", "--quick", "--plot", str(plot))
    assert "Capacity: N = 100, 4 networks per load, 10% of each probe flipped" in out
    assert _figure(r"Load 0\.050 \(5 patterns\): exact recall ([0-9.]+)", out) >= 0.9, out
    assert _figure(r"Load 0\.050 \(5 patterns\): .*, overlap ([0-9.]+)", out) >= 0.98, out
    assert _figure(r"Load 0\.138 \(14 patterns\): .*, overlap ([0-9.]+)", out) >= 0.8, out
    assert _figure(r"Load 0\.300 \(30 patterns\): exact recall ([0-9.]+)", out) <= 0.2, out
    assert _figure(r"Load 0\.300 \(30 patterns\): .*, overlap ([0-9.]+)", out) <= 0.8, out
    hebbian = _figure(r"Hebbian recalled ([0-9]+)/6", out)
    assert _figure(r"Storkey ([0-9]+)/6", out) >= max(5, hebbian + 1), out
    assert plot.stat().st_size > 0


def test_rbm_mnist_quick_reconstructs_better_than_the_pixel_means(tmp_path):
    """CD-1, 100 hidden units, one epoch on 5,000 binarised images: test reconstruction
    error 0.053-0.055 here (seeds 0-2), against 0.0863 for each pixel's training mean and
    0.25 for the untrained RBM; with --learning-rate 0 (the visible biases still start at the
    data's marginals) it prints 0.0863, the pixel-mean figure."""
    plot = tmp_path / "rbm.png"
    out = _run_example("rbm_mnist.py", "--quick", "--plot", str(plot))
    assert "Training images: 5000; test images: 10000" in out
    error = _figure(r"Test reconstruction error: ([0-9.]+)", out)
    untrained = _figure(r"Baselines: untrained RBM ([0-9.]+)", out)
    pixel_means = _figure(r"each pixel's training mean ([0-9.]+)", out)
    assert 0.08 < pixel_means < 0.095 and untrained > 0.2, out
    assert error < 0.85 * pixel_means, out
    assert _figure(r"Test pseudo-log-likelihood: (-[0-9.]+)", out) > -784 * np.log(2)
    assert plot.stat().st_size > 0


@pytest.mark.parametrize(
    "name",
    [
        "mnist_cnn",
        "mnist_cnn_augmented",
        "mnist_expanded",
        "mnist_checkpoints",
        "cats_vs_dogs_style",
        "transfer_learning",
        "chirp_rnn",
        "sunspots_forecast",
        "spam_classification",
        "hopfield_capacity",
        "rbm_mnist",
    ],
)
def test_example_quick_is_one_switch_and_full_sizes_stay(name):
    """`--quick` only changes defaults: it picks other sizes than the full run, and an
    explicit flag wins over both (parsed in-process, nothing trains). The Hopfield example
    trains nothing: its --trials (networks per load) stands in for --epochs."""
    flag = {"hopfield_capacity": "trials"}.get(name, "epochs")
    module = _example_module(name)

    def parsed(*argv: str) -> dict:
        args = module.parse_args(list(argv))
        return vars(args[0] if isinstance(args, tuple) else args)

    full, quick = parsed(), parsed("--quick")
    assert quick.pop("quick") and not full.pop("quick")
    assert quick != full
    option = "--" + flag.replace("_", "-")
    assert parsed("--quick", option, "7")[flag] == parsed(option, "7")[flag] == 7
