"""EfficientNetV2 B0-B3, S, M, L against Keras 3: architecture, settings, weights, predictions."""

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
from keras.src.applications import efficientnet_v2 as keras_efficientnet_v2

from lamina.applications import app_builder, efficientnet_blocks, efficientnet_v2

VARIANTS = ("B0", "B1", "B2", "B3", "S", "M", "L")
APPLICATIONS_PARITY = {
    f"applications.EfficientNetV2{v}": (
        getattr(efficientnet_v2, f"EfficientNetV2{v}"),
        getattr(keras.applications, f"EfficientNetV2{v}"),
    )
    for v in VARIANTS
}
MODULE_PARITY = {
    f"applications.efficientnet_v2.{f}": (efficientnet_v2, keras.applications.efficientnet_v2)
    for f in ("preprocess_input", "decode_predictions")
}
B0, KERAS_B0 = APPLICATIONS_PARITY["applications.EfficientNetV2B0"]
# Settings that change what a layer computes or how it trains; Keras names swish 'silu'.
SETTINGS = ("axis", "momentum", "epsilon", "rate", "noise_shape", "strides", "padding",
            "activation", "use_bias", "kernel_size", "scale", "offset", "target_shape",
            "mean", "variance")  # fmt: skip


@pytest.fixture(autouse=True)
def cheap_init(monkeypatch):
    """Uniform kernels on both sides instead of the truncated normal, whose rejection
    sampling costs seconds per model. Shapes, names and (randomized, then saved and
    loaded) weights don't depend on it; `monkeypatch.undo()` restores Keras's."""
    uniform = {
        "class_name": "VarianceScaling",
        "config": {"scale": 2.0, "mode": "fan_out", "distribution": "uniform"},
    }
    monkeypatch.setattr(keras_efficientnet_v2, "CONV_KERNEL_INITIALIZER", uniform)
    monkeypatch.setattr(efficientnet_blocks, "CONV_INIT", uniform)


def settings(model):
    found = []
    for layer in model.layers:
        config = layer.get_config()
        for key in SETTINGS:
            if config.get(key) is not None:
                value = config[key]
                value = tuple(value) if isinstance(value, list) else value
                found.append((layer.name, key, "silu" if value == "swish" else value))
    return found


def check_unscaled_predictions(ours, theirs, tmp_path, **kwargs):
    """Without the model's input scaling: inputs in [-1, 1], as such a model expects.
    (Raw pixels would drive the random network far out of float32's exact range.)"""
    keras_model = theirs(weights=None, include_preprocessing=False, **kwargs)
    randomize(keras_model, seed=2)
    x = np.random.default_rng(3).uniform(-1, 1, (2, *keras_model.input_shape[1:]))
    x = x.astype("float32")
    expected = np.asarray(keras_model.predict(x, verbose=0))
    save_legacy_h5(keras_model, tmp_path / "unscaled.h5")
    model = ours(weights=str(tmp_path / "unscaled.h5"), include_preprocessing=False, **kwargs)
    assert not any(type(la).__name__ in ("Rescaling", "Normalization") for la in model.layers)
    with torch.no_grad():
        got = np.asarray(model.predict(x, verbose=0))
    np.testing.assert_allclose(got, expected, atol=1e-4 * max(1.0, np.abs(expected).max()))


def test_architecture_matches_keras():
    """B0 at its default size; the other variants' below, at 32x32 (a global pooling: the
    same weights at any size)."""
    check_architecture(B0, KERAS_B0)


def test_layer_settings_match_keras():
    """Input scaling (V1's for B variants), batch-norm momentum 0.9, dropout rates and
    noise shapes, strides and paddings (S/M/L's scaling: the generic builder's test)."""
    fresh_names()
    expected = settings(KERAS_B0(weights=None, include_top=False, input_shape=(32, 32, 3)))
    assert settings(B0(weights=None, include_top=False, input_shape=(32, 32, 3))) == expected
    assert {s[2] for s in expected if s[1] == "momentum"} == {0.9}
    assert {s[2] for s in expected if s[1] == "noise_shape"} == {(None, 1, 1, 1)}


