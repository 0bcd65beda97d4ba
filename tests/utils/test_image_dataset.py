"""image_dataset_from_directory against Keras 3's documented behaviour, and a small fit."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
import torch
from image_folders import make_image_folder
from PIL import Image

import lamina
from lamina import layers
from lamina.utils import image_dataset_from_directory


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """Three classes of clothes, no broken files."""
    root = tmp_path_factory.mktemp("clean")
    return make_image_folder(root, n_per_class=5, classes=(1, 8, 7), broken=False, dataset="fashion_mnist")  # fmt: skip


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    return make_image_folder(tmp_path_factory.mktemp("messy"), n_per_class=3, classes=(0, 5))


def _ds(root, **kwargs):
    kwargs.setdefault("image_size", (20, 20))
    kwargs.setdefault("verbose", False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return image_dataset_from_directory(root, **kwargs)


def _all(ds):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        batches = list(ds)
    return batches


def _keras_order(man, seed):
    """Keras's index_directory: class order listing, then RandomState(seed).shuffle."""
    listing = [f for c in man.classes for f in sorted(man.labels) if f.split("/")[0] == c]
    paths = [os.path.join(man.root, f) for f in listing]
    np.random.RandomState(seed).shuffle(paths)
    return paths


def test_found_message_class_names_and_batches(clean, capsys):
    ds = _ds(clean.root, batch_size=4, seed=2, verbose=True)
    assert capsys.readouterr().out == "Found 15 files belonging to 3 classes.\n"
    assert ds.class_names == clean.classes == ["bag", "sneaker", "trouser"]
    assert ds.file_paths == _keras_order(clean, 2)
    assert len(ds) == 4
    batches = _all(ds)
    assert [len(x) for x, _ in batches] == [4, 4, 4, 3]
    for x, y in batches:
        assert x.dtype == torch.float32 and x.shape[1:] == (20, 20, 3)
        assert y.dtype == torch.int32 and 0 <= float(x.min()) and float(x.max()) <= 255
    assert max(float(x.max()) for x, _ in batches) > 128  # [0, 255], not rescaled


def test_labels_follow_files_in_every_epoch(clean):
    ds = _ds(clean.root, batch_size=5, seed=0, image_size=(28, 28))
    folder = ds.folder
    kept, ref = folder.load(np.arange(folder.samples))
    lookup = {img.numpy().tobytes(): clean.labels[folder.filenames[i]] for i, img in zip(kept, ref)}
    assert len(lookup) == folder.samples == 15  # every image distinct
    orders = []
    for _ in range(2):
        seen = []
        for x, y in _all(ds):
            for img, label in zip(x, y):
                key = img.to(torch.uint8).numpy().tobytes()
                assert lookup[key] == int(label)
                seen.append(key)
        orders.append(seen)
    assert sorted(orders[0]) == sorted(lookup)
    assert orders[0] != orders[1]  # a fresh shuffle each epoch


def test_label_modes(clean, messy):
    cat = _all(_ds(clean.root, label_mode="categorical", shuffle=False))
    x, y = cat[0]
    expected = [clean.labels[f] for c in clean.classes for f in sorted(clean.labels) if f.startswith(c + "/")]  # fmt: skip
    assert y.dtype == torch.float32 and y.shape == (15, 3)
    assert y.argmax(1).tolist() == expected and y.sum(1).eq(1).all()
    two = make_image_folder(clean.root.parent / "two", n_per_class=2, classes=(3, 4), broken=False)
    _, yb = _all(_ds(two.root, label_mode="binary", shuffle=False))[0]
    assert yb.shape == (4, 1) and yb.dtype == torch.float32 and yb[:, 0].tolist() == [0, 0, 1, 1]
    with pytest.raises(ValueError, match="exactly 2 classes"):
        _ds(clean.root, label_mode="binary")
    images_only = _all(_ds(clean.root, label_mode=None, batch_size=8))
    assert all(isinstance(b, torch.Tensor) for b in images_only)
    assert _ds(clean.root, labels=None).class_names is None


def test_subset_both_and_split_rule(clean, capsys):
    train, val = _ds(clean.root, validation_split=0.2, subset="both", seed=7, verbose=True)
    assert capsys.readouterr().out.splitlines() == [
        "Found 15 files belonging to 3 classes.",
        "Using 12 files for training.",
        "Using 3 files for validation.",
    ]
    order = _keras_order(clean, 7)
    assert train.file_paths == order[:12] and val.file_paths == order[12:]
    one = _ds(clean.root, validation_split=0.2, subset="validation", seed=7)
    assert one.file_paths == val.file_paths
    first = [b[1].tolist() for b in _all(val)]
    assert first == [b[1].tolist() for b in _all(val)]  # validation is not shuffled
    assert first[0] == [clean.labels[os.path.relpath(p, clean.root)] for p in val.file_paths]
    unshuffled = _ds(clean.root, validation_split=0.2, subset="training", shuffle=False)
    listing = [os.path.join(clean.root, f) for f in sorted(clean.labels)]
    assert unshuffled.file_paths == listing[:12]  # no shuffle: the tail is validation


