"""DenseNet121/169/201 against Keras 3: architecture, weights files, predictions, preprocessing."""

from __future__ import annotations

import numpy as np
import pytest
from app_parity import (
    check_architecture,
    check_module_function,
    check_predictions,
    check_variant_architecture,
    fresh_names,
    keras,
    same_architecture,
)
from keras.src.applications import densenet as keras_densenet

from lamina.applications import densenet

APPLICATIONS_PARITY = {
    "applications.DenseNet121": (densenet.DenseNet121, keras.applications.DenseNet121),
    "applications.DenseNet169": (densenet.DenseNet169, keras.applications.DenseNet169),
    "applications.DenseNet201": (densenet.DenseNet201, keras.applications.DenseNet201),
}
MODULE_PARITY = {
    "applications.densenet.preprocess_input": (densenet, keras.applications.densenet),
    "applications.densenet.decode_predictions": (densenet, keras.applications.densenet),
}


def test_architecture_matches_keras():
    """DenseNet121 at its default size; 169's and 201's below, at 32x32 (a global pooling:
    the same weights at any size)."""
    check_architecture(*APPLICATIONS_PARITY["applications.DenseNet121"])


def test_densenet121_keras_weights_give_keras_predictions(tmp_path):
    ours, theirs = APPLICATIONS_PARITY["applications.DenseNet121"]
    fresh_names()  # every layer is named: the legacy file loads by name
    check_predictions(ours, theirs, tmp_path, legacy=True, input_shape=(32, 32, 3))
    check_predictions(
        ours, theirs, tmp_path, include_top=False, pooling="avg", input_shape=(40, 48, 3)
    )


@pytest.mark.parametrize("key", ["applications.DenseNet169", "applications.DenseNet201"])
def test_bigger_densenets_architectures_match_keras(key):
    """Every variant's architecture in the default run; their predictions from Keras's
    random weights run under `apps_full` (DenseNet121's, through the same builder, run here)."""
    check_variant_architecture(
        *APPLICATIONS_PARITY[key],
        compare=same_architecture,
        input_shape=(32, 32, 3),
        classifier_activation=None,
    )


@pytest.mark.apps_full
@pytest.mark.parametrize("key", ["applications.DenseNet169", "applications.DenseNet201"])
def test_bigger_densenets_architectures_and_predictions_match_keras(key, tmp_path):
    ours, theirs = APPLICATIONS_PARITY[key]
    # logits: a softmax over 1,000 classes would hide differences under the tolerance
    check_predictions(
        ours,
        theirs,
        tmp_path,
        compare=same_architecture,
        input_shape=(32, 32, 3),
        classifier_activation=None,
    )


def test_generic_builder_and_layer_names_match_keras(tmp_path):
    """`DenseNet(blocks)` at any depth; no pooling: the last feature map (named 'relu');
    max pooling."""
    blocks = [1, 2, 2, 1]
    ours = lambda **kw: densenet.DenseNet(blocks, include_top=False, **kw)  # noqa: E731
    theirs = lambda **kw: keras_densenet.DenseNet(  # noqa: E731
        blocks, include_top=False, **kw
    )
    check_architecture(ours, theirs)
    check_predictions(ours, theirs, tmp_path, legacy=True, input_shape=(32, 40, 3))
    check_predictions(ours, theirs, tmp_path, pooling="max", input_shape=(32, 32, 3))
    model = ours(weights=None)
    assert model.name == "densenet" and model.layers[-1].name == "relu"


def test_argument_checks_match_keras(tmp_path):
    with pytest.raises(ValueError, match="classes=1000"):
        densenet.DenseNet121(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match="at least 32x32"):
        densenet.DenseNet121(weights=None, include_top=False, input_shape=(31, 64, 3))
    with pytest.raises(ValueError, match="4 block counts"):
        densenet.DenseNet([6, 12, 24], weights=None)
    with pytest.raises(ValueError, match="no ImageNet weights"):
        densenet.DenseNet([1, 1, 1, 1], weights="imagenet", include_top=False)


def test_imagenet_weights_are_found_in_keras_cache(tmp_path, monkeypatch):
    """weights='imagenet' reads Keras's cached file: the notop or top file of the variant."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (tmp_path / "models").mkdir()
    saved = densenet.DenseNet121(weights=None, include_top=False, input_shape=(32, 32, 3))
    # A `.h5` name: Lamina writes the legacy by-name layout of Keras's downloadable files.
    saved.save_weights(
        tmp_path / "models" / "densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5"
    )
    model = densenet.DenseNet121(include_top=False)
    for got, expected in zip(model.get_weights(), saved.get_weights()):
        np.testing.assert_array_equal(got, expected)
    with pytest.raises(
        FileNotFoundError, match="densenet121_weights_tf_dim_ordering_tf_kernels.h5"
    ):
        densenet.DenseNet121()


@pytest.mark.parametrize("key", MODULE_PARITY)
def test_module_functions_match_keras(key):
    check_module_function(*MODULE_PARITY[key], key.rsplit(".", 1)[1])
