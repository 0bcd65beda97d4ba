"""The shared application pieces against Keras 3: ImageNet scaling, class names, input shapes,
padding, the classifier check, and where `weights='imagenet'` looks for Keras's files."""

from __future__ import annotations

import hashlib
import inspect
import re
import warnings
from importlib import resources
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from app_parity import keras
from keras.src.applications import imagenet_utils as keras_utils

from lamina import activations, layers
from lamina.applications import app_builder, imagenet_utils, vgg16
from lamina.applications.app_builder import ImagenetFiles

IMAGENET_UTILS_PARITY = {
    "applications.imagenet_utils.preprocess_input": (
        imagenet_utils.preprocess_input,
        keras.applications.imagenet_utils.preprocess_input,
    ),
    "applications.imagenet_utils.decode_predictions": (
        imagenet_utils.decode_predictions,
        keras.applications.imagenet_utils.decode_predictions,
    ),
}
MODES = ("caffe", "tf", "torch")
PREPROCESS = [k for k in IMAGENET_UTILS_PARITY if k.endswith("preprocess_input")]
DECODE = [k for k in IMAGENET_UTILS_PARITY if k.endswith("decode_predictions")]


def _images(shape, dtype):
    values = np.random.default_rng(0).integers(0, 256, shape)
    return values.astype(dtype)


# ---- preprocess_input


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("dtype", ["uint8", "float32", "float64"])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("key", PREPROCESS)
def test_preprocess_numpy_matches_keras(key, mode, data_format, dtype, batched):
    preprocess, keras_preprocess = IMAGENET_UTILS_PARITY[key]
    shape = (2, 5, 4, 3) if data_format == "channels_last" else (2, 3, 5, 4)
    x = _images(shape if batched else shape[1:], dtype)
    original = x.copy()
    ours = preprocess(x, data_format=data_format, mode=mode)
    theirs = keras_preprocess(x.copy(), data_format=data_format, mode=mode)
    assert isinstance(ours, np.ndarray) and ours.dtype == theirs.dtype
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-5)
    np.testing.assert_array_equal(x, original)  # Keras scales a float input in place; we don't


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("key", PREPROCESS)
def test_preprocess_tensors_match_keras(key, mode, data_format):
    preprocess, keras_preprocess = IMAGENET_UTILS_PARITY[key]
    shape = (2, 5, 4, 3) if data_format == "channels_last" else (2, 3, 5, 4)
    x = torch.from_numpy(_images(shape, "float32"))
    ours = preprocess(x, data_format=data_format, mode=mode)
    theirs = keras_preprocess(x.clone(), data_format=data_format, mode=mode)
    assert isinstance(ours, torch.Tensor) and ours.dtype == torch.float32
    np.testing.assert_allclose(ours.numpy(), np.asarray(theirs), rtol=1e-6, atol=1e-5)
    # An integer tensor is scaled as floats (Keras's in-place division cannot take one).
    as_uint8 = preprocess(x.to(torch.uint8), data_format, mode)
    np.testing.assert_allclose(as_uint8.numpy(), ours.numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs", [{"mode": "keras"}, {"data_format": "channels_middle"}], ids=["mode", "format"]
)
def test_preprocess_bad_arguments_raise_like_keras(kwargs):
    x = _images((1, 4, 4, 3), "float32")
    with pytest.raises(ValueError):
        keras.applications.imagenet_utils.preprocess_input(x.copy(), **kwargs)
    with pytest.raises(ValueError, match="Expected"):
        imagenet_utils.preprocess_input(x, **kwargs)


# ---- decode_predictions


def test_class_index_is_keras_file():
    """The shipped table is byte for byte the file Keras downloads (Keras's own md5)."""
    source = inspect.getsource(keras_utils.decode_predictions)
    keras_md5 = re.search(r'file_hash="([0-9a-f]{32})"', source).group(1)
    shipped = resources.files("lamina.applications").joinpath("imagenet_class_index.json")
    assert hashlib.md5(shipped.read_bytes()).hexdigest() == keras_md5
    index = imagenet_utils.class_index()
    assert sorted(index, key=int) == [str(i) for i in range(1000)]
    assert index["0"] == ["n01440764", "tench"]
    assert index["999"] == ["n15075141", "toilet_tissue"]
    names = [name for _, name in index.values()]
    assert names.count("crane") == 2 and names.count("maillot") == 2  # ImageNet's duplicates
    assert index["134"] == ["n02012849", "crane"] and index["517"] == ["n03126707", "crane"]
    assert len({wnid for wnid, _ in index.values()}) == 1000


