"""MobileNetV3 Small and Large against Keras 3: graph, weights files, predictions, sizes and files.

Keras's hard sigmoid adds two graph operations (`x + 3.`, `* (1. / 6.)`) that are not
layers; Lamina builds them as weightless Rescaling layers under the operations' names.
So the graph check compares Lamina's layers with Keras's `model.operations` (layers and
operations, in order), and the layer classes wherever Keras's operation is a layer.
"""

from __future__ import annotations

import numpy as np
import pytest
from app_parity import (
    check_module_function,
    check_predictions,
    keras,
    keras_weight_shapes,
    lamina_weight_shapes,
    save_legacy_h5,
)

import lamina
from lamina.applications import app_builder, mobilenet_v3

APPLICATIONS_PARITY = {
    "applications.MobileNetV3Small": (
        mobilenet_v3.MobileNetV3Small,
        keras.applications.MobileNetV3Small,
    ),
    "applications.MobileNetV3Large": (
        mobilenet_v3.MobileNetV3Large,
        keras.applications.MobileNetV3Large,
    ),
}
MODULE_PARITY = {
    "applications.mobilenet_v3.preprocess_input": (mobilenet_v3, keras.applications.mobilenet_v3),
    "applications.mobilenet_v3.decode_predictions": (
        mobilenet_v3,
        keras.applications.mobilenet_v3,
    ),
}
SMALL = APPLICATIONS_PARITY["applications.MobileNetV3Small"]
LARGE = APPLICATIONS_PARITY["applications.MobileNetV3Large"]
VARIANTS = [
    {},
    {"minimalistic": True},
    {"alpha": 0.75},
    {"include_preprocessing": False, "dropout_rate": 0.0, "classes": 10},
]


def check_graph(lamina_fn, keras_fn, **kwargs) -> None:
    """Same parameters and weight shapes in order; layers named and typed as Keras's operations."""
    keras.backend.clear_session()
    lamina.backend.clear_session()
    theirs = keras_fn(weights=None, **kwargs)
    ours = lamina_fn(weights=None, **kwargs)
    assert ours.count_params() == theirs.count_params()
    assert lamina_weight_shapes(ours) == keras_weight_shapes(theirs)
    assert [la.name for la in ours.layers] == [op.name for op in theirs.operations]
    pairs = [(la, op) for la, op in zip(ours.layers, theirs.operations, strict=True)]
    assert [type(la).__name__ for la, op in pairs if isinstance(op, keras.Layer)] == [
        type(op).__name__ for op in theirs.layers
    ]
    assert ours.name == theirs.name and ours.input_shape == theirs.input_shape
    keras.backend.clear_session()


@pytest.mark.parametrize("kwargs", VARIANTS, ids=["default", "minimalistic", "alpha", "bare"])
@pytest.mark.parametrize("key", APPLICATIONS_PARITY)
def test_graph_matches_keras(key, kwargs):
    check_graph(*APPLICATIONS_PARITY[key], **kwargs)


def test_hard_sigmoid_is_keras_computation():
    x = np.random.default_rng(0).uniform(-5, 5, (4, 3, 3, 2)).astype("float32")
    inputs = lamina.Input(shape=(3, 3, 2))
    model = lamina.Model(inputs, mobilenet_v3.hard_sigmoid(inputs))
    from keras.src.applications.mobilenet_v3 import hard_sigmoid

    keras_inputs = keras.Input(shape=(3, 3, 2))
    expected = keras.Model(keras_inputs, hard_sigmoid(keras_inputs)).predict(x, verbose=0)
    np.testing.assert_array_equal(np.asarray(model.predict(x, verbose=0)), expected)


def test_keras_weights_give_keras_predictions(tmp_path):
    # the default input (None, None, 3): the checks feed 64x64 images, top included
    check_predictions(*SMALL, tmp_path, legacy=True)
    check_predictions(
        *SMALL,
        tmp_path,
        include_top=False,
        pooling="max",
        input_shape=(33, 47, 3),
        minimalistic=True,
    )
    check_predictions(*LARGE, tmp_path, legacy=True, input_shape=(32, 32, 3), alpha=0.75)
    check_predictions(
        *LARGE,
        tmp_path,
        include_top=False,
        pooling="avg",
        input_shape=(40, 48, 3),
        minimalistic=True,
        include_preprocessing=False,
    )


