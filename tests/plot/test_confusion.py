"""The confusion matrix equals scikit-learn's on the model's predictions (counts and each
normalization), for softmax and sigmoid models; and it looks like its reference image."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics

import lamina as keras
from lamina import layers
from lamina.plot import confusion_matrix
from tests.plot.image_compare import assert_matches_baseline


def _model(classes: int = 4, activation: str = "softmax") -> keras.Sequential:
    model = keras.Sequential([keras.Input((8,)), layers.Dense(classes, activation=activation)])
    rng = np.random.RandomState(5)
    model.layers[0].set_weights(
        [rng.normal(0, 1, (8, classes)).astype("float32"), np.zeros(classes, "float32")]
    )
    return model


def _data(n: int = 80, classes: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(6)
    return rng.normal(0, 1, (n, 8)).astype("float32"), rng.randint(0, classes, n)


@pytest.mark.parametrize("normalize", [None, "true", "pred", "all"])
def test_matrix_equals_sklearn(normalize):
    x, y = _data()
    model = _model()
    fig = confusion_matrix(model, x, y, normalize=normalize)
    predicted = model.predict(x, verbose=0).argmax(axis=1)
    expected = metrics.confusion_matrix(y, predicted, labels=range(4), normalize=normalize)
    np.testing.assert_allclose(fig.lamina_data["matrix"], expected, rtol=1e-12)
    assert fig.lamina_data["labels"] == ["0", "1", "2", "3"]
    # each cell's number is written on the picture
    cells = [t.get_text() for t in fig.axes[0].texts]
    written = [f"{v:.2f}" if normalize else str(int(v)) for v in np.ravel(expected)]
    assert cells == written


def test_an_absent_class_leaves_a_zero_row_as_sklearn_does():
    x, y = _data()
    model = _model()
    y = np.where(y == 2, 1, y)  # no sample of class 2
    fig = confusion_matrix(model, x, np.eye(4)[y], normalize="true")  # one-hot labels
    predicted = model.predict(x, verbose=0).argmax(axis=1)
    expected = metrics.confusion_matrix(y, predicted, labels=range(4), normalize="true")
    np.testing.assert_allclose(fig.lamina_data["matrix"], expected)
    assert not fig.lamina_data["matrix"][2].any()


def test_binary_sigmoid_model_is_two_by_two():
    x, y = _data(classes=2)
    model = _model(classes=1, activation="sigmoid")
    fig = confusion_matrix(model, x, y, class_names=["no", "yes"])
    predicted = (model.predict(x, verbose=0)[:, 0] >= 0.5).astype(int)
    np.testing.assert_array_equal(fig.lamina_data["matrix"], metrics.confusion_matrix(y, predicted))
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks == ["no", "yes"] == fig.lamina_data["labels"]


def test_errors():
    x, y = _data()
    model = _model()
    with pytest.raises(ValueError, match="Expected normalize None, 'true', 'pred' or 'all'"):
        confusion_matrix(model, x, y, normalize="rows")
    with pytest.raises(ValueError, match=r"same number of samples.*len\(x\)=80, len\(y\)=10"):
        confusion_matrix(model, x, y[:10])
    with pytest.raises(ValueError, match=r"Expected a name for every class.*class_names\[2\]"):
        confusion_matrix(model, x, y, class_names=["a", "b"])
    with pytest.raises(ValueError, match="Expected y as non-negative integer class labels"):
        confusion_matrix(model, x, y + 0.5)


@pytest.mark.parametrize(
    "name, options",
    [
        ("confusion_counts", {"class_names": ["cat", "dog", "bird", "fish"]}),
        ("confusion_normalized", {"normalize": "true"}),
    ],
)
def test_matches_reference_image(tmp_path, name, options):
    x, y = _data()
    assert_matches_baseline(confusion_matrix(_model(), x, y, **options), name, tmp_path)