def test_argument_errors(clean):
    root = clean.root
    with pytest.raises(ValueError, match="seed"):
        _ds(root, validation_split=0.2, subset="training")
    with pytest.raises(ValueError, match="together"):
        _ds(root, validation_split=0.2, seed=1)
    with pytest.raises(ValueError, match="together"):
        _ds(root, subset="training", seed=1)
    with pytest.raises(ValueError, match="subset"):
        _ds(root, validation_split=0.2, subset="test", seed=1)
    with pytest.raises(ValueError, match="crop_to_aspect_ratio"):
        _ds(root, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)
    with pytest.raises(ValueError, match="class_names"):
        _ds(root, labels=[0] * 15, class_names=["a"])
    with pytest.raises(ValueError, match="len\\(labels\\)=3"):
        _ds(root, labels=[0, 1, 2])
    with pytest.raises(ValueError, match="label_mode"):
        _ds(root, label_mode="sparse")
    with pytest.raises(ValueError, match="interpolation"):
        _ds(root, interpolation="cubic")
    with pytest.raises(ValueError, match="no such directory"):
        _ds(root / "nope")
    with pytest.raises(ValueError, match="missing"):
        _ds(root, class_names=["bag", "coat"])


def test_explicit_labels_and_class_subset(clean):
    n = len(clean.labels)
    given = list(np.arange(n) % 2)
    ds = _ds(clean.root, labels=given, shuffle=False, batch_size=n)
    assert ds.class_names == ["0", "1"]
    listing = [os.path.join(clean.root, f) for f in sorted(clean.labels)]
    assert ds.file_paths == listing
    assert _all(ds)[0][1].tolist() == given
    sub = _ds(clean.root, class_names=["trouser", "bag"], shuffle=False, batch_size=n)
    assert sub.class_names == ["trouser", "bag"]
    y = _all(sub)[0][1].tolist()
    assert y == [0] * 5 + [1] * 5
    assert all("/trouser/" in p for p in sub.file_paths[:5])


def test_broken_files_are_skipped_with_their_labels(messy):
    with pytest.warns(UserWarning) as record:
        ds = image_dataset_from_directory(messy.root, shuffle=False, batch_size=64, image_size=(24, 24), verbose=False)  # fmt: skip
        # the garbage headers are left out at once; the truncated JPEG when it is decoded
        assert len(ds.file_paths) == len(messy.labels) + 1
        (x, y), *rest = list(ds)
    assert not rest and len(x) == len(messy.labels)
    messages = [str(w.message) for w in record]
    assert all(sum(bad in m for m in messages) == 1 for bad in messy.unreadable)
    kept = [os.path.relpath(p, messy.root) for p in ds.file_paths]
    assert sorted(os.path.relpath(p, messy.root) for p in ds.bad_files) == sorted(messy.unreadable)
    assert y.tolist() == [messy.labels[f] for f in kept]
    assert len(ds) == 1 and kept == sorted(messy.labels, key=lambda f: (f.split("/")[0], f))
    gray = _ds(messy.root, color_mode="grayscale", shuffle=False, batch_size=64)
    assert _all(gray)[0][0].shape[1:] == (20, 20, 1)


def test_crop_and_pad_to_aspect_ratio(tmp_path):
    arr = np.random.default_rng(3).integers(0, 256, size=(20, 40, 3), dtype=np.uint8)
    (tmp_path / "c").mkdir()
    Image.fromarray(arr).save(tmp_path / "c" / "a.png")
    kw = {"image_size": (10, 10), "interpolation": "nearest", "shuffle": False}
    (crop, _), *_ = _all(_ds(tmp_path, crop_to_aspect_ratio=True, **kw))
    ref = Image.fromarray(arr[:, 10:30]).resize((10, 10), Image.NEAREST)
    assert np.array_equal(crop[0].numpy(), np.asarray(ref, dtype=np.float32))
    (pad, _), *_ = _all(_ds(tmp_path, pad_to_aspect_ratio=True, **kw))
    canvas = np.zeros((40, 40, 3), np.uint8)
    canvas[10:30] = arr
    ref = Image.fromarray(canvas).resize((10, 10), Image.NEAREST)
    assert np.array_equal(pad[0].numpy(), np.asarray(ref, dtype=np.float32))


def test_small_fit_learns_clothes(tmp_path):
    man = make_image_folder(tmp_path, n_per_class=24, classes=(1, 8, 7), broken=False, dataset="fashion_mnist", seed=1)  # fmt: skip
    train, val = _ds(man.root, image_size=(28, 28), batch_size=12, validation_split=0.25, subset="both", seed=1, color_mode="grayscale", cache=tmp_path / "cache")  # fmt: skip
    lamina.utils.set_random_seed(0)
    model = lamina.models.Sequential(
        [
            layers.Input((28, 28, 1)),
            layers.Rescaling(1 / 255.0),
            layers.Flatten(),
            layers.Dense(32, activation="relu"),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(train, validation_data=val, epochs=8, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert history.history["val_accuracy"][-1] >= 0.8  # trousers, bags, sneakers: 1/3 by chance
    assert train.folder.cache.complete and val.folder.cache.complete
