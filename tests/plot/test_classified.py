"""`classify` against NumPy on `predict`, and `reusing_classifications`: inside the block the
same model, x, y and batch size run `predict` once; anything else runs it again."""

from __future__ import annotations

import numpy as np

import lamina
from lamina import layers
from lamina.plot.classified import classify, reusing_classifications


def _model() -> lamina.Sequential:
    lamina.utils.set_random_seed(0)
    return lamina.Sequential([lamina.Input((5,)), layers.Dense(4, activation="softmax")])


def _counting(model, monkeypatch) -> list[int]:
    calls: list[int] = []
    original = model.predict

    def predict(x, *args, **kwargs):
        calls.append(len(x))
        return original(x, *args, **kwargs)

    monkeypatch.setattr(model, "predict", predict)
    return calls


def test_classify_matches_numpy_on_predict():
    model = _model()
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(40, 5)).astype("float32"), rng.integers(0, 4, 40)
    probs = model.predict(x, verbose=0)
    got = classify(model, x, y, batch_size=16)
    np.testing.assert_array_equal(got.true, y)
    np.testing.assert_array_equal(got.predicted, probs.argmax(axis=1))
    np.testing.assert_allclose(got.confidence, probs.max(axis=1), rtol=1e-6)
    assert got.classes == 4


def test_one_prediction_per_block_for_the_same_objects(monkeypatch):
    model = _model()
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(30, 5)).astype("float32"), rng.integers(0, 4, 30)
    calls = _counting(model, monkeypatch)
    with reusing_classifications():
        first = classify(model, x, y, batch_size=8)
        again = classify(model, x, y, batch_size=8)
        assert again is first and calls == [30]
        classify(model, x[:10], y[:10], batch_size=8)  # other arrays: predicted again
        classify(model, x, y, batch_size=4)  # another batch size: predicted again
        assert calls == [30, 10, 30]
    # outside the block nothing is kept: a model trained between two calls is asked again
    classify(model, x, y, batch_size=8)
    classify(model, x, y, batch_size=8)
    assert calls == [30, 10, 30, 30, 30]
