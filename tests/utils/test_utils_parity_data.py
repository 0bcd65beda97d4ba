"""keras.utils against Keras 3 (torch backend), part 2: PyDataset with fit, split_dataset,
get_file, the folder and array datasets, model plots and FeatureSpace.

Keras's folder/array datasets and FeatureSpace.adapt need TensorFlow, which the oracle
environment lacks: for those the signature is compared with Keras's and the values
with the formulas Keras documents.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import math
import os
import tarfile
import wave
import zipfile

import numpy as np
import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

import lamina  # noqa: E402
from lamina import utils  # noqa: E402


def _same_signature(ours, theirs) -> None:
    """Keras's parameters (names, order, defaults) open ours; Lamina's extras (the image
    folders' cache, workers, on_bad_file) all have defaults."""
    if inspect.isclass(ours):
        ours, theirs = ours.__init__, theirs.__init__
    mine = list(inspect.signature(ours).parameters.values())
    want = [(p.name, p.default) for p in inspect.signature(theirs).parameters.values()]
    assert [(p.name, p.default) for p in mine[: len(want)]] == want
    assert all(p.default is not p.empty for p in mine[len(want) :])


# -- PyDataset / Sequence --------------------------------------------------------------
def _batches_class(base):
    class Batches(base):
        def __init__(self, x, y, batch_size, **kwargs):
            super().__init__(**kwargs)
            self.x, self.y, self.batch_size = x, y, batch_size
            self.epochs_seen = 0
            self.begun = 0

        def __len__(self):
            return math.ceil(len(self.x) / self.batch_size)

        def __getitem__(self, index):
            part = slice(index * self.batch_size, (index + 1) * self.batch_size)
            return self.x[part], self.y[part]

        def on_epoch_begin(self):
            self.begun += 1

        def on_epoch_end(self):
            self.epochs_seen += 1

    return Batches


def check_py_dataset():
    assert utils.Sequence is utils.PyDataset and keras.utils.Sequence is keras.utils.PyDataset
    _same_signature(utils.PyDataset, keras.utils.PyDataset)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)).astype("float32")
    y = rng.normal(size=(40, 1)).astype("float32")
    ours_ds = _batches_class(utils.PyDataset)(x, y, 8, workers=3, max_queue_size=2)
    theirs_ds = _batches_class(keras.utils.PyDataset)(x, y, 8, workers=3, max_queue_size=2)
    for attr in ("workers", "use_multiprocessing", "max_queue_size", "num_batches"):
        assert getattr(ours_ds, attr) == getattr(theirs_ds, attr), attr
    batches = list(ours_ds)  # workers > 1: prefetched, still in order
    assert len(batches) == 5 and ours_ds.begun == ours_ds.epochs_seen == 1
    for i, (bx, by) in enumerate(batches):
        np.testing.assert_array_equal(bx, x[i * 8 : (i + 1) * 8])
        np.testing.assert_array_equal(by, y[i * 8 : (i + 1) * 8])
    # fit takes it: the same weights after one epoch of SGD as Keras from the same start
    keras_model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    ours_model = lamina.Sequential([lamina.layers.Input((3,)), lamina.layers.Dense(1)])
    ours_model.set_weights(keras_model.get_weights())
    for model, opt in (
        (keras_model, keras.optimizers.SGD(0.1)),
        (ours_model, lamina.optimizers.SGD(0.1)),
    ):
        model.compile(optimizer=opt, loss="mse")
    data = {
        "ours": _batches_class(utils.PyDataset)(x, y, 8),
        "theirs": _batches_class(keras.utils.PyDataset)(x, y, 8),
    }
    keras_model.fit(data["theirs"], epochs=2, verbose=0, shuffle=False)
    ours_model.fit(data["ours"], epochs=2, verbose=0, shuffle=False)
    for mine, want in zip(ours_model.get_weights(), keras_model.get_weights()):
        np.testing.assert_allclose(np.asarray(mine), np.asarray(want), rtol=1e-5, atol=1e-5)
    assert data["ours"].epochs_seen == 2  # (Keras's adapter calls it once more, at the end)