def test_initializers_are_keras_ones(monkeypatch):
    monkeypatch.undo()  # cheap_init's patch
    assert efficientnet_blocks.CONV_INIT == keras_efficientnet_v2.CONV_KERNEL_INITIALIZER
    assert efficientnet_blocks.DENSE_INIT == keras_efficientnet_v2.DENSE_KERNEL_INITIALIZER


def test_b0_keras_weights_give_keras_predictions(tmp_path):
    fresh_names()
    check_predictions(B0, KERAS_B0, tmp_path, legacy=True, input_shape=(32, 32, 3))
    check_predictions(
        B0, KERAS_B0, tmp_path, include_top=False, pooling="avg", input_shape=(45, 37, 3)
    )
    # one channel: Keras scales to [-1, 1] instead of V1's ImageNet normalization
    check_predictions(
        B0, KERAS_B0, tmp_path, include_top=False, pooling="max", input_shape=(33, 34, 1)
    )


def test_b0_without_preprocessing_gives_keras_predictions(tmp_path):
    check_unscaled_predictions(B0, KERAS_B0, tmp_path, include_top=False, input_shape=(32, 40, 3))


def test_generic_builder_matches_keras(tmp_path):
    """Any width/depth, divisor, minimum depth, momentum, activation and stages; fused
    blocks with squeeze-and-excitation; a name without '-b': scaling to [-1, 1]."""
    stages = [
        {"conv_type": 1, "num_repeat": 2, "input_filters": 16, "output_filters": 16},
        {"conv_type": 1, "num_repeat": 2, "input_filters": 16, "output_filters": 24,
         "expand_ratio": 3, "strides": 2, "se_ratio": 0.5, "kernel_size": 5},
        {"conv_type": 0, "num_repeat": 3, "input_filters": 24, "output_filters": 40,
         "expand_ratio": 2, "strides": 2, "se_ratio": 0.25},
    ]  # fmt: skip
    kwargs = {
        "width_coefficient": 0.7,
        "depth_coefficient": 1.3,
        "default_size": 64,
        "dropout_rate": 0.0,
        "drop_connect_rate": 0.4,
        "depth_divisor": 4,
        "min_depth": 12,
        "bn_momentum": 0.95,
        "activation": "relu",
        "blocks_args": stages,
        "name": "tiny",
    }
    ours = lambda **kw: efficientnet_v2.EfficientNetV2(**kwargs, **kw)  # noqa: E731
    theirs = lambda **kw: keras_efficientnet_v2.EfficientNetV2(**kwargs, **kw)  # noqa: E731
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
    model = ours(weights=None)
    assert settings(model) == settings(theirs(weights=None))
    dense = model.get_layer("predictions").get_config()
    assert dense["kernel_initializer"]["config"]["distribution"] == "uniform"
    assert dense["bias_initializer"]["class_name"] == "Constant"


def test_generic_builder_defaults_come_from_the_name():
    """As in Keras, the name picks the default blocks and the input scaling."""
    for name in ("efficientnetv2-b1",):
        fresh_names()
        args = (1.0, 1.0, 64)
        kw = {"name": name, "include_top": False, "weights": None}
        ours = efficientnet_v2.EfficientNetV2(*args, **kw)
        theirs = keras_efficientnet_v2.EfficientNetV2(*args, **kw)
        assert [la.name for la in ours.layers] == [la.name for la in theirs.layers]
        assert settings(ours) == settings(theirs)
    with pytest.raises(ValueError, match="name='mynet'"):  # Keras: a KeyError
        efficientnet_v2.EfficientNetV2(1.0, 1.0, 64, name="mynet", weights=None)


def test_imagenet_weights_load_from_keras_file_names(tmp_path, monkeypatch):
    monkeypatch.setattr(app_builder, "weight_caches", lambda: [tmp_path])
    url = "https://storage.googleapis.com/tensorflow/keras-applications/efficientnet_v2/"
    with pytest.raises(FileNotFoundError, match=url + "efficientnetv2-b0_notop.h5"):
        B0(include_top=False, input_shape=(32, 32, 3), name="renamed")
    size, file = (40, 40, 3), tmp_path / "efficientnetv2-b0_notop.h5"
    theirs = KERAS_B0(weights=None, include_top=False, input_shape=size, pooling="avg")
    randomize(theirs, seed=5)
    save_legacy_h5(theirs, file)
    ours = B0(include_top=False, input_shape=size, pooling="avg")
    x = np.random.default_rng(0).uniform(0, 255, (2, *size)).astype("float32")
    expected = np.asarray(theirs.predict(x, verbose=0))
    np.testing.assert_allclose(np.asarray(ours.predict(x, verbose=0)), expected, atol=1e-4)


