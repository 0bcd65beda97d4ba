"""MobileNetV2 against Keras 3: architecture per width, weights files, predictions, names and files."""

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
from lamina.applications import app_builder, mobilenet_v2

APPLICATIONS_PARITY = {
    "applications.MobileNetV2": (mobilenet_v2.MobileNetV2, keras.applications.MobileNetV2)
}
MODULE_PARITY = {
    "applications.mobilenet_v2.preprocess_input": (mobilenet_v2, keras.applications.mobilenet_v2),
    "applications.mobilenet_v2.decode_predictions": (
        mobilenet_v2,
        keras.applications.mobilenet_v2,
    ),
}
OURS, THEIRS = APPLICATIONS_PARITY["applications.MobileNetV2"]


@pytest.mark.parametrize("alpha", [1.0, 0.75, 0.5, 1.3])
def test_architecture_matches_keras(alpha):
    check_architecture(OURS, THEIRS, alpha=alpha)


def test_keras_weights_give_keras_predictions(tmp_path):
    check_predictions(OURS, THEIRS, tmp_path, legacy=True, input_shape=(32, 32, 3))
    # odd sizes: the strided blocks' padding (correct_pad) decides the output
    check_predictions(
        OURS,
        THEIRS,
        tmp_path,
        include_top=False,
        pooling="max",
        input_shape=(33, 47, 3),
        alpha=0.35,
    )
    check_predictions(
        OURS, THEIRS, tmp_path, include_top=False, pooling="avg", input_shape=(32, 32, 3), alpha=0.5
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"alpha": 0.35, "input_shape": (96, 96, 3)},
        {"alpha": 0.5, "include_top": False},
        {"alpha": 0.35, "include_top": False, "input_shape": (100, 120, 3)},
    ],
)
def test_model_name_matches_keras(kwargs):
    # Keras names the model by width and input size: mobilenetv2_0.35_96
    ours = OURS(weights=None, **kwargs).name
    keras.backend.clear_session()
    assert ours == THEIRS(weights=None, **kwargs).name


def test_input_tensor_sets_the_size_as_in_keras():
    ours = OURS(weights=None, alpha=0.35, input_tensor=lamina.Input(shape=(96, 96, 3))).name
    theirs = THEIRS(weights=None, alpha=0.35, input_tensor=keras.Input(shape=(96, 96, 3))).name
    assert ours == theirs == "mobilenetv2_0.35_96"
    inputs = lamina.Input(shape=(64, 64, 3))
    model = OURS(weights=None, include_top=False, alpha=0.35, input_tensor=inputs)
    assert model.inputs[0] is inputs
    assert model.output_shape == (None, 2, 2, 1280)
    with pytest.raises(ValueError, match="width"):
        OURS(weights=None, input_shape=(64, 48, 3), input_tensor=lamina.Input(shape=(64, 64, 3)))


def test_imagenet_weights_come_from_keras_file_names(tmp_path, monkeypatch):
    monkeypatch.setattr(app_builder, "weight_caches", lambda: [tmp_path])
    stem = "mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels"
    with pytest.raises(FileNotFoundError, match=f"{stem}_1.3_224.h5"):
        OURS(alpha=1.3)
    with pytest.raises(FileNotFoundError, match=f"{stem}_0.35_96.h5"):  # a top at 96
        OURS(alpha=0.35, input_shape=(96, 96, 3))
    with pytest.raises(FileNotFoundError, match=f"{stem}_0.5_128.h5"):  # the tensor's size
        OURS(alpha=0.5, input_tensor=lamina.Input(shape=(128, 128, 3)))
    with pytest.warns(UserWarning, match="224"):  # not a published size: the 224 file
        with pytest.raises(FileNotFoundError, match=f"{stem}_0.35_224_no_top.h5"):
            OURS(alpha=0.35, include_top=False, input_shape=(64, 64, 3))
    # Keras's legacy file under Keras's name in a cache loads with weights='imagenet'
    theirs = THEIRS(weights=None, alpha=0.35, include_top=False, input_shape=(96, 96, 3))
    name = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5"
    save_legacy_h5(theirs, tmp_path / name)
    x = np.random.default_rng(0).uniform(-1, 1, (1, 96, 96, 3)).astype("float32")
    expected = np.asarray(theirs.predict(x, verbose=0))
    ours = OURS(alpha=0.35, include_top=False, input_shape=(96, 96, 3))
    np.testing.assert_allclose(np.asarray(ours.predict(x, verbose=0)), expected, atol=1e-4)


def test_arguments_are_checked_like_keras():
    with pytest.raises(ValueError, match="alpha=0.25"):
        OURS(alpha=0.25)
    with pytest.raises(ValueError, match="classes=1000"):
        OURS(classes=10)
    with pytest.raises(ValueError, match="at least 32x32"):
        OURS(weights=None, include_top=False, input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match="input_shape"):  # a top with weights: a weights size
        OURS(input_shape=(100, 100, 3))


@pytest.mark.parametrize("key", MODULE_PARITY)
def test_module_functions_match_keras(key):
    check_module_function(*MODULE_PARITY[key], key.rsplit(".", 1)[1])
