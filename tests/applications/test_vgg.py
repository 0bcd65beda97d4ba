"""VGG16 and VGG19 against Keras 3: architecture, weights files, predictions and input scaling."""

from __future__ import annotations

import numpy as np
import pytest
from app_parity import check_architecture, check_predictions, keras

from lamina.applications import imagenet_utils, vgg16, vgg19

APPLICATIONS_PARITY = {
    "applications.VGG16": (vgg16.VGG16, keras.applications.VGG16),
    "applications.VGG19": (vgg19.VGG19, keras.applications.VGG19),
}
MODULE_PARITY = {
    "applications.vgg16.preprocess_input": (vgg16, keras.applications.vgg16),
    "applications.vgg19.preprocess_input": (vgg19, keras.applications.vgg19),
    "applications.vgg16.decode_predictions": (vgg16, keras.applications.vgg16),
    "applications.vgg19.decode_predictions": (vgg19, keras.applications.vgg19),
}


@pytest.mark.parametrize("key", APPLICATIONS_PARITY)
def test_architecture_matches_keras(key):
    check_architecture(*APPLICATIONS_PARITY[key])


@pytest.mark.parametrize("key", APPLICATIONS_PARITY)
def test_keras_weights_give_keras_predictions(key, tmp_path):
    ours, theirs = APPLICATIONS_PARITY[key]
    check_predictions(ours, theirs, tmp_path, legacy=True, input_shape=(32, 32, 3))
    check_predictions(
        ours, theirs, tmp_path, include_top=False, pooling="max", input_shape=(40, 48, 3)
    )
    check_predictions(
        ours, theirs, tmp_path, include_top=False, pooling="avg", input_shape=(32, 32, 3)
    )


@pytest.mark.parametrize("key", MODULE_PARITY)
def test_module_functions_match_keras(key):
    ours, theirs = MODULE_PARITY[key]
    images = np.random.default_rng(0).integers(0, 256, (2, 8, 8, 3)).astype("float32")
    if key.endswith("preprocess_input"):
        np.testing.assert_allclose(
            ours.preprocess_input(images), theirs.preprocess_input(images.copy()), rtol=1e-6
        )
        return
    preds = np.random.default_rng(1).dirichlet(np.ones(1000), size=2).astype("float32")
    got = ours.decode_predictions(preds, top=3)
    order = np.argsort(-preds, axis=1)[:, :3]
    assert [[row[2] for row in sample] for sample in got] == [
        list(preds[i, order[i]]) for i in range(2)
    ]
    index = imagenet_utils.class_index()  # Keras downloads the same table; Lamina ships it
    assert [[row[:2] for row in sample] for sample in got] == [
        [tuple(index[str(j)]) for j in order[i]] for i in range(2)
    ]


def test_input_size_and_weights_are_checked_like_keras():
    with pytest.raises(ValueError, match="at least 32x32"):
        vgg16.VGG16(weights=None, include_top=False, input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match="classes=1000"):
        vgg16.VGG16(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match="existing weights file"):
        vgg16.VGG16(weights="no/such/file.h5")
    with pytest.raises(ValueError, match="pooling"):
        vgg16.VGG16(weights=None, include_top=False, pooling="median")
