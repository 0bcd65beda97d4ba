"""ConvNeXt against Keras 3: architecture, weights files, predictions, its custom layers.

Keras adds each block's residual with `inputs + x`, which Keras records as an `add`
operation, not a layer: Keras's `model.layers` omits it, its `model.operations` lists
it. Lamina records an `Add` layer of the same automatic name, so Lamina's layers are
compared with Keras's operations (names and class names, in order).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from app_parity import (
    check_predictions,
    check_variant_architecture,
    keras,
    keras_weight_shapes,
    lamina_weight_shapes,
)
from keras.src.applications import convnext as keras_convnext
from layer_harness import run_layer_test

import lamina
from lamina.applications import app_builder, convnext, imagenet_utils
from lamina.applications.convnext_layers import LayerScale, StochasticDepth
from lamina.models import Functional

APPLICATIONS_PARITY = {
    "applications.ConvNeXtTiny": (convnext.ConvNeXtTiny, keras.applications.ConvNeXtTiny),
    "applications.ConvNeXtSmall": (convnext.ConvNeXtSmall, keras.applications.ConvNeXtSmall),
    "applications.ConvNeXtBase": (convnext.ConvNeXtBase, keras.applications.ConvNeXtBase),
    "applications.ConvNeXtLarge": (convnext.ConvNeXtLarge, keras.applications.ConvNeXtLarge),
    "applications.ConvNeXtXLarge": (convnext.ConvNeXtXLarge, keras.applications.ConvNeXtXLarge),
}
MODULE_PARITY = {
    "applications.convnext.preprocess_input": (convnext, keras.applications.convnext),
    "applications.convnext.decode_predictions": (convnext, keras.applications.convnext),
}
# A small ConvNeXt from the generic builder, for the cases every variant shares.
SMALL = {"depths": [1, 1, 2, 1], "projection_dims": [8, 16, 24, 32], "name": "convnext_small_test"}


def _marked(keys, full):
    return [pytest.param(k, marks=pytest.mark.apps_full) if k in full else k for k in keys]


def with_scales(keras_fn):
    """Keras's constructor, with LayerScale's gammas (1e-6 at first) set to random values of
    order one, so every block counts in the outputs (`randomize` keeps such weights)."""

    def build(**kwargs):
        model = keras_fn(**kwargs)
        rng = np.random.default_rng(7)
        for layer in model.layers:
            if type(layer).__name__ == "LayerScale":
                layer.set_weights([rng.uniform(0.2, 0.6, (layer.projection_dim,))])
        return model

    return build


def same_architecture_with_ops(ours, theirs) -> None:
    """Same parameter count and weight shapes in order, and Lamina's layers are Keras's
    operations: the same names and class names (Keras's `add` ops are Lamina's Add layers)."""
    assert ours.count_params() == theirs.count_params()
    assert lamina_weight_shapes(ours) == keras_weight_shapes(theirs)
    expected = [(op.name, type(op).__name__) for op in theirs.operations]
    assert [(la.name, type(la).__name__) for la in ours.layers] == expected
    named = {la.name for la in theirs.layers}
    assert {la.name for la in ours.layers if type(la).__name__ != "Add"} == named


def check_architecture_with_ops(lamina_fn, keras_fn, **kwargs) -> None:
    """`same_architecture_with_ops` of the two networks built with `weights=None`."""
    check_variant_architecture(lamina_fn, keras_fn, compare=same_architecture_with_ops, **kwargs)


def test_architecture_matches_keras():
    """Tiny at its default size; the bigger variants' below, at 32x32 (a global pooling:
    the same weights at any size)."""
    check_architecture_with_ops(*APPLICATIONS_PARITY["applications.ConvNeXtTiny"])


@pytest.mark.parametrize("key", [k for k in APPLICATIONS_PARITY if "Tiny" not in k])
def test_bigger_variants_architectures_match_keras(key):
    """Every variant's architecture in the default run; their predictions from Keras's
    random weights run under `apps_full` (Tiny's, through the same builder, run here)."""
    check_variant_architecture(
        *APPLICATIONS_PARITY[key], compare=same_architecture_with_ops, input_shape=(32, 32, 3)
    )


def test_keras_weights_give_keras_predictions(tmp_path):
    ours, theirs = APPLICATIONS_PARITY["applications.ConvNeXtTiny"]
    # logits: a softmax over 1,000 classes would hide differences under the tolerance
    check_predictions(
        ours,
        with_scales(theirs),
        tmp_path,
        legacy=True,
        input_shape=(32, 32, 3),
        classifier_activation=None,
    )


@pytest.mark.parametrize(
    "key", _marked([k for k in APPLICATIONS_PARITY if "Tiny" not in k], APPLICATIONS_PARITY)
)
def test_bigger_variants_architectures_and_predictions_match_keras(key, tmp_path):
    ours, theirs = APPLICATIONS_PARITY[key]
    check_predictions(
        ours,
        with_scales(theirs),
        tmp_path,
        compare=same_architecture_with_ops,
        input_shape=(32, 32, 3),
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"include_top": False, "pooling": "avg", "input_shape": (40, 32, 3)},
        {"include_top": False, "pooling": "max", "input_shape": (32, 48, 3)},
        {"include_top": False, "include_preprocessing": False, "input_shape": (64, 32, 3)},
        {
            "classes": 7,
            "classifier_activation": None,
            "drop_path_rate": 0.4,
            "layer_scale_init_value": None,
            "input_shape": (32, 32, 3),
        },
    ],
)
def test_generic_builder_matches_keras(kwargs, tmp_path):
    ours, theirs = convnext.ConvNeXt, keras_convnext.ConvNeXt
    check_architecture_with_ops(ours, theirs, **SMALL, **kwargs)
    check_predictions(ours, with_scales(theirs), tmp_path, legacy=True, **SMALL, **kwargs)


