"""Xception against Keras 3: architecture, weights files, predictions, preprocessing."""

from __future__ import annotations

import pytest
from app_parity import (
    check_architecture_keras_order,
    check_module_function,
    check_predictions,
    fresh_names,
    keras,
)

from lamina.applications import xception

APPLICATIONS_PARITY = {
    "applications.Xception": (xception.Xception, keras.applications.Xception),
}
MODULE_PARITY = {
    "applications.xception.preprocess_input": (xception, keras.applications.xception),
    "applications.xception.decode_predictions": (xception, keras.applications.xception),
}


@pytest.mark.parametrize("key", APPLICATIONS_PARITY)
def test_architecture_matches_keras(key):
    check_architecture_keras_order(*APPLICATIONS_PARITY[key])


@pytest.mark.apps_full
def test_keras_weights_give_keras_predictions(tmp_path):
    ours, theirs = APPLICATIONS_PARITY["applications.Xception"]
    fresh_names()  # the legacy file's automatic names are Lamina's: it loads by name
    check_predictions(
        ours,
        theirs,
        tmp_path,
        legacy=True,
        include_top=False,
        pooling="avg",
        input_shape=(71, 71, 3),
    )


@pytest.mark.apps_full
def test_keras_weights_with_top_give_keras_predictions(tmp_path):
    ours, theirs = APPLICATIONS_PARITY["applications.Xception"]
    check_predictions(ours, theirs, tmp_path, batch=1, input_shape=(80, 72, 3))


def test_without_top_and_argument_checks():
    model = xception.Xception(weights=None, include_top=False, input_shape=(71, 71, 3))
    assert model.output_shape == (None, 3, 3, 2048)
    assert model.layers[-1].name == "block14_sepconv2_act"
    with pytest.raises(ValueError, match="at least 71x71"):
        xception.Xception(weights=None, include_top=False, input_shape=(70, 80, 3))
    with pytest.raises(ValueError, match="classes=1000"):
        xception.Xception(weights="imagenet", classes=10)


@pytest.mark.parametrize("key", MODULE_PARITY)
def test_module_functions_match_keras(key):
    check_module_function(*MODULE_PARITY[key], key.rsplit(".", 1)[1])
