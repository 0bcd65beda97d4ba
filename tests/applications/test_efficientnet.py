"""EfficientNet B0-B7 against Keras 3: architecture, layer settings, weights files, predictions."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch
from app_parity import (
    check_architecture,
    check_module_function,
    check_predictions,
    check_variant_architecture,
    fresh_names,
    keras,
    randomize,
    same_architecture,
    save_legacy_h5,
)
from keras.src.applications import efficientnet as keras_efficientnet

from lamina.applications import app_builder, efficientnet, efficientnet_blocks

VARIANTS = ("B0", "B1", "B2", "B3", "B4", "B5", "B6", "B7")
APPLICATIONS_PARITY = {
    f"applications.EfficientNet{v}": (
        getattr(efficientnet, f"EfficientNet{v}"),
        getattr(keras.applications, f"EfficientNet{v}"),
    )
    for v in VARIANTS
}
MODULE_PARITY = {
    "applications.efficientnet.preprocess_input": (efficientnet, keras.applications.efficientnet),
    "applications.efficientnet.decode_predictions": (
        efficientnet,
        keras.applications.efficientnet,
    ),
}
B0, KERAS_B0 = APPLICATIONS_PARITY["applications.EfficientNetB0"]
# Settings that change what a layer computes or how it trains; Keras names swish 'silu'.
SETTINGS = ("axis", "momentum", "epsilon", "rate", "noise_shape", "strides", "padding",
            "activation", "use_bias", "kernel_size", "scale", "offset", "target_shape")  # fmt: skip


@pytest.fixture(autouse=True)
def cheap_init(monkeypatch):
    """Uniform kernels on both sides instead of the truncated normal, whose rejection
    sampling costs seconds per model. Shapes, names and (randomized, then saved and
    loaded) weights don't depend on it; `monkeypatch.undo()` restores Keras's."""
    uniform = {
        "class_name": "VarianceScaling",
        "config": {"scale": 2.0, "mode": "fan_out", "distribution": "uniform"},
    }
    monkeypatch.setattr(keras_efficientnet, "CONV_KERNEL_INITIALIZER", uniform)
    monkeypatch.setattr(efficientnet_blocks, "CONV_INIT", uniform)


def settings(model):
    found = []
    for layer in model.layers:
        config = layer.get_config()
        for key in SETTINGS:
            if key in config:
                value = config[key]
                value = tuple(value) if isinstance(value, list) else value
                found.append((layer.name, key, "silu" if value == "swish" else value))
    return found


def test_architecture_matches_keras():
    """B0 at its default size; B1-B7's below, at 32x32 (a global pooling: the same weights
    at any size)."""
    check_architecture(B0, KERAS_B0)


def test_layer_settings_match_keras():
    """Batch-norm axis and momentum, dropout rates and noise shapes, strides, paddings;
    Keras's kernel initializers, on the layers Keras gives them to."""
    assert efficientnet_blocks.CONV_INIT["config"]["distribution"] == "uniform"  # cheap_init
    fresh_names()
    keras_model = KERAS_B0(weights=None)
    model = B0(weights=None)
    theirs = settings(keras_model)
    assert settings(model) == theirs
    drops = [s for s in theirs if s[0].endswith("drop") and s[1] == "noise_shape"]
    assert len(drops) == 9 and all(s[2] == (None, 1, 1, 1) for s in drops)
    for name, kind in (("stem_conv", "kernel"), ("block2a_dwconv", "depthwise"),
                       ("block2a_se_reduce", "kernel"), ("predictions", "kernel")):  # fmt: skip
        init = model.get_layer(name).get_config()[f"{kind}_initializer"]["config"]
        keras_init = keras_model.get_layer(name).get_config()[f"{kind}_initializer"]["config"]
        assert {k: init[k] for k in ("scale", "mode", "distribution")} == {
            k: keras_init[k] for k in ("scale", "mode", "distribution")
        }