def test_drop_path_rates_grow_linearly_over_the_blocks():
    model = convnext.ConvNeXt(**SMALL, drop_path_rate=0.3, input_shape=(32, 32, 3))
    found = {la.name: la.drop_path_rate for la in model.layers if isinstance(la, StochasticDepth)}
    rates = np.linspace(0.0, 0.3, 5)  # the first block's rate is 0: an identity Activation
    assert list(found.values()) == pytest.approx(rates[1:].tolist())
    assert "convnext_small_test_stage_0_block_0_identity" in [la.name for la in model.layers]
    assert list(found)[0] == "convnext_small_test_stage_1_block_0_stochastic_depth"


def test_stochastic_depth_drops_whole_samples_while_training():
    layer = StochasticDepth(0.25)
    x = torch.rand(4000, 3, 2) + 0.5
    torch.manual_seed(0)
    out = layer(x, training=True)
    kept = (out != 0).all(dim=(1, 2))
    assert torch.equal(kept, (out != 0).any(dim=(1, 2)))  # all or nothing per sample
    torch.testing.assert_close(out[kept], x[kept] / 0.75)
    fraction = kept.float().mean().item()
    assert abs(fraction - 0.75) < 4 * (0.75 * 0.25 / 4000) ** 0.5
    assert torch.equal(layer(x), x) and torch.equal(layer(x, training=False), x)
    torch.manual_seed(0)
    torch.testing.assert_close(layer(x, training=True), out)  # torch's seed reproduces it


def test_stochastic_depth_keeps_keras_expectation():
    """Keras's layer and Lamina's keep the same fraction of samples, from different streams."""
    keras.utils.set_random_seed(0)
    theirs = keras_convnext.StochasticDepth(0.4)
    x = np.ones((3000, 2), "float32")
    keras_kept = (np.asarray(theirs(x, training=True))[:, 0] != 0).mean()
    torch.manual_seed(0)
    ours_kept = StochasticDepth(0.4)(torch.ones(3000, 2), training=True)[:, 0] != 0
    bound = 4 * (0.6 * 0.4 / 3000) ** 0.5
    assert abs(keras_kept - 0.6) < bound and abs(ours_kept.float().mean().item() - 0.6) < bound


def test_model_with_drop_path_trains_randomly_and_predicts_deterministically():
    model = convnext.ConvNeXt(
        **SMALL,
        drop_path_rate=0.5,
        layer_scale_init_value=1.0,
        input_shape=(32, 32, 3),
        classifier_activation=None,
    )
    x = torch.rand(4, 32, 32, 3) * 255
    with torch.no_grad():
        first, second = model(x), model(x)
        torch.manual_seed(1)
        trained = [model(x, training=True) for _ in range(4)]
    torch.testing.assert_close(first, second)
    assert any(not torch.allclose(t, first) for t in trained)


def test_layer_scale_passes_the_layer_harness():
    run_layer_test(
        LayerScale,
        {"init_values": 0.1, "projection_dim": 4},
        input_shape=(2, 3, 4),
        expected_output_shape=(2, 3, 4),
        expected_num_params=4,
        reference=lambda x, w: x * w[0],
        compiled_fit=False,
    )