def check_py_dataset_warns_without_super():
    for base in (utils.PyDataset, keras.utils.PyDataset):

        class Lazy(base):
            def __init__(self):
                pass

            def __len__(self):
                return 1

            def __getitem__(self, i):
                return np.zeros((1, 1))

        lazy = Lazy()
        with pytest.warns(UserWarning, match="super"):
            assert lazy.workers == 1
        assert lazy.max_queue_size == 10 and lazy.use_multiprocessing is False


# -- split_dataset ---------------------------------------------------------------------
def check_split_dataset():
    _same_signature(utils.split_dataset, keras.utils.split_dataset)
    data = (np.arange(20).reshape(10, 2), np.arange(10))
    cases = [
        ({"left_size": 0.7}, [7, 3], True),
        ({"right_size": 3}, [7, 3], True),
        (
            {"left_size": 4, "right_size": 5},
            [4, 5],
            False,
        ),  # Keras's random_split needs a sum of 10
        ({"left_size": 0.25, "right_size": 0.5}, [2, 5], False),
    ]
    for kwargs, sizes, keras_too in cases:
        ours = utils.split_dataset(data, **kwargs)
        assert [len(part) for part in ours] == sizes
        if keras_too:
            theirs = keras.utils.split_dataset(data, **kwargs)
            assert [len(part) for part in theirs] == sizes
            assert type(ours[0][0]) is type(theirs[0][0]) and len(ours[0][0]) == len(theirs[0][0])
            assert all(isinstance(t, torch.Tensor) for t in ours[0][0])
    left, right = utils.split_dataset(np.arange(10), left_size=6)
    assert [int(left[i][0]) for i in range(6)] == list(range(6))  # no shuffle: in order
    a = utils.split_dataset(np.arange(50), left_size=0.5, shuffle=True, seed=3)
    b = utils.split_dataset(np.arange(50), left_size=0.5, shuffle=True, seed=3)
    got = sorted(int(a[0][i][0]) for i in range(25)) + sorted(int(a[1][i][0]) for i in range(25))
    assert [int(a[0][i][0]) for i in range(25)] == [int(b[0][i][0]) for i in range(25)]
    assert sorted(got) == list(range(50)) and got[:25] != list(range(25))
    for bad in (
        {},
        {"left_size": 0},
        {"left_size": 1.5},
        {"left_size": 10},
        {"left_size": 0.6, "right_size": 0.6},
    ):
        with pytest.raises(ValueError):
            keras.utils.split_dataset(np.arange(10), **bad)
        with pytest.raises(ValueError):
            utils.split_dataset(np.arange(10), **bad)
    dataset = torch.utils.data.TensorDataset(torch.arange(10))
    assert [len(p) for p in utils.split_dataset(dataset, right_size=0.2)] == [8, 2]


# -- get_file --------------------------------------------------------------------------
def check_get_file(tmp_path):
    _same_signature(utils.get_file, keras.utils.get_file)
    cache = tmp_path / "cache"
    (cache / "datasets").mkdir(parents=True)
    payload = b"lamina" * 100
    (cache / "datasets" / "data.bin").write_bytes(payload)
    sha = hashlib.sha256(payload).hexdigest()
    url = "https://example.invalid/files/data.bin"
    for kwargs in ({}, {"file_hash": sha}, {"md5_hash": hashlib.md5(payload).hexdigest()}):
        ours = utils.get_file(origin=url, cache_dir=str(cache), **kwargs)
        theirs = keras.utils.get_file(origin=url, cache_dir=str(cache), **kwargs)
        assert ours == theirs == str(cache / "datasets" / "data.bin")
    with pytest.raises(FileNotFoundError, match="example.invalid/files/missing.bin") as info:
        utils.get_file(origin="https://example.invalid/files/missing.bin", cache_dir=str(cache))
    assert str(cache / "datasets" / "missing.bin") in str(info.value)
    with pytest.raises(FileNotFoundError, match="hash"):
        utils.get_file(origin=url, cache_dir=str(cache), file_hash="0" * 64)
    # archives: extracted beside the download, into Keras's folder
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        info_ = tarfile.TarInfo("pack/a.txt")
        info_.size = 3
        tar.addfile(info_, io.BytesIO(b"abc"))
    (cache / "datasets" / "pack.tar.gz").write_bytes(archive.getvalue())
    tar_url = "https://example.invalid/pack.tar.gz"
    ours = utils.get_file("pack.tar.gz", tar_url, extract=True, cache_dir=str(cache))
    assert ours == str(cache / "datasets" / "pack_extracted")
    assert (cache / "datasets" / "pack_extracted" / "pack" / "a.txt").read_bytes() == b"abc"
    theirs = keras.utils.get_file("pack.tar.gz", tar_url, extract=True, cache_dir=str(cache))
    assert theirs == ours