def test_initializers_are_keras_ones(monkeypatch):
    monkeypatch.undo()  # cheap_init's patch
    assert efficientnet_blocks.CONV_INIT == keras_efficientnet.CONV_KERNEL_INITIALIZER
    assert efficientnet_blocks.DENSE_INIT == keras_efficientnet.DENSE_KERNEL_INITIALIZER


def test_b0_keras_weights_give_keras_predictions(tmp_path):
    fresh_names()  # the same automatic names ('normalization'): the legacy file loads by name
    check_predictions(B0, KERAS_B0, tmp_path, legacy=True, input_shape=(32, 32, 3))
    check_predictions(
        B0, KERAS_B0, tmp_path, include_top=False, pooling="avg", input_shape=(45, 37, 3)
    )


def test_normalization_weights_round_trip(tmp_path):
    """The input Normalization's mean, variance and count load from both file layouts."""
    fresh_names()
    theirs = KERAS_B0(weights=None, include_top=False, input_shape=(32, 32, 3))
    randomize(theirs, seed=3)
    expected = theirs.layers[2].get_weights()
    theirs.save_weights(tmp_path / "b0.weights.h5")
    save_legacy_h5(theirs, tmp_path / "b0.h5")
    for file in ("b0.weights.h5", "b0.h5"):
        ours = B0(weights=str(tmp_path / file), include_top=False, input_shape=(32, 32, 3))
        assert type(ours.layers[2]).__name__ == "Normalization"
        got = ours.layers[2].get_weights()
        assert [np.shape(w) for w in got] == [(3,), (3,), ()]
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e)


def test_generic_builder_matches_keras(tmp_path):
    """Any width/depth, divisor, activation and stages; id_skip=False and no SE."""
    stages = [
        {"kernel_size": 3, "repeats": 2, "filters_in": 32, "filters_out": 24, "expand_ratio": 1,
         "id_skip": False, "strides": 2, "se_ratio": 0.0},
        {"kernel_size": 5, "repeats": 2, "filters_in": 24, "filters_out": 40, "expand_ratio": 3,
         "strides": 2, "se_ratio": 0.5},
    ]  # fmt: skip
    kwargs = {
        "width_coefficient": 0.6,
        "depth_coefficient": 1.6,
        "default_size": 64,
        "dropout_rate": 0.0,
        "drop_connect_rate": 0.5,
        "depth_divisor": 4,
        "activation": "relu",
        "blocks_args": stages,
        "name": "tiny",
    }
    ours = lambda **kw: efficientnet.EfficientNet(**kwargs, **kw)  # noqa: E731
    theirs = lambda **kw: keras_efficientnet.EfficientNet(**kwargs, **kw)  # noqa: E731
    check_architecture(ours, theirs)
    fresh_names()
    check_predictions(
        ours,
        theirs,
        tmp_path,
        legacy=True,
        input_shape=(36, 36, 3),
        classes=10,
        classifier_activation=None,
    )
    fresh_names()
    assert settings(ours(weights=None)) == settings(theirs(weights=None))
    assert stages[0]["repeats"] == 2  # the caller's dicts stay as they were


def test_imagenet_weights_load_from_keras_file_names(tmp_path, monkeypatch):
    """weights='imagenet' adds Keras's per-channel Rescaling and reads Keras's cached file."""
    monkeypatch.setattr(app_builder, "weight_caches", lambda: [tmp_path])
    url = "https://storage.googleapis.com/keras-applications/"
    with pytest.raises(FileNotFoundError, match=url + "efficientnetb3.h5"):
        efficientnet.imagenet_file("efficientnetb3", "efficientnetb3", True)
    size, file = (40, 40, 3), tmp_path / "efficientnetb0_notop.h5"
    with pytest.raises(FileNotFoundError, match=url + file.name):
        B0(include_top=False, input_shape=size, name="renamed")
    plain = KERAS_B0(weights=None, include_top=False, input_shape=size)
    randomize(plain, seed=5)
    save_legacy_h5(plain, file)
    monkeypatch.setattr(keras_efficientnet.file_utils, "get_file", lambda *a, **k: str(file))
    fresh_names()
    theirs = KERAS_B0(include_top=False, input_shape=size, pooling="max")
    ours = B0(include_top=False, input_shape=size, pooling="max")
    assert [la.name for la in ours.layers] == [la.name for la in theirs.layers]
    assert ours.layers[3].get_config()["scale"] == pytest.approx(
        theirs.layers[3].get_config()["scale"]
    )
    x = np.random.default_rng(0).uniform(0, 255, (2, *size)).astype("float32")
    expected = np.asarray(theirs.predict(x, verbose=0))
    np.testing.assert_allclose(np.asarray(ours.predict(x, verbose=0)), expected, atol=1e-4)