@pytest.mark.parametrize("key", list(APPLICATIONS_PARITY)[1:])
def test_bigger_variants_architectures_match_keras(key):
    """B1-B3's and S/M/L's architectures in the default run; their predictions from Keras's
    random weights run under `apps_full` (B0's, through the same builder, run here)."""
    check_variant_architecture(
        *APPLICATIONS_PARITY[key], compare=same_architecture, input_shape=(32, 32, 3)
    )


@pytest.mark.apps_full
@pytest.mark.parametrize("key", list(APPLICATIONS_PARITY)[1:4])
def test_bigger_b_variants_architectures_and_predictions_match_keras(key, tmp_path):
    ours, theirs = APPLICATIONS_PARITY[key]
    check_predictions(ours, theirs, tmp_path, compare=same_architecture, input_shape=(32, 32, 3))


@pytest.mark.apps_full
@pytest.mark.parametrize("key", list(APPLICATIONS_PARITY)[4:])
def test_s_m_l_architectures_and_predictions_match_keras(key, tmp_path):
    """Random batch-norm statistics make the 40-80 blocks of S/M/L chaotic: float32
    rounding differences grow block by block (M's logits differ by half their scale).
    Damped residual branches (project_bn's gamma / 4) keep the network stable, and
    every weight still shapes the output. The architecture is compared on the same builds."""
    ours, theirs = APPLICATIONS_PARITY[key]
    fresh_names()
    keras_model = theirs(weights=None, input_shape=(32, 32, 3))
    randomize(keras_model)
    for layer in keras_model.layers:
        if layer.name.endswith("project_bn"):
            gamma, *rest = layer.get_weights()
            layer.set_weights([gamma / 4, *rest])
    x = np.random.default_rng(1).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    expected = np.asarray(keras_model.predict(x, verbose=0))
    keras_model.save_weights(tmp_path / "keras.weights.h5")
    model = ours(weights=str(tmp_path / "keras.weights.h5"), input_shape=(32, 32, 3))
    same_architecture(model, keras_model)
    with torch.no_grad():
        got = np.asarray(model.predict(x, verbose=0))
    assert expected.std() > 1e-4  # not a constant output
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("key", list(MODULE_PARITY))
def test_module_functions_match_keras(key):
    ours, theirs = MODULE_PARITY[key]
    check_module_function(ours, theirs, key.rsplit(".", 1)[1])
    x = np.zeros((1, 4, 4, 3), "float32")
    assert efficientnet_v2.preprocess_input(x) is x  # the identity, as Keras's


def test_arguments_are_checked_like_keras():
    with pytest.raises(ValueError, match="classes=1000"):
        B0(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match="at least 32x32"):
        B0(weights=None, include_top=False, input_shape=(31, 64, 3))
    with pytest.raises(ValueError, match="input_shape"):  # a top with weights: 224x224
        B0(input_shape=(100, 100, 3))
    with pytest.raises(ValueError, match="classifier_activation"):
        B0(weights="imagenet", classifier_activation="relu")
    stages = [{"conv_type": 0, "num_repeat": 0, "input_filters": 32, "output_filters": 16}]
    with pytest.raises(ValueError, match="num_repeat=0"):
        efficientnet_v2.EfficientNetV2(1.0, 1.0, 224, weights=None, blocks_args=stages)


def test_signatures_and_names_match_keras():
    for ours, theirs in APPLICATIONS_PARITY.values():
        assert ours.__name__ == theirs.__name__
        assert _params(ours) == _params(theirs)
    assert _params(efficientnet_v2.EfficientNetV2) == _params(keras_efficientnet_v2.EfficientNetV2)


def _params(fn):
    return [(p.name, p.default) for p in inspect.signature(fn).parameters.values()]