def check_get_file_refuses_path_traversal(tmp_path):
    cache = tmp_path / "cache"
    (cache / "datasets").mkdir(parents=True)
    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("../../escaped.txt", "x")
    (cache / "datasets" / "evil.zip").write_bytes(evil.getvalue())
    with pytest.raises(ValueError, match="inside the extraction folder"):
        utils.get_file(
            "evil.zip", "https://example.invalid/evil.zip", extract=True, cache_dir=str(cache)
        )
    assert not (tmp_path / "escaped.txt").exists() and not (cache / "escaped.txt").exists()
    link = io.BytesIO()
    with tarfile.open(fileobj=link, mode="w") as tar:
        member = tarfile.TarInfo("link")
        member.type, member.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(member)
    (cache / "datasets" / "link.tar").write_bytes(link.getvalue())
    with pytest.raises(ValueError, match="link"):
        utils.get_file(
            "link.tar", "https://example.invalid/link.tar", untar=True, cache_dir=str(cache)
        )


# -- folder and array datasets ---------------------------------------------------------
def _write_wav(path, samples: np.ndarray, rate=8000, width=2):
    channels = 1 if samples.ndim == 1 else samples.shape[1]
    with wave.open(str(path), "wb") as f:
        f.setnchannels(channels)
        f.setsampwidth(width)
        f.setframerate(rate)
        f.writeframes(samples.astype("<i2" if width == 2 else np.uint8).tobytes())


def check_audio_dataset(tmp_path):
    _same_signature(utils.audio_dataset_from_directory, keras.utils.audio_dataset_from_directory)
    rng = np.random.default_rng(1)
    clips = {}
    for label in ("no", "yes"):
        (tmp_path / label).mkdir()
        for i, length in enumerate((50, 80, 65)):
            samples = rng.integers(-32768, 32767, size=length).astype(np.int16)
            _write_wav(tmp_path / label / f"{i}.wav", samples)
            clips[f"{label}/{i}.wav"] = samples.astype(np.float32) / 32768.0
    ds = utils.audio_dataset_from_directory(tmp_path, batch_size=4, shuffle=False, verbose=False)
    assert ds.class_names == ["no", "yes"] and len(ds) == 2
    audio, labels = next(iter(ds))
    assert (
        audio.shape == (4, 80, 1) and audio.dtype == torch.float32 and labels.dtype == torch.int32
    )
    assert labels.tolist() == [0, 0, 0, 1]
    np.testing.assert_allclose(audio[0, :50, 0].numpy(), clips["no/0.wav"], atol=1e-7)
    assert torch.all(audio[0, 50:] == 0)  # padded to the batch's longest clip
    fixed = utils.audio_dataset_from_directory(
        tmp_path,
        batch_size=6,
        output_sequence_length=60,
        label_mode="categorical",
        shuffle=False,
        verbose=False,
    )
    audio, labels = next(iter(fixed))
    assert audio.shape == (6, 60, 1) and labels.shape == (6, 2)
    np.testing.assert_allclose(audio[1, :, 0].numpy(), clips["no/1.wav"][:60], atol=1e-7)
    ragged = utils.audio_dataset_from_directory(
        tmp_path, batch_size=3, ragged=True, shuffle=False, verbose=False
    )
    assert [c.shape[0] for c in next(iter(ragged))[0]] == [50, 80, 65]
    train, val = utils.audio_dataset_from_directory(
        tmp_path, validation_split=0.34, subset="both", seed=2, verbose=False
    )
    assert len(train.file_paths) == 4 and len(val.file_paths) == 2
    assert not set(train.file_paths) & set(val.file_paths)
    resampled = utils.audio_dataset_from_directory(
        tmp_path, batch_size=1, sampling_rate=4000, shuffle=False, verbose=False
    )
    assert next(iter(resampled))[0].shape == (1, 25, 1)
    with pytest.raises(ValueError, match="ragged"):
        utils.audio_dataset_from_directory(tmp_path, ragged=True, output_sequence_length=5)