@pytest.mark.parametrize("top", [1, 5, 1000])
@pytest.mark.parametrize("key", DECODE)
def test_decode_predictions_matches_keras(key, top, monkeypatch):
    decode, keras_decode = IMAGENET_UTILS_PARITY[key]
    # Keras reads the same table (see above); handing it over keeps Keras offline.
    monkeypatch.setattr(keras_utils, "CLASS_INDEX", imagenet_utils.class_index())
    preds = np.random.default_rng(top).dirichlet(np.ones(1000), size=3).astype("float32")
    theirs = keras_decode(preds, top=top)
    for ours in (decode(preds, top=top), decode(torch.from_numpy(preds), top=top)):
        assert len(ours) == 3 and all(len(row) == top for row in ours)
        assert all(type(item) is tuple and len(item) == 3 for row in ours for item in row)
        assert [[item[:2] for item in row] for row in ours] == [
            [item[:2] for item in row] for row in theirs
        ]
        scores = [[item[2] for item in row] for row in ours]
        assert scores == [[item[2] for item in row] for row in theirs]
        assert all(row == sorted(row, reverse=True) for row in scores)
        assert all(isinstance(item[0], str) and isinstance(item[1], str) for item in ours[0])


@pytest.mark.parametrize("shape", [(2, 999), (1000,), (1, 2, 1000)])
def test_decode_predictions_shape_error_like_keras(shape, monkeypatch):
    monkeypatch.setattr(keras_utils, "CLASS_INDEX", imagenet_utils.class_index())
    preds = np.zeros(shape, "float32")
    with pytest.raises(ValueError):
        keras.applications.imagenet_utils.decode_predictions(preds)
    with pytest.raises(ValueError, match=r"shape \(samples, 1000\)"):
        imagenet_utils.decode_predictions(preds)


# ---- obtain_input_shape

SHAPE_CASES = [
    # (input_shape, default_size, min_size, data_format, require_flatten, weights)
    (None, 224, 32, "channels_last", True, "imagenet"),
    (None, 224, 32, "channels_last", False, "imagenet"),
    (None, 224, 32, "channels_first", False, None),
    (None, 299, 75, "channels_first", True, None),
    ((224, 224, 3), 224, 32, "channels_last", True, "imagenet"),
    ((3, 224, 224), 224, 32, "channels_first", True, "imagenet"),
    ((3, 224, 224), 224, 32, "channels_last", True, "imagenet"),
    ((160, 160, 3), 224, 32, "channels_last", True, "imagenet"),
    ((160, 160, 3), 224, 32, "channels_last", True, None),
    ((160, 160, 3), 224, 32, "channels_last", False, "imagenet"),
    ((160, 160, 1), 224, 32, "channels_last", False, "imagenet"),
    ((160, 160, 1), 224, 32, "channels_last", False, None),
    ((1, 160, 160), 224, 32, "channels_first", False, "imagenet"),
    ((160, 160, 4), 224, 32, "channels_last", False, None),
    ((4, 160, 160), 224, 32, "channels_first", True, None),
    ((31, 64, 3), 224, 32, "channels_last", False, None),
    ((3, 64, 31), 224, 32, "channels_first", False, None),
    ((32, 32, 3), 224, 32, "channels_last", False, "imagenet"),
    ((None, None, 3), 224, 32, "channels_last", False, "imagenet"),
    ((None, None, 3), 224, 32, "channels_last", True, None),
    ((None, 64, 3), 224, 32, "channels_last", False, None),
    ((3, None, None), 224, 32, "channels_first", False, None),
    ((64, 64), 224, 32, "channels_last", False, None),
    ((2, 64, 64, 3), 224, 32, "channels_last", False, None),
    ((), 224, 32, "channels_last", True, None),
    ((224, 224, 3), 224, 32, "channels_last", True, "/weights.h5"),
]


def _outcome(fn, args):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = fn(*args[:5], weights=args[5])
        except ValueError:
            result = ValueError
    return result, len(caught)


@pytest.mark.parametrize("case", SHAPE_CASES, ids=str)
def test_obtain_input_shape_matches_keras(case):
    """The same shape, or both raise; and a warning exactly when Keras warns."""
    ours = _outcome(imagenet_utils.obtain_input_shape, case)
    theirs = _outcome(keras_utils.obtain_input_shape, case)
    assert ours == theirs


# ---- correct_pad and validate_activation


@pytest.mark.parametrize("size", [(224, 224), (225, 225), (7, 8), (None, None)])
@pytest.mark.parametrize("kernel", [3, 5, (3, 5)])
def test_correct_pad_matches_keras(size, kernel):
    inputs = SimpleNamespace(shape=(None, *size, 3))
    assert imagenet_utils.correct_pad(inputs, kernel) == keras_utils.correct_pad(inputs, kernel)
    symbolic = layers.Input(shape=(*size, 3))
    assert imagenet_utils.correct_pad(symbolic, kernel) == keras_utils.correct_pad(inputs, kernel)