def test_any_input_size_runs_with_the_top():
    model = SMALL[0](weights=None, minimalistic=True, alpha=0.75)
    assert model.input_shape == (None, None, None, 3)
    for size in ((32, 32), (50, 70)):
        x = np.zeros((1, *size, 3), dtype="float32")
        assert model.predict(x, verbose=0).shape == (1, 1000)
    inputs = lamina.Input(shape=(64, 64, 3))
    model = SMALL[0](weights=None, include_top=False, pooling="avg", input_tensor=inputs)
    assert model.inputs[0] is inputs and model.output_shape == (None, 576)


def test_imagenet_weights_come_from_keras_file_names(tmp_path, monkeypatch):
    monkeypatch.setattr(app_builder, "weight_caches", lambda: [tmp_path])
    folder = "mobilenet_v3/weights_mobilenet_v3"
    with pytest.raises(FileNotFoundError, match=f"{folder}_small_224_0.75_float.h5"):
        SMALL[0](alpha=0.75, input_shape=(224, 224, 3))
    with pytest.warns(UserWarning, match="224"):  # any size loads the 224x224 weights
        with pytest.raises(
            FileNotFoundError, match=f"{folder}_large_minimalistic_224_1.0_float_no_top_v2.h5"
        ):
            LARGE[0](minimalistic=True, include_top=False)
    # Keras's legacy file under Keras's name in a cache loads with weights='imagenet'
    theirs = SMALL[1](weights=None, minimalistic=True, include_top=False)
    save_legacy_h5(
        theirs, tmp_path / "weights_mobilenet_v3_small_minimalistic_224_1.0_float_no_top_v2.h5"
    )
    x = np.random.default_rng(0).uniform(0, 255, (1, 64, 64, 3)).astype("float32")
    expected = np.asarray(theirs.predict(x, verbose=0))
    with pytest.warns(UserWarning, match="224"):
        ours = SMALL[0](minimalistic=True, include_top=False)
    np.testing.assert_allclose(np.asarray(ours.predict(x, verbose=0)), expected, atol=1e-4)


def test_arguments_are_checked_like_keras():
    with pytest.raises(ValueError, match="alpha=0.75, minimalistic=True"):
        SMALL[0](alpha=0.75, minimalistic=True)
    with pytest.raises(ValueError, match="alpha=0.5"):
        LARGE[0](alpha=0.5)
    with pytest.raises(ValueError, match="classes=1000"):
        SMALL[0](classes=10)
    with pytest.raises(ValueError, match="at least 32x32"):
        SMALL[0](weights=None, input_shape=(224, 16, 3))
    with pytest.raises(ValueError, match="width"):
        SMALL[0](weights=None, input_shape=(64, 48, 3), input_tensor=lamina.Input((64, 64, 3)))
    with pytest.raises(ValueError, match="softmax"):
        SMALL[0](classifier_activation="relu", input_shape=(224, 224, 3))


@pytest.mark.parametrize("key", MODULE_PARITY)
def test_module_functions_match_keras(key):
    check_module_function(*MODULE_PARITY[key], key.rsplit(".", 1)[1])


def test_exported_from_lamina_applications():
    apps = lamina.applications
    assert apps.MobileNet is apps.mobilenet.MobileNet
    assert apps.MobileNetV2 is apps.mobilenet_v2.MobileNetV2
    assert apps.MobileNetV3Small is mobilenet_v3.MobileNetV3Small
    assert apps.MobileNetV3Large is apps.mobilenet_v3.MobileNetV3Large


def test_saved_model_loads_in_keras(tmp_path):
    # the hard sigmoid's Rescaling layers are plain Keras layers in the saved config
    ours = SMALL[0](weights=None, alpha=0.75)
    ours.save(tmp_path / "small.keras")
    x = np.random.default_rng(0).uniform(0, 255, (2, 48, 48, 3)).astype("float32")
    theirs = keras.saving.load_model(tmp_path / "small.keras")
    np.testing.assert_allclose(
        np.asarray(theirs.predict(x, verbose=0)), np.asarray(ours.predict(x, verbose=0)), atol=1e-5
    )
