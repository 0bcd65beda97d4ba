"""InceptionV3 against Keras 3: automatic layer names, weights files, predictions, preprocessing."""

from __future__ import annotations

import h5py
import pytest
from app_parity import (
    check_module_function,
    check_predictions,
    fresh_names,
    keras,
    same_architecture_keras_order,
)

from lamina.applications import inception_v3

APPLICATIONS_PARITY = {
    "applications.InceptionV3": (inception_v3.InceptionV3, keras.applications.InceptionV3),
}
MODULE_PARITY = {
    "applications.inception_v3.preprocess_input": (inception_v3, keras.applications.inception_v3),
    "applications.inception_v3.decode_predictions": (
        inception_v3,
        keras.applications.inception_v3,
    ),
}
# The automatically named layer classes of InceptionV3 that carry weights.
_AUTO_NAMED = ("conv2d", "batch_normalization")


def _saved_layer_names(tmp_path) -> set[str]:
    with h5py.File(tmp_path / "keras_legacy.h5", "r") as f:
        return {n.decode() if isinstance(n, bytes) else n for n in f.attrs["layer_names"]}


@pytest.mark.parametrize("key", APPLICATIONS_PARITY)
def test_architecture_and_keras_weights_match_keras(key, tmp_path):
    """Every automatic name ('conv2d_93', 'activation_93', 'concatenate_1', ...) is Keras's
    (both start from zero), in Keras's layer order, with the weight shapes and parameter
    count, on the builds the predictions use (a global pooling: the same weights at any
    size); the legacy file's names are Lamina's, so it loads by name."""
    ours, theirs = APPLICATIONS_PARITY[key]
    names = []

    def compare(model, keras_model):
        same_architecture_keras_order(model, keras_model)
        names.append({la.name for la in model.layers})

    check_predictions(ours, theirs, tmp_path, legacy=True, compare=compare, input_shape=(75, 75, 3))
    assert _saved_layer_names(tmp_path) == names[0]


def test_legacy_file_numbered_from_one_loads_by_order(tmp_path):
    """Keras's downloadable InceptionV3 file numbers its layers from 'conv2d_1' (Keras 2):
    no name fits one to one, so it loads by layer order, as Keras 3 loads it."""
    ours, theirs = APPLICATIONS_PARITY["applications.InceptionV3"]
    fresh_names(keras_ahead=_AUTO_NAMED)
    check_predictions(
        ours,
        theirs,
        tmp_path,
        legacy=True,
        include_top=False,
        pooling="avg",
        input_shape=(75, 83, 3),
    )
    saved = _saved_layer_names(tmp_path)
    assert "conv2d_94" in saved and "conv2d" not in saved


def test_feature_map_without_pooling():
    model = inception_v3.InceptionV3(weights=None, include_top=False, input_shape=(75, 75, 3))
    assert model.output_shape == (None, 1, 1, 2048)
    assert model.layers[-1].name == "mixed10"
    pooled = inception_v3.InceptionV3(weights=None, include_top=False, pooling="max")
    assert pooled.output_shape == (None, 2048)


def test_argument_checks_match_keras():
    with pytest.raises(ValueError, match="at least 75x75"):
        inception_v3.InceptionV3(weights=None, include_top=False, input_shape=(74, 80, 3))
    with pytest.raises(ValueError, match="classes=1000"):
        inception_v3.InceptionV3(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match=r"\(299, 299, 3\)"):
        inception_v3.InceptionV3(weights="imagenet", input_shape=(224, 224, 3))


@pytest.mark.parametrize("key", MODULE_PARITY)
def test_module_functions_match_keras(key):
    check_module_function(*MODULE_PARITY[key], key.rsplit(".", 1)[1])
