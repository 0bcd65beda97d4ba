"""NASNetMobile and NASNetLarge against Keras 3 and against an independent NumPy forward pass.

Keras 3 refuses `NASNetMobile` on its torch backend: "not available with the torch
backend at this time due to an outstanding bug" (keras-team/keras#18451, June 2023:
"pretrained NASNetMobile incorrect inference with torch backend"; Keras's own tests skip
it as "NASNetMobile pretrained incorrect with torch backend"). The likely cause is the
bug reported the day before, keras-team/keras#18452: the early torch backend could not
exclude 'same' padding from averages, while NASNet's cells average 3x3 windows with
'same' padding (TensorFlow divides by the pixels inside the image).
Keras 3.15's torch average pooling passes `count_include_pad=False`, which is exact where
'same' pads evenly, as for NASNet's only 'same' averages (3x3, stride 1); the refusal was
never lifted. (Where 'same' pads unevenly, e.g. 3x3 windows with stride 2 on an even
size, Keras 3.15's torch backend still repeats the edge pixels, unlike TensorFlow and
Lamina; NASNet has no such pooling.)
Only the `NASNetMobile` wrapper refuses: `keras.src.applications.nasnet.NASNet`, the
builder it calls, runs on torch, and `keras_nasnet_mobile` below calls it with the
wrapper's arguments.

What is checked, and why Keras-torch is a trustworthy oracle here:
- `test_mobile_at_default_size_matches_keras_and_numpy`: at 224x224 (the configuration
  of the Keras issue), Keras-torch's outputs and Lamina's, from the same random weights
  with random batch-norm statistics, both agree with `numpy_reference` (a float64 NumPy
  evaluation of every layer with TensorFlow's padding and averaging rules). The
  reference is sensitive to the suspect pieces: counting the padding in the 3x3
  averages, or cropping the other corner in `_adjust`, or padding the other side,
  moves the outputs by 0.2 to 4 (of 16), against the 1e-5 agreement.
  (Run once by hand, NASNetLarge at 331x331 agrees with the reference as well: 1.4e-5
  for Lamina, 5e-5 for Keras-torch, on outputs of magnitude 49.)
- architecture (names in Keras's layer order, weight shapes, parameter count) and
  predictions from Keras's `.weights.h5` and legacy `.h5` files, against Keras-torch.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from app_parity import (
    check_predictions,
    check_variant_architecture,
    keras,
    randomize,
    same_architecture_keras_order,
)
from keras.src.applications import nasnet as keras_nasnet
from numpy_reference import lamina_forward

import lamina
from lamina.applications import app_builder, imagenet_utils, nasnet


def keras_nasnet_mobile(
    input_shape=None,
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="nasnet_mobile",
):
    """Keras's `NASNetMobile` without its torch-backend refusal: its defaults, its call."""
    if not include_top and input_shape is None:
        input_shape = (224, 224, 3)
    return keras_nasnet.NASNet(
        input_shape,
        penultimate_filters=1056,
        num_blocks=4,
        stem_block_filters=32,
        skip_reduction=False,
        filter_multiplier=2,
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        pooling=pooling,
        classes=classes,
        default_size=224,
        classifier_activation=classifier_activation,
        name=name,
    )


APPLICATIONS_PARITY = {
    "applications.NASNetMobile": (nasnet.NASNetMobile, keras_nasnet_mobile),
    "applications.NASNetLarge": (nasnet.NASNetLarge, keras.applications.NASNetLarge),
}
MODULE_PARITY = {
    "applications.nasnet.preprocess_input": (nasnet, keras.applications.nasnet),
    "applications.nasnet.decode_predictions": (nasnet, keras.applications.nasnet),
}
# A small NASNet from the generic builder, for the cases both variants share.
SMALL = {"penultimate_filters": 96, "num_blocks": 1, "stem_block_filters": 8}


def build_both(ours_fn, theirs_fn, **kwargs):
    keras.backend.clear_session(free_memory=False)  # names from zero; collecting costs ~1 s
    lamina.backend.clear_session(free_memory=False)
    theirs = theirs_fn(weights=None, **kwargs)
    return ours_fn(weights=None, **kwargs), theirs


def test_keras_refuses_nasnet_mobile_on_torch():
    with pytest.raises(ValueError, match="torch backend"):
        keras.applications.NASNetMobile(weights=None)


def test_mobile_at_default_size_matches_keras_and_numpy(tmp_path):
    # logits (no softmax to flatten the differences); the architecture is the default one
    mobile = APPLICATIONS_PARITY["applications.NASNetMobile"]
    ours, theirs = build_both(*mobile, classifier_activation=None)
    same_architecture_keras_order(ours, theirs)
    assert ours.input_shape == (None, 224, 224, 3)
    randomize(theirs)
    theirs.save_weights(tmp_path / "mobile.weights.h5")
    ours.load_weights(tmp_path / "mobile.weights.h5")
    x = np.random.default_rng(1).uniform(-1, 1, (1, 224, 224, 3)).astype("float32")
    expected = lamina_forward(ours, x)
    with torch.no_grad():
        got = np.asarray(ours.predict(x, verbose=0))
    keras_got = np.asarray(theirs.predict(x, verbose=0))
    scale = float(np.abs(expected).max())
    assert scale > 1.0
    assert np.abs(got - expected).max() <= 1e-5 * scale
    assert np.abs(keras_got - expected).max() <= 1e-5 * scale


