"""MobileNet against Keras 3: architecture per width, weights files, predictions, names and files."""

from __future__ import annotations

import numpy as np
import pytest
from app_parity import (
    check_architecture,
    check_module_function,
    check_predictions,
    keras,
    save_legacy_h5,
)

import lamina
from lamina.applications import app_builder, mobilenet

APPLICATIONS_PARITY = {
    "applications.MobileNet": (mobilenet.MobileNet, keras.applications.MobileNet)
}
MODULE_PARITY = {
    "applications.mobilenet.preprocess_input": (mobilenet, keras.applications.mobilenet),
    "applications.mobilenet.decode_predictions": (mobilenet, keras.applications.mobilenet),
}
OURS, THEIRS = APPLICATIONS_PARITY["applications.MobileNet"]


@pytest.mark.parametrize("alpha", [1.0, 0.75, 0.5])
def test_architecture_matches_keras(alpha):
    check_architecture(OURS, THEIRS, alpha=alpha)


def test_depth_multiplier_and_classes_match_keras():
    check_architecture(
        OURS, THEIRS, alpha=0.25, depth_multiplier=2, classes=10, input_shape=(64, 64, 3)
    )


def test_keras_weights_give_keras_predictions(tmp_path):
    check_predictions(OURS, THEIRS, tmp_path, legacy=True, input_shape=(32, 32, 3))
    check_predictions(
        OURS,
        THEIRS,
        tmp_path,
        include_top=False,
        pooling="max",
        input_shape=(40, 48, 3),
        alpha=0.5,
        depth_multiplier=2,
    )
    check_predictions(
        OURS, THEIRS, tmp_path, include_top=False, pooling="avg", input_shape=(32, 32, 3)
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"alpha": 0.75, "input_shape": (160, 160, 3)},
        {"alpha": 0.25, "include_top": False},
        {"alpha": 0.25, "include_top": False, "input_shape": (100, 120, 3)},
    ],
)
def test_model_name_matches_keras(kwargs):
    # Keras names the model by width and input size: mobilenet_0.75_160
    ours = OURS(weights=None, **kwargs).name
    keras.backend.clear_session()
    assert ours == THEIRS(weights=None, **kwargs).name


def test_imagenet_weights_come_from_keras_file_names(tmp_path, monkeypatch):
    monkeypatch.setattr(app_builder, "weight_caches", lambda: [tmp_path])
    with pytest.raises(FileNotFoundError, match="mobilenet/mobilenet_7_5_160_tf_no_top.h5"):
        OURS(alpha=0.75, include_top=False, input_shape=(160, 160, 3))
    with pytest.raises(FileNotFoundError, match="mobilenet_5_0_128_tf.h5"):  # a top at 128
        OURS(alpha=0.5, input_shape=(128, 128, 3))
    with pytest.warns(UserWarning, match="224"):  # non-square: the 224 file, as Keras loads
        with pytest.raises(FileNotFoundError, match="mobilenet_1_0_224_tf_no_top.h5"):
            OURS(include_top=False, input_shape=(128, 160, 3))
    # Keras's legacy file under Keras's name in a cache loads with weights='imagenet'
    theirs = THEIRS(weights=None, alpha=0.25, include_top=False, input_shape=(128, 128, 3))
    save_legacy_h5(theirs, tmp_path / "mobilenet_2_5_128_tf_no_top.h5")
    x = np.random.default_rng(0).uniform(-1, 1, (1, 128, 128, 3)).astype("float32")
    expected = np.asarray(theirs.predict(x, verbose=0))
    ours = OURS(alpha=0.25, include_top=False, input_shape=(128, 128, 3))
    np.testing.assert_allclose(np.asarray(ours.predict(x, verbose=0)), expected, atol=1e-4)


def test_arguments_are_checked_like_keras():
    with pytest.raises(ValueError, match="depth_multiplier=1"):
        OURS(depth_multiplier=2)
    with pytest.raises(ValueError, match="alpha=0.3"):
        OURS(alpha=0.3)
    with pytest.raises(ValueError, match="classes=1000"):
        OURS(classes=10)
    with pytest.raises(ValueError, match="at least 32x32"):
        OURS(weights=None, include_top=False, input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match="input_shape"):  # a top with weights: a weights size
        OURS(input_shape=(100, 100, 3))


def test_input_tensor_is_the_model_input():
    inputs = lamina.Input(shape=(64, 64, 3))
    model = OURS(weights=None, include_top=False, pooling="avg", alpha=0.25, input_tensor=inputs)
    assert model.inputs[0] is inputs
    assert model.output_shape == (None, 256)


@pytest.mark.parametrize("key", MODULE_PARITY)
def test_module_functions_match_keras(key):
    check_module_function(*MODULE_PARITY[key], key.rsplit(".", 1)[1])
