"""Xception against Keras 3: architecture, weights files, predictions, preprocessing."""

from __future__ import annotations

import pytest
from app_parity import (
    check_module_function,
    check_predictions,
    check_variant_architecture,
    fresh_names,
    keras,
    same_architecture_keras_order,
)

from lamina.applications import xception

APPLICATIONS_PARITY = {
    "applications.Xception": (xception.Xception, keras.applications.Xception),
}
MODULE_PARITY = {
    "applications.xception.preprocess_input": (xception, keras.applications.xception),
    "applications.xception.decode_predictions": (xception, keras.applications.xception),
}


def test_architecture_without_top_matches_keras():
    """The build whose predictions run under `apps_full` (its names are what the legacy
    file loads by): names in Keras's layer order, weight shapes, parameter count. The
    default run checks predictions with the top, through the same builder, below."""
    check_variant_architecture(
        *APPLICATIONS_PARITY["applications.Xception"],
        compare=same_architecture_keras_order,
        include_top=False,
        pooling="avg",
        input_shape=(71, 71, 3),
    )


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


@pytest.mark.parametrize("key", APPLICATIONS_PARITY)
def test_architecture_and_keras_weights_with_top_match_keras(key, tmp_path):
    """Names in Keras's layer order, weight shapes and parameter count on the builds the
    predictions use (a global pooling: the same weights at any size)."""
    ours, theirs = APPLICATIONS_PARITY[key]
    check_predictions(
        ours,
        theirs,
        tmp_path,
        batch=1,
        compare=same_architecture_keras_order,
        input_shape=(80, 72, 3),
    )


def test_without_top_and_argument_checks():
    model = xception.Xception(weights=None, include_top=False, input_shape=(71, 71, 3))
    assert model.output_shape == (None, 3, 3, 2048)
    assert model.layers[-1].name == "block14_sepconv2_act"
    with pytest.raises(ValueError, match="at least 71x71"):
        xception.Xception(weights=None, include_top=False, input_shape=(70, 80, 3))
    with pytest.raises(ValueError, match="classes=1000"):
        xception.Xception(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match=r"\(299, 299, 3\)"):  # the default size
        xception.Xception(weights="imagenet", input_shape=(224, 224, 3))


@pytest.mark.parametrize("key", MODULE_PARITY)
def test_module_functions_match_keras(key):
    check_module_function(*MODULE_PARITY[key], key.rsplit(".", 1)[1])
