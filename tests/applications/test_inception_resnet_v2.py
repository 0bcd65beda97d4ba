"""InceptionResNetV2 and its CustomScaleLayer against Keras 3."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch
from app_parity import (
    check_module_function,
    check_predictions,
    fresh_names,
    keras,
    same_architecture_keras_order,
)
from keras.src.applications import inception_resnet_v2 as keras_irv2

import lamina
from lamina import registry
from lamina.applications import inception_resnet_v2

APPLICATIONS_PARITY = {
    "applications.InceptionResNetV2": (
        inception_resnet_v2.InceptionResNetV2,
        keras.applications.InceptionResNetV2,
    ),
}
MODULE_PARITY = {
    "applications.inception_resnet_v2.preprocess_input": (
        inception_resnet_v2,
        keras.applications.inception_resnet_v2,
    ),
    "applications.inception_resnet_v2.decode_predictions": (
        inception_resnet_v2,
        keras.applications.inception_resnet_v2,
    ),
}
CUSTOM_LAYER_CASES = {
    "applications.inception_resnet_v2.CustomScaleLayer": (
        inception_resnet_v2.CustomScaleLayer,
        keras_irv2.CustomScaleLayer,
    ),
}


@pytest.mark.parametrize("key", APPLICATIONS_PARITY)
def test_architecture_and_keras_weights_match_keras(key, tmp_path):
    """Names in Keras's layer order, weight shapes and parameter count on the builds the
    predictions use (a global pooling: the same weights at any size); both libraries'
    automatic names start from zero, so the legacy file loads by name."""
    ours, theirs = APPLICATIONS_PARITY[key]
    check_predictions(
        ours,
        theirs,
        tmp_path,
        legacy=True,
        compare=same_architecture_keras_order,
        input_shape=(75, 75, 3),
    )


def _small_model(scale_cls, lib, scale):
    """Input -> Conv2D -> CustomScaleLayer([input, conv]) -> Conv2D: weights on both sides."""
    inp = lib.Input((6, 5, 3))
    up = lib.layers.Conv2D(3, 1)(inp)
    x = scale_cls(scale)([inp, up])
    x = scale_cls(scale)([x, up])
    out = lib.layers.Conv2D(2, 3)(x)
    return lib.Model(inp, out)


def _h5_paths(path) -> list[str]:
    found = []
    with h5py.File(path, "r") as f:
        f.visit(found.append)
    return sorted(p for p in found if p.startswith("layers"))


@pytest.mark.parametrize("key", CUSTOM_LAYER_CASES)
def test_custom_scale_layer_matches_keras(key, tmp_path):
    ours, theirs = CUSTOM_LAYER_CASES[key]
    assert registry.get("layer", "CustomScaleLayer") is ours
    fresh_names()
    keras_model = _small_model(theirs, keras, 0.17)
    x = np.random.default_rng(0).normal(size=(2, 6, 5, 3)).astype("float32")
    expected = np.asarray(keras_model.predict(x, verbose=0))
    keras_model.save_weights(tmp_path / "k.weights.h5")
    model = _small_model(ours, lamina, 0.17)
    model.load_weights(tmp_path / "k.weights.h5")
    with torch.no_grad():
        np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)
    model.save_weights(tmp_path / "l.weights.h5")
    assert _h5_paths(tmp_path / "l.weights.h5") == _h5_paths(tmp_path / "k.weights.h5")
    # The layer's config is Keras's, and rebuilds the layer.
    layer = model.layers[2]
    assert layer.name == keras_model.layers[2].name == "custom_scale_layer"
    config = layer.get_config()
    keras_config = keras_model.layers[2].get_config()
    assert config["scale"] == keras_config["scale"] == 0.17
    assert set(config) <= set(keras_config)
    assert type(layer).from_config(config).get_config() == config
    with pytest.raises(ValueError, match="a number for scale"):
        ours("0.1")


def test_block_checks_its_type():
    x = lamina.Input((8, 8, 32))
    with pytest.raises(ValueError, match="block_type 'block35'"):
        inception_resnet_v2.inception_resnet_block(x, 0.1, "block99", 1)


def test_without_top_and_argument_checks():
    model = inception_resnet_v2.InceptionResNetV2(
        weights=None, include_top=False, pooling="avg", input_shape=(75, 75, 3)
    )
    assert model.output_shape == (None, 1536)
    with pytest.raises(ValueError, match="at least 75x75"):
        inception_resnet_v2.InceptionResNetV2(
            weights=None, include_top=False, input_shape=(74, 80, 3)
        )
    with pytest.raises(ValueError, match="classes=1000"):
        inception_resnet_v2.InceptionResNetV2(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match=r"\(299, 299, 3\)"):  # the default size
        inception_resnet_v2.InceptionResNetV2(weights="imagenet", input_shape=(224, 224, 3))


@pytest.mark.parametrize("key", MODULE_PARITY)
def test_module_functions_match_keras(key):
    check_module_function(*MODULE_PARITY[key], key.rsplit(".", 1)[1])