def check_folder_dataset_signatures():
    for name in (
        "image_dataset_from_directory",
        "text_dataset_from_directory",
        "timeseries_dataset_from_array",
    ):
        _same_signature(getattr(utils, name), getattr(keras.utils, name))
    data = np.arange(20, dtype="float32")
    batches = list(
        utils.timeseries_dataset_from_array(data, data[3:], sequence_length=3, batch_size=4)
    )
    x, y = batches[0]
    np.testing.assert_array_equal(np.asarray(x[1]), [1, 2, 3])
    assert float(y[1]) == 4.0


def check_text_and_image_datasets(tmp_path):
    for label in ("a", "b"):
        (tmp_path / "t" / label).mkdir(parents=True)
        (tmp_path / "t" / label / "1.txt").write_text(f"text {label}")
    texts, labels = next(
        iter(utils.text_dataset_from_directory(tmp_path / "t", shuffle=False, verbose=False))
    )
    assert list(texts) == ["text a", "text b"] and labels.tolist() == [0, 1]
    for label in ("c", "d"):
        (tmp_path / "i" / label).mkdir(parents=True)
        utils.save_img(tmp_path / "i" / label / "1.png", np.full((5, 4, 3), 100.0), scale=False)
    images, labels = next(
        iter(utils.image_dataset_from_directory(tmp_path / "i", image_size=(5, 4), verbose=False))
    )
    assert tuple(images.shape) == (2, 5, 4, 3) and sorted(labels.tolist()) == [0, 1]


# -- model plots -----------------------------------------------------------------------
def _functional():
    a = lamina.layers.Input((4,))
    h1 = lamina.layers.Dense(3, activation="relu")(a)
    h2 = lamina.layers.Dense(2)(a)
    return lamina.Model(a, lamina.layers.Concatenate()([h1, h2]))


def check_model_to_dot():
    _same_signature(utils.model_to_dot, keras.utils.model_to_dot)
    model = _functional()
    graph = utils.model_to_dot(
        model, show_shapes=True, show_layer_activations=True, show_trainable=True
    )
    text = graph.to_string()
    for layer in model.layers:
        assert f"{layer.name} ({type(layer).__name__})" in text
    assert "Output shape: (None, 5)" in text and "Params: 15" in text and "Activation: relu" in text
    assert len(graph.get_edges()) == 4  # input->dense x2, dense->concatenate x2
    with pytest.raises(ValueError, match="rankdir"):
        utils.model_to_dot(model, rankdir="XY")


def check_plot_model(tmp_path):
    _same_signature(utils.plot_model, keras.utils.plot_model)
    for model, name in (
        (_functional(), "f.png"),
        (lamina.Sequential([lamina.layers.Input((3,)), lamina.layers.Dense(2)]), "s.png"),
    ):
        path = tmp_path / name
        utils.plot_model(model, to_file=str(path), show_shapes=True, rankdir="LR")
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 2000


