"""A tiny CNN trained for 2 epochs on generated stripes, and its report: what the tests read."""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import numpy as np
import pytest

import lamina
from lamina import layers
from tests.reporting.report_html import parse


def stripes(n: int, size: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Noisy images of a horizontal bar (class 0), a vertical bar (1) or a diagonal (2)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.normal(0.0, 0.3, (n, size, size, 1)).astype("float32")
    mid = slice(size // 2 - 1, size // 2 + 1)
    for i, label in enumerate(y):
        if label == 0:
            x[i, mid, :, 0] += 1.0
        elif label == 1:
            x[i, :, mid, 0] += 1.0
        else:
            x[i, np.arange(size), np.arange(size), 0] += 1.0
    return x, y


def tiny_cnn(size: int = 16) -> lamina.Sequential:
    return lamina.Sequential(
        [
            layers.Conv2D(4, 3, activation="relu", input_shape=(size, size, 1)),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(3, activation="softmax"),
        ]
    )


def fit_accepts_diagnose() -> bool:
    return "diagnose" in inspect.signature(lamina.Model.fit).parameters


@pytest.fixture(scope="session")
def trained() -> SimpleNamespace:
    """The CNN after 2 epochs (with diagnose=True when fit has it), and its data."""
    lamina.utils.set_random_seed(0)
    x, y = stripes(300)
    model = tiny_cnn()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    extra = {"diagnose": True} if fit_accepts_diagnose() else {}
    history = model.fit(x, y, epochs=2, batch_size=32, validation_split=0.2, verbose=0, **extra)
    return SimpleNamespace(model=model, history=history, x=x, y=y)


@pytest.fixture(scope="session")
def written(trained, tmp_path_factory) -> SimpleNamespace:
    """The trained CNN's report, written once: its path, HTML and parsed sections."""
    out = tmp_path_factory.mktemp("report")
    path = lamina.report(
        trained.model, trained.history, data=(trained.x, trained.y), path=out / "report.html"
    )
    html = path.read_text(encoding="utf-8")
    return SimpleNamespace(path=path, folder=out, html=html, parsed=parse(html))