def test_correct_pad_is_tensorflow_same():
    """Padded 'valid' strided convolutions give TensorFlow's 'same' output size and offsets."""
    for size in (7, 8, 224, 225):
        for kernel in (3, 5):
            (before, after), _ = imagenet_utils.correct_pad(
                SimpleNamespace(shape=(None, size, size, 3)), kernel
            )
            total = max((-(-size // 2) - 1) * 2 + kernel - size, 0)
            assert (before, after) == (total // 2, total - total // 2)


@pytest.mark.parametrize("weights", [None, "imagenet", "/some/file.h5"])
@pytest.mark.parametrize("activation", ["softmax", None, "linear", "relu", "sigmoid"])
def test_validate_activation_matches_keras(weights, activation):
    def raises(fn):
        try:
            fn(activation, weights)
        except ValueError:
            return True
        return False

    assert raises(imagenet_utils.validate_activation) == raises(keras_utils.validate_activation)


def test_validate_activation_takes_callables():
    imagenet_utils.validate_activation(activations.softmax, "imagenet")
    with pytest.raises(ValueError, match="classifier_activation"):
        imagenet_utils.validate_activation(activations.relu, "imagenet")


# ---- app_builder: arguments, inputs, the top, and finding Keras's files


def test_check_arguments(tmp_path):
    check = app_builder.check_arguments
    check("net", None, True, 10, "avg")
    check("net", "imagenet", False, 10)
    weights = tmp_path / "w.weights.h5"
    weights.write_bytes(b"")
    check("net", str(weights), True, 10)
    for args, message in [
        (("missing.h5", True, 1000), "weights"),
        ((123, True, 1000), "weights"),
        (("imagenet", True, 10), "classes=1000"),
    ]:
        with pytest.raises(ValueError, match=message):
            check("net", *args)
        with pytest.raises(ValueError):  # Keras refuses the same arguments before building
            keras.applications.VGG16(weights=args[0], include_top=args[1], classes=args[2])
    with pytest.raises(ValueError, match="pooling"):
        check("net", None, False, 1000, "sum")


def test_image_input_and_top():
    x, inputs = app_builder.image_input(None, None, 224, 32, False, None)
    assert x is inputs and tuple(x.shape) == (None, None, None, 3)
    source = layers.Input(shape=(40, 48, 3))
    scaled = layers.Rescaling(1 / 255.0)(source)
    x, inputs = app_builder.image_input(None, scaled, 224, 32, False, None)
    assert x is scaled and list(inputs) == [source]
    with pytest.raises(ValueError, match="input_tensor"):
        app_builder.image_input(None, np.zeros((1, 40, 48, 3)), 224, 32, False, None)
    model = vgg16.VGG16(weights=None, include_top=False, input_tensor=scaled, pooling="max")
    assert model.inputs[0] is source and model.output_shape == (None, 512)
    top = app_builder.classifier(layers.Input(shape=(4, 4, 8)), 10, "softmax", None)
    assert tuple(top.shape) == (None, 10)


def _isolate_home(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setenv("LAMINA_HOME", str(tmp_path / "lamina_home"))


def test_weight_caches_order(monkeypatch, tmp_path):
    _isolate_home(monkeypatch, tmp_path)
    assert app_builder.weight_caches() == [
        tmp_path / "keras_home" / "models",
        tmp_path / "home" / ".keras" / "models",
        tmp_path / "lamina_home" / "models",
    ]
    monkeypatch.delenv("KERAS_HOME")
    assert app_builder.weight_caches()[0] == tmp_path / "home" / ".keras" / "models"


def test_imagenet_without_cached_file_names_url_and_path(monkeypatch, tmp_path):
    _isolate_home(monkeypatch, tmp_path)
    name = vgg16.FILES.notop
    with pytest.raises(FileNotFoundError) as error:
        vgg16.VGG16(include_top=False, input_shape=(32, 32, 3))
    message = str(error.value)
    url = "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/" + name
    assert url in message and f"weights='/path/to/{name}'" in message
    assert str(tmp_path / "keras_home" / "models") in message
    with pytest.raises(ValueError, match="no ImageNet weights"):
        app_builder.find_imagenet_file("net", False, ImagenetFiles("net", "top.h5", None))


def test_imagenet_file_in_keras_home_is_loaded(monkeypatch, tmp_path):
    _isolate_home(monkeypatch, tmp_path)
    made = vgg16.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    saved = tmp_path / "vgg16_notop.weights.h5"
    made.save_weights(saved)
    cache = tmp_path / "keras_home" / "models"
    cache.mkdir(parents=True)
    saved.rename(cache / vgg16.FILES.notop)  # Keras's file name (a legacy .h5 name)
    loaded = vgg16.VGG16(include_top=False, input_shape=(32, 32, 3))
    assert all(
        np.array_equal(a, b) for a, b in zip(loaded.get_weights(), made.get_weights(), strict=True)
    )