# -- FeatureSpace ----------------------------------------------------------------------
def check_feature_space():
    fs_cls = utils.FeatureSpace
    _same_signature(fs_cls, keras.utils.FeatureSpace)
    for name in (
        "cross",
        "feature",
        "float",
        "float_rescaled",
        "float_normalized",
        "float_discretized",
        "integer_categorical",
        "string_categorical",
        "string_hashed",
        "integer_hashed",
    ):
        _same_signature(getattr(fs_cls, name), getattr(keras.utils.FeatureSpace, name))
    keras_space = keras.utils.FeatureSpace({"a": "float_normalized"}, crossing_dim=8)
    ours_space = fs_cls({"a": "float_normalized"}, crossing_dim=8)
    assert set(ours_space.get_config()) == set(keras_space.get_config())
    for key in ("output_mode", "crossing_dim", "hashing_dim", "num_discretization_bins"):
        assert ours_space.get_config()[key] == keras_space.get_config()[key]
    rng = np.random.default_rng(0)
    data = {
        "age": rng.normal(40, 10, size=200).astype("float32"),
        "price": rng.uniform(0, 100, size=200).astype("float32"),
        "city": rng.choice(["paris", "rome", "oslo"], p=[0.5, 0.3, 0.2], size=200),
        "rooms": rng.integers(1, 4, size=200),
        "tag": rng.choice(["x", "y"], size=200),
    }
    space = fs_cls(
        {
            "age": "float_normalized",
            "price": fs_cls.float_discretized(num_bins=4),
            "city": "string_categorical",
            "rooms": fs_cls.integer_categorical(num_oov_indices=0),
            "tag": fs_cls.string_hashed(num_bins=5),
        },
        crosses=[fs_cls.cross(("city", "rooms"), crossing_dim=16)],
    )
    space.adapt([{k: v[:100] for k, v in data.items()}, {k: v[100:] for k, v in data.items()}])
    out = space(data)
    widths = {"age": 1, "city": 4, "price": 4, "rooms": 3, "tag": 5, "city_X_rooms": 16}
    assert out.shape == (200, sum(widths.values())) and out.dtype == torch.float32
    order = ["age", "city", "price", "rooms", "tag", "city_X_rooms"]  # by name, crosses last
    parts = dict(zip(order, torch.split(out, [widths[k] for k in order], 1)))
    np.testing.assert_allclose(
        parts["age"][:, 0].numpy(),
        (data["age"] - data["age"].mean()) / data["age"].std(),
        rtol=1e-4,
        atol=1e-4,
    )
    vocab = ["paris", "rome", "oslo"]  # most frequent first, after the OOV index 0
    np.testing.assert_array_equal(
        parts["city"].argmax(1).numpy(), [1 + vocab.index(c) for c in data["city"]]
    )
    # Keras's Discretization adapts approximate quantiles (Lamina's layer computes them the
    # same way); they sit within its epsilon=0.01 of the exact ones.
    edges = np.asarray(space.features["price"].preprocessor.bin_boundaries)
    exact = np.quantile(data["price"], [0.25, 0.5, 0.75])
    ranks = np.searchsorted(np.sort(data["price"]), edges) / len(data["price"])
    np.testing.assert_allclose(ranks, [0.25, 0.5, 0.75], atol=0.02)
    assert np.all(np.abs(edges - exact) < 10)
    np.testing.assert_array_equal(
        parts["price"].argmax(1).numpy(), np.searchsorted(edges, data["price"], side="right")
    )
    counts = {r: int((data["rooms"] == r).sum()) for r in (1, 2, 3)}
    rooms_vocab = sorted(counts, key=lambda r: (-counts[r], r))  # no OOV index here
    np.testing.assert_array_equal(
        parts["rooms"].argmax(1).numpy(), [rooms_vocab.index(r) for r in data["rooms"]]
    )
    assert torch.all(parts["tag"].sum(1) == 1) and torch.all(parts["city_X_rooms"].sum(1) == 1)
    # hashed features and crosses are the Hashing/HashedCrossing layers' bins (Keras's FarmHash)
    np.testing.assert_array_equal(
        parts["tag"].argmax(1).numpy(),
        lamina.layers.Hashing(num_bins=5)(data["tag"]).numpy().reshape(-1),
    )
    city_index = parts["city"].argmax(1)
    rooms_index = parts["rooms"].argmax(1)
    crossed = lamina.layers.HashedCrossing(num_bins=16)((city_index, rooms_index))
    np.testing.assert_array_equal(
        parts["city_X_rooms"].argmax(1).numpy(), np.asarray(crossed).reshape(-1)
    )
    same = [(c, r) for c, r in zip(data["city"], data["rooms"])]
    bins = parts["city_X_rooms"].argmax(1).tolist()
    assert len({bins[i] for i in range(200) if same[i] == same[0]}) == 1
    single = space({k: v[0] for k, v in data.items()})
    torch.testing.assert_close(single, out[0])
    as_dict = fs_cls({"city": "string_categorical"}, output_mode="dict")
    as_dict.adapt({"city": data["city"]})
    assert set(as_dict({"city": data["city"][:3]})) == {"city"}
    assert set(space.get_inputs()) == set(data)
    with pytest.raises(ValueError, match="adapt"):
        fs_cls({"a": "float_normalized"})({"a": np.ones(2)})
    assert fs_cls.from_config(space.get_config()).get_config() == space.get_config()