def test_stochastic_depth_passes_the_layer_harness():
    run_layer_test(
        StochasticDepth,
        {"drop_path_rate": 0.3},
        input_shape=(4, 3, 2),
        expected_output_shape=(4, 3, 2),
        expected_num_params=0,
        reference=lambda x, w: x,
        compiled_fit=False,
    )


def test_custom_layers_match_keras_configs_and_weights():
    theirs = keras_convnext.LayerScale(0.5, 3, name="scale")
    theirs.build((None, 3))
    ours = LayerScale(0.5, 3, name="scale")
    ours.build((None, 3))
    np.testing.assert_array_equal(ours.get_weights()[0], np.asarray(theirs.get_weights()[0]))
    for ours_layer, theirs_layer in [
        (ours, theirs),
        (StochasticDepth(0.2, name="sd"), keras_convnext.StochasticDepth(0.2, name="sd")),
    ]:
        keys = set(theirs_layer.get_config()) - {"dtype"}
        ours_config, theirs_config = ours_layer.get_config(), theirs_layer.get_config()
        assert {k: ours_config[k] for k in keys} == {k: theirs_config[k] for k in keys}
    with pytest.raises(ValueError, match=r"drop_path_rate in \[0, 1\), received: drop_path_rate=1"):
        StochasticDepth(1)
    with pytest.raises(ValueError, match="projection_dim=0"):
        LayerScale(0.1, 0)


def test_config_round_trip_rebuilds_the_custom_layers():
    model = convnext.ConvNeXt(**SMALL, drop_path_rate=0.2, input_shape=(32, 32, 3))
    config = json.loads(json.dumps(model.get_config()))
    rebuilt = Functional.from_config(config)
    rebuilt.set_weights(model.get_weights())
    x = torch.rand(2, 32, 32, 3) * 255
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(x), model(x))
    assert [type(la).__name__ for la in rebuilt.layers] == [
        type(la).__name__ for la in model.layers
    ]


@pytest.mark.parametrize("key", MODULE_PARITY)
def test_module_functions_match_keras(key):
    ours, theirs = MODULE_PARITY[key]
    images = np.random.default_rng(0).integers(0, 256, (2, 8, 8, 3)).astype("float32")
    if key.endswith("preprocess_input"):
        assert ours.preprocess_input(images) is images  # the identity, as Keras's
        np.testing.assert_array_equal(
            ours.preprocess_input(images), theirs.preprocess_input(images)
        )
        return
    preds = np.random.default_rng(1).dirichlet(np.ones(1000), size=2).astype("float32")
    got = ours.decode_predictions(preds, top=3)
    order = np.argsort(-preds, axis=1)[:, :3]
    index = imagenet_utils.class_index()  # Keras downloads the same table; Lamina ships it
    assert got == [[(*index[str(j)], preds[i, j]) for j in order[i]] for i in range(2)]


def test_imagenet_weights_come_from_keras_file_names(tmp_path, monkeypatch):
    monkeypatch.setattr(app_builder, "weight_caches", lambda: [tmp_path])
    with pytest.raises(FileNotFoundError, match="convnext/convnext_small_notop.h5"):
        convnext.ConvNeXtSmall(include_top=False, input_shape=(32, 32, 3))
    with pytest.raises(FileNotFoundError, match="convnext/convnext_base.h5"):
        convnext.ConvNeXtBase(name="my_convnext_base")


def test_arguments_are_checked_like_keras():
    with pytest.raises(ValueError, match="classes=1000"):
        convnext.ConvNeXtTiny(classes=10)
    with pytest.raises(ValueError, match="at least 32x32"):
        convnext.ConvNeXtTiny(weights=None, include_top=False, input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match="name='my_model'"):  # Keras: the name names the file
        convnext.ConvNeXtTiny(name="my_model")
    with pytest.raises(ValueError, match=r"depths=\[1, 1, 2, 1\]"):
        convnext.ConvNeXt(
            **SMALL, weights="imagenet", weights_name="convnext_tiny", include_top=False
        )
    with pytest.raises(ValueError, match="existing weights file"):
        convnext.ConvNeXtTiny(weights="no/such/file.h5")


def test_include_preprocessing_needs_three_channels():
    # Keras normalizes only 3-channel inputs; other inputs enter the stem unchanged
    model = convnext.ConvNeXt(**SMALL, include_top=False, input_shape=(32, 32, 1))
    assert not any(isinstance(la, lamina.layers.Normalization) for la in model.layers)
    inputs = lamina.Input(shape=(32, 32, 3))
    model = convnext.ConvNeXtTiny(weights=None, include_top=False, input_tensor=inputs)
    assert model.inputs[0] is inputs
    assert model.layers[1].name == "convnext_tiny_prestem_normalization"
