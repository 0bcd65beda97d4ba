"""text_dataset_from_directory against Keras 3's listing and split (its own
`dataset_utils.index_directory` and `get_training_or_validation_split`, which run without
TensorFlow on local folders), label modes, max_length, and a fit on raw strings."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from keras.src.utils import dataset_utils  # noqa: E402

import lamina  # noqa: E402
from lamina.utils import text_dataset_from_directory  # noqa: E402


@pytest.fixture
def folder(tmp_path):
    """pos/neg classes, nested files, a non-.txt file and a hidden folder (both ignored)."""
    rng = np.random.default_rng(0)
    words = {"pos": ["great", "fine", "love"], "neg": ["awful", "bad", "hate"]}
    for label, vocab in words.items():
        for i in range(13 if label == "pos" else 9):
            sub = tmp_path / label / ("deep" if i % 4 == 0 else "")
            sub.mkdir(parents=True, exist_ok=True)
            text = " ".join(rng.choice(vocab, 5)) + f" é{i}"
            (sub / f"{label}_{i:02d}.txt").write_text(text, encoding="utf-8")
    (tmp_path / "pos" / "notes.md").write_text("not a sample")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x.txt").write_text("hidden")
    return tmp_path


def _keras_split(folder, seed, fraction, subset, shuffle=True):
    paths, labels, names = dataset_utils.index_directory(
        str(folder), "inferred", formats=(".txt",), shuffle=shuffle, seed=seed
    )
    if fraction:
        paths, labels = dataset_utils.get_training_or_validation_split(
            paths, labels, fraction, subset
        )
    return list(paths), list(labels), names


@pytest.mark.parametrize("subset", ["training", "validation"])
def test_files_and_labels_match_keras(folder, subset):
    ds = text_dataset_from_directory(
        folder, seed=5, validation_split=0.3, subset=subset, batch_size=4, verbose=False
    )
    paths, labels, names = _keras_split(folder, 5, 0.3, subset)
    assert ds.class_names == names == ["neg", "pos"]
    assert ds.file_paths == paths
    by_path = dict(zip(paths, labels))
    seen = []
    for texts, y in ds:
        assert isinstance(texts, np.ndarray) and texts.dtype == object and y.dtype == torch.int32
        seen.extend(zip(texts.tolist(), y.tolist()))
    assert len(seen) == len(paths) and len(ds) == -(-len(paths) // 4)
    contents = {open(p, encoding="utf-8").read(): by_path[p] for p in paths}
    assert sorted(seen) == sorted(contents.items())


def test_both_unshuffled_validation_and_label_modes(folder):
    train, val = text_dataset_from_directory(
        folder, seed=1, validation_split=0.25, subset="both", label_mode="binary", verbose=False
    )
    assert train.file_paths == _keras_split(folder, 1, 0.25, "training")[0]
    assert val.file_paths == _keras_split(folder, 1, 0.25, "validation")[0]
    texts, y = next(iter(val))
    assert y.shape == (len(texts), 1) and y.dtype == torch.float32
    again, _ = next(iter(val))
    assert texts.tolist() == again.tolist()  # validation keeps its order
    cat = text_dataset_from_directory(
        folder, label_mode="categorical", batch_size=50, verbose=False
    )
    _, onehot = next(iter(cat))
    assert onehot.shape == (22, 2) and onehot.sum() == 22


def test_unshuffled_order_max_length_and_unbatched(folder):
    ds = text_dataset_from_directory(
        folder, shuffle=False, max_length=4, batch_size=None, verbose=False
    )
    paths, labels, _ = _keras_split(folder, None, None, None, shuffle=False)
    assert ds.file_paths == paths
    first_text, first_label = next(iter(ds))
    with open(paths[0], "rb") as f:
        assert first_text == f.read()[:4].decode("utf-8", errors="replace")
    assert int(first_label) == labels[0]


def test_labels_none_and_explicit(folder):
    only_texts = text_dataset_from_directory(folder, labels=None, batch_size=100, verbose=False)
    batch = next(iter(only_texts))
    keras_paths = dataset_utils.index_directory(str(folder), None, formats=(".txt",), seed=1)[0]
    assert len(keras_paths) == 23  # one walk of the whole folder: the hidden one's file too
    assert isinstance(batch, np.ndarray) and len(batch) == 23
    assert sorted(only_texts.file_paths) == sorted(keras_paths)
    explicit = list(range(23))
    ds = text_dataset_from_directory(
        folder, labels=explicit, shuffle=False, batch_size=100, verbose=False
    )
    _, y = next(iter(ds))
    assert y.tolist() == explicit


def test_vectorize_and_fit_on_the_dataset(folder):
    train = text_dataset_from_directory(
        folder, batch_size=8, seed=2, label_mode="binary", verbose=False
    )
    vec = lamina.layers.TextVectorization(output_mode="multi_hot")
    vec.adapt(train)
    assert {"great", "awful"} <= set(vec.get_vocabulary())
    model = lamina.Sequential([vec, lamina.layers.Dense(1, activation="sigmoid")])
    model.compile(lamina.optimizers.Adam(0.1), "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(train, epochs=8, verbose=0)
    assert history.history["accuracy"][-1] == 1.0
    assert model.predict(np.array(["love great fine"]), verbose=0)[0, 0] > 0.5


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"label_mode": "sparse"}, "label_mode"),
        ({"labels": "folders"}, "labels"),
        ({"labels": [0, 1]}, "one label per"),
        ({"validation_split": 0.2}, "subset"),
        ({"validation_split": 0.2, "subset": "training"}, "seed"),
        ({"batch_size": 0}, "batch_size"),
        ({"max_length": 0}, "max_length"),
        ({"class_names": ["pos", "missing"]}, "missing"),
    ],
)
def test_bad_arguments(folder, kwargs, message):
    with pytest.raises(ValueError, match=message) as err:
        text_dataset_from_directory(folder, verbose=False, **kwargs)
    assert "received:" in str(err.value)
    with pytest.raises(ValueError, match="directory"):
        text_dataset_from_directory(folder / "nowhere", verbose=False)