@pytest.mark.parametrize("key", list(APPLICATIONS_PARITY)[1:])
def test_bigger_variants_architectures_match_keras(key):
    """Every variant's architecture in the default run; their predictions from Keras's
    random weights run under `apps_full` (B0's, through the same builder, run here)."""
    check_variant_architecture(
        *APPLICATIONS_PARITY[key], compare=same_architecture, input_shape=(32, 32, 3)
    )


@pytest.mark.apps_full
@pytest.mark.parametrize("key", list(APPLICATIONS_PARITY)[1:])
def test_bigger_variants_architectures_and_predictions_match_keras(key, tmp_path):
    ours, theirs = APPLICATIONS_PARITY[key]
    check_predictions(ours, theirs, tmp_path, compare=same_architecture, input_shape=(32, 32, 3))


@pytest.mark.parametrize("key", list(MODULE_PARITY))
def test_module_functions_match_keras(key):
    ours, theirs = MODULE_PARITY[key]
    check_module_function(ours, theirs, key.rsplit(".", 1)[1])
    x = np.zeros((1, 4, 4, 3), "float32")
    assert efficientnet.preprocess_input(x) is x  # the identity, as Keras's


def test_arguments_are_checked_like_keras():
    with pytest.raises(ValueError, match="classes=1000"):
        B0(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match="at least 32x32"):
        B0(weights=None, include_top=False, input_shape=(31, 64, 3))
    with pytest.raises(ValueError, match="input_shape"):  # a top with weights: 224x224
        B0(input_shape=(100, 100, 3))
    with pytest.raises(ValueError, match="classifier_activation"):
        B0(weights="imagenet", classifier_activation="relu")
    with pytest.raises(ValueError, match="repeats=0"):
        efficientnet.EfficientNet(
            1.0, 1.0, 224, weights=None, blocks_args=[{"repeats": 0, "filters_in": 32,
                                                       "filters_out": 16}]
        )  # fmt: skip


def test_stochastic_depth_drops_whole_samples():
    """In training, a block's residual branch is kept or dropped per sample, as Keras's
    Dropout(noise_shape=(None, 1, 1, 1)) does; at inference it passes through."""
    model = B0(weights=None, include_top=False, input_shape=(32, 32, 3))
    drop = model.get_layer("block6d_drop")
    assert drop.rate == pytest.approx(0.2 * 14 / 16)  # block 15 of 16
    x = torch.ones(64, 2, 2, 5)
    kept = drop(x, training=True).reshape(64, -1).numpy()
    assert (kept.min(axis=1) == kept.max(axis=1)).all()
    np.testing.assert_allclose(np.unique(kept), [0.0, 1 / (1 - drop.rate)], rtol=1e-6)
    assert torch.equal(drop(x, training=False), x)


def test_signatures_and_names_match_keras():
    for ours, theirs in APPLICATIONS_PARITY.values():
        assert ours.__name__ == theirs.__name__
        assert _params(ours) == _params(theirs)
    assert _params(efficientnet.EfficientNet) == _params(keras_efficientnet.EfficientNet)


def _params(fn):
    return [(p.name, p.default) for p in inspect.signature(fn).parameters.values()]
