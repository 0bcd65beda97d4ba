"""Hostile and broken HDF5 files: each is refused, naming the file and the object in it."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

import lamina
from lamina.saving.errors import FileFormatError, UnsafeFileError
from lamina.saving.h5_safety import MAX_DEPTH, open_h5
from lamina.saving.keras_weights_h5 import load_weights_h5


def _model():
    return lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])


def _keras3_file(path, extra):
    """A Keras 3 weights file for `_model()`, then `extra(file)` adds the hostile part."""
    with h5py.File(path, "w") as f:
        f.create_group("vars").attrs["name"] = "sequential"
        group = f.create_group("layers/dense/vars")
        group["0"] = np.ones((3, 2), "float32")
        group["1"] = np.ones((2,), "float32")
        extra(f)


def _external_link(f, tmp):
    with h5py.File(tmp / "secret.h5", "w") as s:
        s["data"] = np.arange(6, dtype="float32").reshape(3, 2)
    del f["layers/dense/vars/0"]
    f["layers/dense/vars/0"] = h5py.ExternalLink(str(tmp / "secret.h5"), "/data")


def _soft_link(f, tmp):
    f["layers/dense/vars/alias"] = h5py.SoftLink("/layers/dense/vars/0")


def _dangling_soft_link(f, tmp):
    f["layers/elsewhere"] = h5py.SoftLink("/nowhere/at/all")


def _external_storage(f, tmp):
    (tmp / "raw.bin").write_bytes(np.zeros(6, "float32").tobytes())
    f.create_dataset(
        "layers/extra", shape=(6,), dtype="float32", external=[(str(tmp / "raw.bin"), 0, 24)]
    )


def _virtual(f, tmp):
    with h5py.File(tmp / "source.h5", "w") as s:
        s["data"] = np.zeros(4, "float32")
    layout = h5py.VirtualLayout(shape=(4,), dtype="float32")
    layout[:] = h5py.VirtualSource(str(tmp / "source.h5"), "data", shape=(4,))
    f.create_virtual_dataset("layers/virtual", layout)


def _absurd_shape(f, tmp):
    f.create_dataset("layers/huge", shape=(10**10,), dtype="float64")  # never written


def _cycle(f, tmp):
    f["layers/dense/loop"] = f["layers"]


def _deep(f, tmp):
    f.create_group("/".join(["d"] * (MAX_DEPTH + 2)))


def _shared(f, tmp):
    f["layers/dense/again"] = f["layers/dense/vars/0"]


CASES = {
    "external link": (_external_link, UnsafeFileError, "layers/dense/vars/0"),
    "soft link": (_soft_link, UnsafeFileError, "layers/dense/vars/alias"),
    "dangling soft link": (_dangling_soft_link, UnsafeFileError, "layers/elsewhere"),
    "external storage": (_external_storage, UnsafeFileError, "layers/extra"),
    "virtual dataset": (_virtual, UnsafeFileError, "layers/virtual"),
    "absurd shape": (_absurd_shape, FileFormatError, "layers/huge"),
    "cycle": (_cycle, FileFormatError, "loop"),
    "too deep": (_deep, FileFormatError, "d/d/d"),
    "shared object": (_shared, FileFormatError, "layers/dense"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_hdf5_is_refused(case, tmp_path):
    build, error, inner = CASES[case]
    path = tmp_path / "m.weights.h5"
    _keras3_file(path, lambda f: build(f, tmp_path))
    model = _model()
    before = model.get_weights()
    with pytest.raises(error) as err:
        load_weights_h5(model, path)
    assert "m.weights.h5" in str(err.value) and inner in str(err.value)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_plain_file_loads(tmp_path):
    path = tmp_path / "m.weights.h5"
    _keras3_file(path, lambda f: None)
    model = _model()
    load_weights_h5(model, path)
    assert all(np.array_equal(w, np.ones_like(w)) for w in model.get_weights())


@pytest.mark.parametrize(
    "content", [b"", b"not an hdf5 file at all" * 10, b"\x89HDF\r\n\x1a\n" + b"\0" * 50]
)
def test_not_hdf5(content, tmp_path):
    path = tmp_path / "x.h5"
    path.write_bytes(content)
    with pytest.raises(FileFormatError, match="x.h5"):
        load_weights_h5(_model(), path)


def test_truncated_file(tmp_path):
    path = tmp_path / "m.weights.h5"
    _keras3_file(path, lambda f: None)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError, match="m.weights.h5"):
        load_weights_h5(_model(), path)


def test_strings_where_numbers_belong(tmp_path):
    path = tmp_path / "m.weights.h5"

    def strings(f):
        del f["layers/dense/vars/1"]
        f["layers/dense/vars/1"] = np.array([b"a", b"b"])

    _keras3_file(path, strings)
    with pytest.raises(FileFormatError, match=r"dtype=\|S1.*layers/dense/vars/1"):
        load_weights_h5(_model(), path)


def test_missing_path_and_folder(tmp_path):
    with pytest.raises(FileFormatError, match="no file"):
        with open_h5(tmp_path / "absent.h5"):
            pass
    with pytest.raises(FileFormatError, match="no file"):
        with open_h5(tmp_path):
            pass
