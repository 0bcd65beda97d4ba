"""Arithmetic on symbolic tensors in a functional model (`h + 3`, `2 - h`, `h * j`, `-h`),
against Keras 3 running the same code with the same weights, and through saving: Lamina
builds layers (merge layers, Rescaling), so the model saves as any other and Keras 3 loads
its .keras file."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

import lamina  # noqa: E402
from lamina import layers  # noqa: E402


def _arithmetic_model(m):
    """The same functional code for Keras and Lamina (`m` is the module)."""
    i = m.Input((3,), name="a")
    j = m.Input((3,), name="b")
    h = m.layers.Dense(3, name="dense")(i)
    outs = [
        h + 3,
        3 + h,
        h - 2,
        2.5 - h,
        h * 4,
        4 * h,
        h / 2,
        -h,
        h + j,
        h - j,
        h * j,
        (h + 1) * 0.5,
    ]
    return m.Model([i, j], outs)


def _inputs() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.standard_normal((4, 3)).astype("float32") for _ in range(2)]


def test_arithmetic_matches_keras_with_the_same_weights() -> None:
    ours, theirs = _arithmetic_model(lamina), _arithmetic_model(keras)
    theirs.get_layer("dense").set_weights(ours.get_layer("dense").get_weights())
    got = ours.predict(_inputs(), verbose=0)
    want = theirs.predict(_inputs(), verbose=0)
    assert len(got) == len(want) == 12
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, np.asarray(w), rtol=1e-6, atol=1e-6)


def test_arithmetic_models_save_and_keras_loads_them(tmp_path) -> None:
    model = _arithmetic_model(lamina)
    want = model.predict(_inputs(), verbose=0)
    for suffix in (".lamina", ".keras", ".h5"):
        model.save(tmp_path / f"m{suffix}")
        again = lamina.models.load_model(tmp_path / f"m{suffix}")
        for g, w in zip(again.predict(_inputs(), verbose=0), want):
            np.testing.assert_array_equal(g, w)
    keras_model = keras.models.load_model(tmp_path / "m.keras")
    for g, w in zip(keras_model.predict(_inputs(), verbose=0), want):
        np.testing.assert_allclose(np.asarray(g), w, rtol=1e-6, atol=1e-6)


def test_numpy_numbers_on_either_side() -> None:
    i = lamina.Input((2,))
    model = lamina.Model(i, [np.float32(2) * i, i - np.float64(0.5), np.int64(3) + i])
    x = np.array([[1.0, -2.0]], "float32")
    for got, want in zip(model.predict(x, verbose=0), [2 * x, x - 0.5, 3 + x]):
        np.testing.assert_allclose(got, want)


def test_arithmetic_trains_through_the_graph() -> None:
    i = lamina.Input((3,))
    h = layers.Dense(1)(i)
    model = lamina.Model(i, 2.0 - h * 3)
    model.compile(lamina.optimizers.SGD(0.05), "mse")
    x = np.random.default_rng(1).standard_normal((64, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], "float32")
    losses = model.fit(x, y, epochs=30, batch_size=16, verbose=0).history["loss"]
    assert losses[-1] < 0.01 * losses[0]


@pytest.mark.parametrize(
    ("make", "error", "words"),
    [
        (lambda h, j: h / j, TypeError, "Expected a number on the right of '/'"),
        (lambda h, j: h + "3", TypeError, "received: str"),
        (lambda h, j: h * np.ones(3), TypeError, "received: ndarray"),
        (lambda h, j: h / 0, ZeroDivisionError, "non-zero divisor"),
    ],
)
def test_unsupported_arithmetic_says_what_is_expected(make, error, words) -> None:
    h = layers.Dense(3)(lamina.Input((3,)))
    with pytest.raises(error, match="Expected") as info:
        make(h, lamina.Input((3,)))
    assert words in str(info.value)


def test_a_number_with_integer_tensors_is_refused() -> None:
    ids = lamina.Input((4,), dtype="int32")
    with pytest.raises(TypeError, match="Expected a float symbolic tensor") as info:
        ids + 1
    assert "dtype='int32'" in str(info.value)


def test_a_keras_file_with_operation_nodes_loads_and_predicts_as_keras(tmp_path) -> None:
    """Keras 3 saves `h + 3` as an operation node (keras.src.ops.numpy.Add); Lamina replays
    each as a layer named after the node."""
    theirs = _arithmetic_model(keras)
    theirs.save(tmp_path / "keras_ops.keras")
    ours = lamina.models.load_model(tmp_path / "keras_ops.keras")
    for g, w in zip(ours.predict(_inputs(), verbose=0), theirs.predict(_inputs(), verbose=0)):
        np.testing.assert_allclose(g, np.asarray(w), rtol=1e-6, atol=1e-6)
    operations = {
        e["name"]: e["class_name"]
        for e in theirs.get_config()["layers"]
        if e["module"].startswith("keras.src.ops")
    }
    assert len(operations) == 13  # (h + 1) * 0.5 is two
    kinds = {layer.name: type(layer).__name__ for layer in ours.layers}
    for name, op in operations.items():  # each node became a layer under its own name
        assert kinds[name] in ("Rescaling", op), (name, op, kinds.get(name))


def test_an_operation_lamina_does_not_rebuild_is_named(tmp_path) -> None:
    i = keras.Input((3,))
    theirs = keras.Model(i, keras.ops.mean(keras.layers.Dense(2)(i), axis=-1))
    theirs.save(tmp_path / "mean.keras")
    with pytest.raises(ValueError, match="Expected a functional model's output_layers") as info:
        lamina.models.load_model(tmp_path / "mean.keras")
    assert "mean (Mean)" in str(info.value) and "Subtract" in str(info.value)
