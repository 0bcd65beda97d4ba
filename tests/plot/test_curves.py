"""Learning curves: every series drawn as recorded, the best epoch where NumPy's argmin
(loss-like) or argmax (accuracy-like) puts it, on the validation series when there is one;
plot_history still works for existing callers; and the picture matches its reference."""

from __future__ import annotations

import numpy as np
import pytest

from lamina.callbacks import History
from lamina.plot import history, plot_history
from lamina.plot.curves import best_direction
from tests.plot.image_compare import assert_matches_baseline

LOGS = {
    "loss": [1.20, 0.80, 0.60, 0.50, 0.45, 0.42],
    "accuracy": [0.55, 0.70, 0.78, 0.82, 0.85, 0.87],
    "val_loss": [1.10, 0.85, 0.70, 0.72, 0.80, 0.90],
    "val_accuracy": [0.58, 0.69, 0.75, 0.77, 0.76, 0.74],
    "learning_rate": [0.01, 0.01, 0.01, 0.005, 0.005, 0.005],
}


def _panel(fig, key: str):
    return next(ax for ax in fig.axes if ax.get_ylabel() == key)


def test_series_and_best_epochs_follow_numpy():
    h = History()
    h.history = {k: list(v) for k, v in LOGS.items()}
    fig = history(h)
    data = fig.lamina_data
    assert data["epochs"] == [1, 2, 3, 4, 5, 6]
    assert data["series"] == LOGS
    assert data["best_epoch"] == {
        "loss": int(np.argmin(LOGS["val_loss"])) + 1,
        "accuracy": int(np.argmax(LOGS["val_accuracy"])) + 1,
    }  # the learning rate has no better direction: no marker
    for key in ("loss", "accuracy"):
        ax = _panel(fig, key)
        train, val = ax.lines[0], ax.lines[1]
        np.testing.assert_array_equal(train.get_ydata(), LOGS[key])
        np.testing.assert_array_equal(val.get_ydata(), LOGS[f"val_{key}"])
        np.testing.assert_array_equal(train.get_xdata(), data["epochs"])
        marker = next(line for line in ax.lines if line.get_marker() == "*")
        epoch = data["best_epoch"][key]
        assert list(marker.get_xdata()) == [epoch]
        assert list(marker.get_ydata()) == [LOGS[f"val_{key}"][epoch - 1]]
    assert not any(line.get_marker() == "*" for line in _panel(fig, "learning_rate").lines)


def test_without_validation_the_training_series_decides():
    rng = np.random.RandomState(0)
    logs = {"loss": list(rng.rand(9)), "mae": list(rng.rand(9)), "auc": list(rng.rand(9))}
    logs["loss"][4] = float("nan")
    best = history(logs).lamina_data["best_epoch"]
    assert best == {
        "loss": int(np.nanargmin(logs["loss"])) + 1,
        "mae": int(np.argmin(logs["mae"])) + 1,
        "auc": int(np.argmax(logs["auc"])) + 1,
    }


@pytest.mark.parametrize(
    "key, direction",
    [
        ("loss", "min"),
        ("val_loss", "min"),
        ("digit_loss", "min"),
        ("mean_absolute_error", "min"),
        ("categorical_crossentropy", "min"),
        ("mse", "min"),
        ("accuracy", "max"),
        ("val_sparse_categorical_accuracy", "max"),
        ("top_k_categorical_accuracy", "max"),
        ("acc", "max"),
        ("auc", "max"),
        ("precision", "max"),
        ("recall_1", "max"),
        ("learning_rate", None),
        ("lr", None),
    ],
)
def test_direction_of_each_name(key, direction):
    assert best_direction(key) == direction


def test_plot_history_alias_keeps_its_signature(tmp_path):
    path = tmp_path / "sub" / "curves.png"
    fig = plot_history({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}, path, title="run")
    assert plot_history is history
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert fig._suptitle.get_text() == "run"
    assert fig.lamina_data["best_epoch"] == {"loss": 2}


def test_errors():
    with pytest.raises(ValueError, match="Expected a History .* received: dict \\(empty\\)"):
        history({})
    with pytest.raises(ValueError, match="Expected a History .* received: int"):
        history(3)
    with pytest.raises(ValueError, match="Expected per-epoch lists of numbers.*loss="):
        history({"loss": ["a", "b"]})


def test_matches_reference_image(tmp_path):
    fig = history(LOGS, title="6 epochs")
    assert_matches_baseline(fig, "curves", tmp_path)


def test_pyplot_keeps_a_backend_chosen_by_the_host():
    """Jupyter's kernel sets MPLBACKEND to its inline backend: plots must not switch it to Agg
    (else nothing shows in a notebook); with no choice made, plots draw off screen on Agg."""
    import subprocess
    import sys

    probe = (
        "import matplotlib, lamina.plot.figure as f; f.pyplot(); "
        "print(matplotlib.get_backend().lower())"
    )
    env_inline = {"MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    import os

    base = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    chosen = subprocess.run(
        [sys.executable, "-c", probe], env={**base, **env_inline}, capture_output=True, text=True
    )
    default = subprocess.run(
        [sys.executable, "-c", probe], env=base, capture_output=True, text=True
    )
    assert default.stdout.strip() == "agg", default.stderr[-2000:]
    assert chosen.stdout.strip() != "agg", chosen.stderr[-2000:]