def test_keras_weights_give_keras_predictions(tmp_path):
    ours, theirs = APPLICATIONS_PARITY["applications.NASNetMobile"]
    check_predictions(
        ours, theirs, tmp_path, legacy=True, input_shape=(32, 32, 3), classifier_activation=None
    )


def test_large_architecture_matches_keras():
    """Names in Keras's layer order, weight shapes and parameter count at 32x32 (a global
    pooling: the same weights at any size); its predictions from Keras's random weights
    run under `apps_full` (NASNetMobile's, through the same builder, run here). The
    default size, 331x331, is the one ImageNet's weights require."""
    ours, theirs = APPLICATIONS_PARITY["applications.NASNetLarge"]
    check_variant_architecture(
        ours, theirs, compare=same_architecture_keras_order, input_shape=(32, 32, 3)
    )
    with pytest.raises(ValueError, match=r"\(331, 331, 3\)"):
        ours(input_shape=(224, 224, 3))


@pytest.mark.apps_full
def test_large_architecture_and_predictions_match_keras(tmp_path):
    """Names in Keras's layer order, weight shapes and parameter count on the builds the
    predictions use (a global pooling: the same weights at any size); the default size,
    331x331, is the one ImageNet's weights require."""
    ours, theirs = APPLICATIONS_PARITY["applications.NASNetLarge"]
    check_predictions(
        ours, theirs, tmp_path, compare=same_architecture_keras_order, input_shape=(32, 32, 3)
    )
    with pytest.raises(ValueError, match=r"\(331, 331, 3\)"):
        ours(input_shape=(224, 224, 3))


@pytest.mark.parametrize(
    "kwargs, legacy",
    [
        ({"include_top": False, "pooling": "avg", "input_shape": (47, 53, 3)}, True),
        (
            {
                "include_top": False,
                "pooling": "max",
                "skip_reduction": False,
                "filter_multiplier": 1,
                "input_shape": (64, 32, 1),
            },
            False,
        ),
    ],
)
def test_generic_builder_matches_keras(kwargs, legacy, tmp_path):
    kwargs = {**SMALL, "name": "nasnet_test", **kwargs}
    check_predictions(
        nasnet.NASNet,
        keras_nasnet.NASNet,
        tmp_path,
        legacy=legacy,
        compare=same_architecture_keras_order,
        **kwargs,
    )


@pytest.mark.parametrize("key", MODULE_PARITY)
def test_module_functions_match_keras(key):
    ours, theirs = MODULE_PARITY[key]
    images = np.random.default_rng(0).integers(0, 256, (2, 8, 8, 3)).astype("float32")
    if key.endswith("preprocess_input"):
        np.testing.assert_allclose(
            ours.preprocess_input(images), theirs.preprocess_input(images.copy()), rtol=1e-6
        )
        return
    preds = np.random.default_rng(1).dirichlet(np.ones(1000), size=2).astype("float32")
    got = ours.decode_predictions(preds, top=3)
    order = np.argsort(-preds, axis=1)[:, :3]
    index = imagenet_utils.class_index()  # Keras downloads the same table; Lamina ships it
    assert got == [[(*index[str(j)], preds[i, j]) for j in order[i]] for i in range(2)]


def test_imagenet_weights_come_from_keras_file_names(tmp_path, monkeypatch):
    monkeypatch.setattr(app_builder, "weight_caches", lambda: [tmp_path])
    # Keras downloads NASNet-mobile-no-top.h5 and caches it as nasnet_mobile_no_top.h5
    with pytest.raises(FileNotFoundError, match="nasnet/NASNet-mobile-no-top.h5"):
        nasnet.NASNetMobile(include_top=False)
    with pytest.raises(FileNotFoundError, match="nasnet/NASNet-large.h5"):
        nasnet.NASNetLarge()
    small = {"input_shape": (32, 32, 3), "include_top": False}
    model = nasnet.NASNet(weights=None, **SMALL, default_size=224, **small)
    for name in ("nasnet_mobile_no_top.h5", "NASNet-mobile-no-top.h5"):
        file = tmp_path / "file.weights.h5"
        model.save_weights(file)
        file.rename(tmp_path / name)
        loaded = nasnet.NASNet(weights="imagenet", **SMALL, default_size=224, **small)
        for a, b in zip(loaded.get_weights(), model.get_weights()):
            np.testing.assert_array_equal(a, b)
        (tmp_path / name).unlink()


def test_arguments_are_checked_like_keras():
    with pytest.raises(ValueError, match="classes=1000"):
        nasnet.NASNetMobile(classes=10)
    with pytest.raises(ValueError, match="at least 32x32"):
        nasnet.NASNetMobile(weights=None, include_top=False, input_shape=(24, 24, 3))
    with pytest.raises(ValueError, match="static input_shape"):
        nasnet.NASNetLarge(include_top=False, input_shape=(None, None, 3))
    with pytest.raises(ValueError, match="multiple of 24"):
        nasnet.NASNet(weights=None, penultimate_filters=100, include_top=False)
    with pytest.raises(ValueError, match="default_size=100"):
        nasnet.NASNet(default_size=100)
    with pytest.raises(ValueError, match="input_shape"):  # a top with weights: the weights' size
        nasnet.NASNetMobile(input_shape=(200, 200, 3))


def test_input_tensor_is_the_model_input():
    inputs = lamina.Input(shape=(64, 64, 3))
    model = nasnet.NASNetMobile(weights=None, include_top=False, pooling="avg", input_tensor=inputs)
    assert model.inputs[0] is inputs
    assert model.output_shape == (None, 1056)
