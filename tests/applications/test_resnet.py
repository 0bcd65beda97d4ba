"""ResNet50/101/152 against Keras 3: architecture, weights files, predictions, input scaling."""

from __future__ import annotations

import numpy as np
import pytest
from app_parity import (
    check_architecture_keras_order,
    check_module_function,
    check_predictions,
    check_variant_architecture,
    fresh_names,
    keras,
    keras_ordered_layers,
    same_architecture_keras_order,
)
from keras.src.applications import resnet as keras_resnet

from lamina.applications import resnet, resnet50

APPLICATIONS_PARITY = {
    "applications.ResNet50": (resnet.ResNet50, keras.applications.ResNet50),
    "applications.ResNet101": (resnet.ResNet101, keras.applications.ResNet101),
    "applications.ResNet152": (resnet.ResNet152, keras.applications.ResNet152),
}
MODULE_PARITY = {
    f"applications.{module}.{function}": (ours, theirs)
    for module, ours, theirs in (
        ("resnet", resnet, keras.applications.resnet),
        ("resnet50", resnet50, keras.applications.resnet50),
    )
    for function in ("preprocess_input", "decode_predictions")
}


def test_architecture_matches_keras():
    """At the default size; the deeper variants' below, at 32x32 (a global pooling: the
    same weights at any size)."""
    check_architecture_keras_order(*APPLICATIONS_PARITY["applications.ResNet50"])


def test_resnet50_keras_weights_give_keras_predictions(tmp_path):
    ours, theirs = APPLICATIONS_PARITY["applications.ResNet50"]
    check_predictions(ours, theirs, tmp_path, legacy=True, input_shape=(32, 32, 3))
    check_predictions(
        ours, theirs, tmp_path, include_top=False, pooling="max", input_shape=(40, 48, 3)
    )


@pytest.mark.parametrize("key", ["applications.ResNet101", "applications.ResNet152"])
def test_deeper_architectures_match_keras(key):
    """Every variant's architecture in the default run; their predictions from Keras's
    random weights run under `apps_full` (ResNet50's, through the same builder, run here)."""
    check_variant_architecture(
        *APPLICATIONS_PARITY[key],
        compare=same_architecture_keras_order,
        input_shape=(32, 32, 3),
    )


@pytest.mark.apps_full
@pytest.mark.parametrize("key", ["applications.ResNet101", "applications.ResNet152"])
def test_deeper_architectures_and_keras_weights_match_keras(key, tmp_path):
    check_predictions(
        *APPLICATIONS_PARITY[key],
        tmp_path,
        compare=same_architecture_keras_order,
        input_shape=(32, 32, 3),
    )


@pytest.mark.parametrize("preact, use_bias", [(False, False), (True, True)])
def test_generic_builder_matches_keras(preact, use_bias):
    """`ResNet(stack_fn, preact, use_bias)` with Keras's block stacks, tiny depths."""
    blocks = "v2" if preact else "v1"

    def stacks(module):
        stack = getattr(module, f"stack_residual_blocks_{blocks}")
        return lambda x: stack(stack(x, 16, 2, stride1=1, name="conv2"), 32, 2, name="conv3")

    def build(module):
        return lambda **kw: module.ResNet(stacks(module), preact, use_bias, name="tiny", **kw)

    check_architecture_keras_order(
        build(resnet), build(keras_resnet), input_shape=(32, 32, 3), classes=7
    )


def test_layer_order_differs_only_where_keras_sorts_by_depth():
    """Lamina lists a projection block's shortcut first; Keras (and its weights files)
    list it after the main branch's second convolution."""
    model = resnet.ResNet50(weights=None)
    names = [la.name for la in keras_ordered_layers(model)]
    assert names[7:15] == [
        "conv2_block1_1_conv",
        "conv2_block1_1_bn",
        "conv2_block1_1_relu",
        "conv2_block1_2_conv",
        "conv2_block1_2_bn",
        "conv2_block1_2_relu",
        "conv2_block1_0_conv",
        "conv2_block1_3_conv",
    ]
    assert names[-2:] == ["avg_pool", "predictions"]
    assert model.count_params() == 25_636_712
    headless = resnet.ResNet50(weights=None, include_top=False, pooling="max")
    assert [la.name for la in headless.layers][-2:] == ["conv5_block3_out", "max_pool"]


def test_imagenet_weights_are_found_in_keras_cache(tmp_path, monkeypatch):
    """weights='imagenet' reads Keras's cached file for the variant and the top (here
    without it, average-pooled: Keras's layer names and order, 'avg_pool' last)."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (tmp_path / "models").mkdir()
    fresh_names()  # both models' input layers are then named 'input_layer'
    kwargs = {"include_top": False, "pooling": "avg", "input_shape": (32, 32, 3)}
    theirs = keras.applications.ResNet50(weights=None, **kwargs)
    theirs.save_weights(tmp_path / "k.weights.h5")
    (tmp_path / "k.weights.h5").rename(
        tmp_path / "models" / "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
    )
    ours = resnet50.ResNet50(**kwargs)
    assert [la.name for la in keras_ordered_layers(ours)] == [la.name for la in theirs.layers]
    by_name = {w.path: np.asarray(w.numpy()) for w in theirs.weights}
    np.testing.assert_array_equal(
        ours.get_layer("conv5_block3_3_conv").get_weights()[0],
        by_name["conv5_block3_3_conv/kernel"],
    )
    with pytest.raises(FileNotFoundError, match="resnet50_weights_tf_dim_ordering_tf_kernels.h5"):
        resnet.ResNet50()  # the file with the top is not cached
    keras.backend.clear_session()


@pytest.mark.parametrize("weights_name", ["resnet101", "resnet152"])
def test_imagenet_file_names_are_keras(weights_name):
    files = resnet.imagenet_files(weights_name)
    assert files.folder == "resnet"  # under Keras's .../keras-applications/resnet/
    assert files.top == f"{weights_name}_weights_tf_dim_ordering_tf_kernels.h5"
    assert files.notop == f"{weights_name}_weights_tf_dim_ordering_tf_kernels_notop.h5"


def test_argument_checks_match_keras():
    with pytest.raises(ValueError, match="classes=1000"):
        resnet.ResNet50(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match="at least 32x32"):
        resnet.ResNet50(weights=None, include_top=False, input_shape=(31, 64, 3))
    with pytest.raises(ValueError, match="existing weights file"):
        resnet.ResNet101(weights="no/such/file.h5")
    with pytest.raises(ValueError, match="classifier_activation"):
        resnet.ResNet50(weights="imagenet", classifier_activation="relu")
    with pytest.raises(ValueError, match="no ImageNet weights"):
        resnet.ResNet(resnet.v1_stacks((1, 1, 1, 1)), False, True, include_top=False)


def test_resnet50_module_is_keras_resnet50_module():
    assert resnet50.ResNet50 is resnet.ResNet50
    assert resnet50.preprocess_input is resnet.preprocess_input
    assert resnet50.decode_predictions is resnet.decode_predictions


@pytest.mark.parametrize("key", MODULE_PARITY)
def test_module_functions_match_keras(key):
    check_module_function(*MODULE_PARITY[key], key.rsplit(".", 1)[1])
