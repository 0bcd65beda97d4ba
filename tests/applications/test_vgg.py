"""VGG16 and VGG19 against Keras 3: architecture, weights files and predictions."""

from __future__ import annotations

import pytest
from app_parity import check_architecture, check_predictions, keras

from lamina.applications import vgg16, vgg19

CASES = [(vgg16.VGG16, keras.applications.VGG16), (vgg19.VGG19, keras.applications.VGG19)]


@pytest.mark.parametrize("ours, theirs", CASES, ids=["VGG16", "VGG19"])
def test_architecture_matches_keras(ours, theirs):
    check_architecture(ours, theirs)


@pytest.mark.parametrize("ours, theirs", CASES, ids=["VGG16", "VGG19"])
def test_keras_weights_give_keras_predictions(ours, theirs, tmp_path):
    check_predictions(ours, theirs, tmp_path, legacy=True, input_shape=(32, 32, 3))
    check_predictions(
        ours, theirs, tmp_path, include_top=False, pooling="max", input_shape=(40, 48, 3)
    )
