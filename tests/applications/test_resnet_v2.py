"""ResNet50V2/101V2/152V2 against Keras 3: architecture, weights files, predictions, scaling."""

from __future__ import annotations

import pytest
from app_parity import (
    check_architecture_keras_order,
    check_module_function,
    check_predictions,
    check_variant_architecture,
    keras,
    keras_ordered_layers,
    same_architecture_keras_order,
)

from lamina.applications import resnet, resnet_v2

APPLICATIONS_PARITY = {
    "applications.ResNet50V2": (resnet_v2.ResNet50V2, keras.applications.ResNet50V2),
    "applications.ResNet101V2": (resnet_v2.ResNet101V2, keras.applications.ResNet101V2),
    "applications.ResNet152V2": (resnet_v2.ResNet152V2, keras.applications.ResNet152V2),
}
MODULE_PARITY = {
    f"applications.resnet_v2.{function}": (resnet_v2, keras.applications.resnet_v2)
    for function in ("preprocess_input", "decode_predictions")
}


def test_architecture_matches_keras():
    """At the default size; the deeper variants' below, at 32x32 (a global pooling: the
    same weights at any size)."""
    check_architecture_keras_order(*APPLICATIONS_PARITY["applications.ResNet50V2"])


def test_resnet50v2_keras_weights_give_keras_predictions(tmp_path):
    ours, theirs = APPLICATIONS_PARITY["applications.ResNet50V2"]
    check_predictions(ours, theirs, tmp_path, legacy=True, input_shape=(32, 32, 3))
    check_predictions(
        ours, theirs, tmp_path, include_top=False, pooling="avg", input_shape=(48, 40, 3)
    )


@pytest.mark.parametrize("key", ["applications.ResNet101V2", "applications.ResNet152V2"])
def test_deeper_architectures_match_keras(key):
    """Every variant's architecture in the default run; their predictions from Keras's
    random weights run under `apps_full` (ResNet50V2's, through the same builder, run here)."""
    check_variant_architecture(
        *APPLICATIONS_PARITY[key],
        compare=same_architecture_keras_order,
        input_shape=(32, 32, 3),
    )


@pytest.mark.apps_full
@pytest.mark.parametrize("key", ["applications.ResNet101V2", "applications.ResNet152V2"])
def test_deeper_architectures_and_keras_weights_match_keras(key, tmp_path):
    check_predictions(
        *APPLICATIONS_PARITY[key],
        tmp_path,
        compare=same_architecture_keras_order,
        input_shape=(32, 32, 3),
    )


def test_preactivation_layout():
    """No BN after the stem (post_bn before the top), strides in each stack's last block
    (an unnamed 1x1 max pooling on its identity shortcut), none in conv5."""
    model = resnet_v2.ResNet50V2(weights=None, include_top=False, pooling="max")
    names = [la.name for la in keras_ordered_layers(model)]
    assert names[1:6] == [
        "conv1_pad",
        "conv1_conv",
        "pool1_pad",
        "pool1_pool",
        "conv2_block1_preact_bn",
    ]
    assert names[-3:] == ["post_bn", "post_relu", "max_pool"]
    pools = [la for la in model.layers if la.name.startswith("max_pooling2d")]
    assert len(pools) == 3  # conv2, conv3 and conv4 stride; conv5 keeps its size
    assert model.get_layer("conv1_conv").use_bias
    assert not model.get_layer("conv2_block1_2_conv").use_bias
    assert tuple(model.get_layer("conv5_block3_out").output.shape) == (None, None, None, 2048)
    assert model.count_params() == 23_564_800


def test_imagenet_weights_use_keras_file_names(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(
        FileNotFoundError, match="resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5"
    ):
        resnet_v2.ResNet50V2(include_top=False)
    for weights_name in ("resnet101v2", "resnet152v2"):
        files = resnet.imagenet_files(weights_name)
        assert (files.folder, files.top, files.notop) == (
            "resnet",
            f"{weights_name}_weights_tf_dim_ordering_tf_kernels.h5",
            f"{weights_name}_weights_tf_dim_ordering_tf_kernels_notop.h5",
        )


@pytest.mark.parametrize("key", MODULE_PARITY)
def test_module_functions_match_keras(key):
    check_module_function(*MODULE_PARITY[key], key.rsplit(".", 1)[1])