CHECKS = {
    "utils.PyDataset": check_py_dataset,
    "utils.Sequence": check_py_dataset_warns_without_super,
    "utils.split_dataset": check_split_dataset,
    "utils.get_file": check_get_file,
    "utils.audio_dataset_from_directory": check_audio_dataset,
    "utils.image_dataset_from_directory": check_text_and_image_datasets,
    "utils.text_dataset_from_directory": check_text_and_image_datasets,
    "utils.timeseries_dataset_from_array": check_folder_dataset_signatures,
    "utils.model_to_dot": check_model_to_dot,
    "utils.plot_model": check_plot_model,
    "utils.FeatureSpace": check_feature_space,
}
UTILS_DATA_PARITY = {name: check.__name__ for name, check in CHECKS.items()}


@pytest.mark.parametrize("name", sorted(UTILS_DATA_PARITY))
def test_utils_match_keras(name, tmp_path):
    assert hasattr(utils, name.split(".", 1)[1])
    check = CHECKS[name]
    if "tmp_path" in inspect.signature(check).parameters:
        check(tmp_path)
    else:
        check()


def test_get_file_refuses_path_traversal_and_links(tmp_path):
    check_get_file_refuses_path_traversal(tmp_path)


def test_folder_dataset_signatures_are_keras_3s():
    check_folder_dataset_signatures()


def test_every_keras_utils_name_is_covered():
    from tests.utils import test_utils_parity as part1  # noqa: PLC0415

    public = {
        n
        for n in dir(keras.utils)
        if not n.startswith("_") and n not in ("bounding_boxes", "legacy")
    }
    covered = {k.split(".", 1)[1] for k in {**part1.UTILS_PARITY, **UTILS_DATA_PARITY}}
    assert covered == public


def test_py_dataset_with_num_batches_only_runs_through_its_iterator_in_fit():
    """Without __len__, fit iterates the PyDataset itself: workers prefetch and
    on_epoch_begin/on_epoch_end run (with __len__ the engine indexes it; see the report)."""

    class Stream(utils.PyDataset):
        def __init__(self):
            super().__init__(workers=2, max_queue_size=3)
            self.begun = self.ended = 0

        @property
        def num_batches(self):
            return 4

        def __getitem__(self, index):
            x = np.full((2, 3), float(index), dtype="float32")
            return x, x[:, :1]

        def on_epoch_begin(self):
            self.begun += 1

        def on_epoch_end(self):
            self.ended += 1

    stream = Stream()
    model = lamina.Sequential([lamina.layers.Input((3,)), lamina.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(stream, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert stream.ended == 2
    assert stream.begun >= 2  # the engine's peek at the first batch (to build) begins one more
