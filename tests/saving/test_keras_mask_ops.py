"""Keras 3 records the masks of a functional model as operation nodes (`NotEqual` feeding
`mask=`); Lamina drops them and recomputes masks itself. Other operations are refused."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
import numpy as np
import pytest

import lamina
from lamina.saving import FileFormatError


def test_a_keras_masked_functional_model_loads_with_its_masks(tmp_path):
    inputs = keras.Input((6,), dtype="int32")
    x = keras.layers.Embedding(12, 4, mask_zero=True)(inputs)
    x = keras.layers.GlobalAveragePooling1D()(x)
    outputs = keras.layers.Dense(3)(x)
    model = keras.Model(inputs, outputs)
    config = model.get_config()
    assert any(e["class_name"] == "NotEqual" for e in config["layers"])  # what Keras writes
    model.save(tmp_path / "m.keras")
    ids = np.array([[3, 4, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6]], dtype="int32")
    ours = lamina.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(
        ours.predict(ids, verbose=0), model.predict(ids, verbose=0), rtol=1e-5, atol=1e-6
    )
    # the padded steps are masked out: the mean runs over the two real ids only (NumPy)
    table, (kernel, bias) = model.layers[1].get_weights()[0], model.layers[3].get_weights()
    expected = table[[3, 4]].mean(0) @ kernel + bias
    np.testing.assert_allclose(ours.predict(ids, verbose=0)[0], expected, rtol=1e-5, atol=1e-6)


def test_an_operation_feeding_a_layer_is_refused_by_name(tmp_path):
    inputs = keras.Input((4,))
    x = keras.ops.abs(inputs)  # (arithmetic such as ops.add is replayed as layers)
    outputs = keras.layers.Dense(2)(x)
    keras.Model(inputs, outputs).save(tmp_path / "op.keras")
    with pytest.raises(FileFormatError, match=r"operation '\w+' \(Absolute\)"):
        lamina.saving.load_model(tmp_path / "op.keras")
