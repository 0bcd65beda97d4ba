"""The mistakes grid shows exactly the samples the model gets wrong (or right), checked
against NumPy on model.predict, for softmax and sigmoid models, integer and one-hot labels,
and every accepted image layout; and it looks like its reference image."""

from __future__ import annotations

import numpy as np
import pytest

import lamina as keras
from lamina import layers
from lamina.plot import predictions
from tests.plot.image_compare import assert_matches_baseline


def _softmax_model(shape: tuple, classes: int = 3, seed: int = 1) -> keras.Sequential:
    model = keras.Sequential(
        [keras.Input(shape), layers.Flatten(), layers.Dense(classes, activation="softmax")]
    )
    rng = np.random.RandomState(seed)
    inputs = int(np.prod(shape))
    model.layers[-1].set_weights(
        [rng.normal(0, 1.5, (inputs, classes)).astype("float32"), np.zeros(classes, "float32")]
    )
    return model


def _data(shape: tuple, n: int = 60, classes: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(0)
    return rng.rand(n, *shape).astype("float32"), rng.randint(0, classes, n)


def _expected(model, x, y, correct: bool, n: int):
    probs = model.predict(x, verbose=0)
    predicted = probs.argmax(axis=1)
    chosen = np.flatnonzero((predicted == y) == correct)[:n]
    return chosen, predicted[chosen], probs.max(axis=1)[chosen]


@pytest.mark.parametrize("correct", [False, True])
def test_grid_shows_exactly_the_misclassified_or_correct_samples(correct):
    x, y = _data((6, 6, 1))
    model = _softmax_model((6, 6, 1))
    fig = predictions(model, x, y, correct=correct, n=12)
    chosen, predicted, confidence = _expected(model, x, y, correct, 12)
    data = fig.lamina_data
    assert 0 < len(chosen) <= 12
    np.testing.assert_array_equal(data["indices"], chosen)
    np.testing.assert_array_equal(data["true"], y[chosen])
    np.testing.assert_array_equal(data["predicted"], predicted)
    np.testing.assert_allclose(data["confidence"], confidence, rtol=1e-5)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == len(chosen)
    for ax, i, p, c in zip(shown, chosen, predicted, confidence):
        np.testing.assert_array_equal(ax.images[0].get_array(), x[i, :, :, 0])
        assert ax.get_title() == f"true {y[i]}\npred {p} ({c:.0%})"


def test_one_hot_labels_give_the_same_grid_as_integer_labels():
    x, y = _data((6, 6, 1))
    model = _softmax_model((6, 6, 1))
    by_int = predictions(model, x, y).lamina_data
    by_one_hot = predictions(model, x, np.eye(3)[y]).lamina_data
    for key in by_int:
        np.testing.assert_array_equal(by_int[key], by_one_hot[key])


def test_binary_sigmoid_model_thresholds_at_one_half():
    x, _ = _data((4, 4))
    model = keras.Sequential([keras.Input((4, 4)), layers.Flatten(), layers.Dense(1, "sigmoid")])
    rng = np.random.RandomState(3)
    model.layers[-1].set_weights([rng.normal(0, 1, (16, 1)).astype("float32"), np.zeros(1, "f4")])
    y = rng.randint(0, 2, len(x))
    fig = predictions(model, x, y, n=100)
    p = model.predict(x, verbose=0)[:, 0]
    predicted = (p >= 0.5).astype(int)
    wrong = np.flatnonzero(predicted != y)
    np.testing.assert_array_equal(fig.lamina_data["indices"], wrong)
    np.testing.assert_array_equal(fig.lamina_data["predicted"], predicted[wrong])
    confidence = np.where(predicted == 1, p, 1 - p)[wrong]
    np.testing.assert_allclose(fig.lamina_data["confidence"], confidence, rtol=1e-5)


def test_logits_become_probabilities():
    x, y = _data((3, 3))
    model = keras.Sequential([keras.Input((3, 3)), layers.Flatten(), layers.Dense(4)])
    logits = model.predict(x, verbose=0)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    data = predictions(model, x, y % 4, n=100).lamina_data
    np.testing.assert_allclose(data["confidence"], probs.max(axis=1)[data["indices"]], rtol=1e-5)


@pytest.mark.parametrize(
    "shape, drawn",
    [((5, 5), (5, 5)), ((25,), (5, 5)), ((5, 5, 1), (5, 5)), ((5, 5, 3), (5, 5, 3))],
)
def test_image_layouts(shape, drawn):
    x, y = _data(shape)
    model = _softmax_model(shape)
    fig = predictions(model, x, y, n=4)
    first = fig.lamina_data["indices"][0]
    image = np.asarray([ax for ax in fig.axes if ax.images][0].images[0].get_array())
    assert image.shape == drawn
    if len(drawn) == 2:  # grayscale: the sample itself
        np.testing.assert_array_equal(image, x[first].reshape(drawn))


def test_class_names_title_the_images(tmp_path):
    x, y = _data((6, 6, 1))
    model = _softmax_model((6, 6, 1))
    names = ["cat", "dog", "bird"]
    fig = predictions(model, x, y, n=9, class_names=names, path=tmp_path / "m.png")
    data = fig.lamina_data
    titles = [ax.get_title() for ax in fig.axes if ax.images]
    for title, t, p in zip(titles, data["true"], data["predicted"]):
        assert title.startswith(f"true {names[t]}\npred {names[p]} (")
    assert (tmp_path / "m.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_errors():
    x, y = _data((6, 6, 1))
    model = _softmax_model((6, 6, 1))
    with pytest.raises(ValueError, match=r"Expected x and y with the same number.*len\(y\)=59"):
        predictions(model, x, y[:-1])
    perfect = model.predict(x, verbose=0).argmax(axis=1)
    with pytest.raises(ValueError, match="Expected at least one misclassified sample.*100.0%"):
        predictions(model, x, perfect)
    with pytest.raises(ValueError, match="Expected labels below the model's 3 classes"):
        predictions(model, x, y + 3)
    with pytest.raises(ValueError, match="Expected n as a positive integer"):
        predictions(model, x, y, n=0)
    inp = keras.Input((6, 6, 1))
    two = keras.Model(inp, [layers.Dense(3)(layers.Flatten()(inp)), layers.Flatten()(inp)])
    with pytest.raises(ValueError, match="Expected a classifier with one output.*2 outputs"):
        predictions(two, x, y)
    flat = _softmax_model((7,))
    with pytest.raises(ValueError, match=r"Expected images shaped .*x.shape=\(60, 7\)"):
        predictions(flat, x.reshape(60, -1)[:, :7], y)


def test_matches_reference_image(tmp_path):
    x, y = _data((6, 6, 1))
    model = _softmax_model((6, 6, 1))
    fig = predictions(model, x, y, n=9, class_names=["cat", "dog", "bird"])
    assert_matches_baseline(fig, "mistakes_grid", tmp_path)
