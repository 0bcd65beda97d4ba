"""A pickle payload planted anywhere in any format never runs when Lamina loads the file.

The payload is an object whose `__reduce__` asks the unpickler to create a marker file.
It goes into every member of every zip format (.lamina, .keras, the torch state_dict's
own zip), a torch.save'd dict (new and legacy formats, and a bare pickle), safetensors
metadata and tensor bytes, HDF5 attributes and datasets. Loading with load_model and
load_weights may succeed or raise FileFormatError; the marker must never appear.
"""

from __future__ import annotations

import io
import pathlib
import pickle

import h5py
import numpy as np
import pytest
import torch
from fuzz_cases import FORMATS, MODEL_FORMATS, Loaders, valid_files
from fuzz_mutations import h5_dataset_paths, h5_edit, st_with_metadata, zip_members, zip_of
from safetensors.torch import save as save_tensors

from lamina.saving import FileFormatError


class Payload:
    """Unpickling this calls `pathlib.Path.touch(marker)`."""

    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


@pytest.fixture(scope="module")
def valid(tmp_path_factory):
    return valid_files(tmp_path_factory.mktemp("valid"))


@pytest.fixture(scope="module")
def loaders():
    return Loaders()


@pytest.fixture
def marker(tmp_path):
    return tmp_path / "payload-ran"


def _pickled(marker: pathlib.Path) -> bytes:
    return pickle.dumps({"weights": Payload(marker)}, protocol=2)


def _load_everywhere(fmt: str, data: bytes, tmp_path, loaders, marker) -> None:
    """Load `data` as `fmt` every way (and as every other suffix); no marker allowed."""
    for suffix in {FORMATS[fmt], ".pt", ".safetensors", ".lamina"}:
        path = tmp_path / f"planted{suffix}"
        path.write_bytes(data)
        for label, load in loaders(fmt if suffix == FORMATS[fmt] else "lamina"):
            try:
                load(path)
            except FileFormatError:
                pass
            assert not marker.exists(), f"the payload ran: {fmt} as {suffix} via {label}"


@pytest.mark.parametrize("text", [False, True])
def test_the_payload_runs_when_unpickled(marker, text):
    """The control: the payload is live, so its absence below means it was refused."""
    pickle.loads(_text_pickle(marker).encode("latin-1") if text else _pickled(marker))
    assert marker.exists()


@pytest.mark.parametrize("fmt", ["lamina", "keras", "torch"])
def test_a_payload_in_each_zip_member(valid, tmp_path, loaders, marker, fmt):
    members = zip_members(valid[fmt])
    payload = _pickled(marker)
    for name, _, _ in members:
        for planted in (payload, payload + b"\0" * 64):
            swapped = [(n, planted if n == name else p, m) for n, p, m in members]
            _load_everywhere(fmt, zip_of(swapped), tmp_path, loaders, marker)


@pytest.mark.parametrize("fmt", ["lamina", "keras"])
def test_a_payload_as_an_extra_torch_style_member(valid, tmp_path, loaders, marker, fmt):
    """A member named data.pkl makes the sniffer take the zip for a torch checkpoint."""
    members = zip_members(valid[fmt])
    for name in ("data.pkl", "archive/data.pkl", "model.pkl"):
        planted = zip_of([*members, (name, _pickled(marker), 0)])
        _load_everywhere(fmt, planted, tmp_path, loaders, marker)


@pytest.mark.parametrize("legacy", [False, True])
def test_a_payload_in_a_torch_state_dict(valid, tmp_path, loaders, marker, legacy):
    state = {k: torch.zeros(1) for k in ("a", "b")}
    state["conv2d.weight"] = Payload(marker)
    buffer = io.BytesIO()
    torch.save(state, buffer, _use_new_zipfile_serialization=not legacy)
    _load_everywhere("torch", buffer.getvalue(), tmp_path, loaders, marker)


def test_a_bare_pickle_file(tmp_path, loaders, marker):
    for protocol in (2, 4, 5):
        data = pickle.dumps(Payload(marker), protocol=protocol)
        _load_everywhere("torch", data, tmp_path, loaders, marker)


@pytest.mark.parametrize("fmt", ["safetensors", "lamina"])
def test_a_payload_in_safetensors_metadata_and_tensors(valid, tmp_path, loaders, marker, fmt):
    payload = _pickled(marker)
    text = payload.decode("latin-1")
    blobs = []
    if fmt == "safetensors":
        blobs.append(st_with_metadata(valid[fmt], {"order": text, "layout": text, "x": text}))
        tensor = torch.frombuffer(bytearray(payload), dtype=torch.uint8)
        blobs.append(save_tensors({"dense/kernel": tensor}, metadata={"pickle": text}))
    else:
        for name, data, _ in zip_members(valid[fmt]):
            if name.endswith(".safetensors"):
                mutant = st_with_metadata(data, {"order": text, "payload": text})
                swapped = [(n, mutant if n == name else p, m) for n, p, m in
                           zip_members(valid[fmt])]  # fmt: skip
                blobs.append(zip_of(swapped))
    for blob in blobs:
        _load_everywhere(fmt, blob, tmp_path, loaders, marker)


@pytest.mark.parametrize("fmt", ["h5", "weights_h5", "keras"])
def test_a_payload_in_hdf5_attributes_and_datasets(valid, tmp_path, loaders, marker, fmt):
    payload = _pickled(marker)
    if fmt == "keras":
        members = zip_members(valid[fmt])
        inner = next(p for n, p, _ in members if n.endswith(".h5"))
    else:
        inner = valid[fmt]
    edits = [
        lambda f: f.attrs.__setitem__("payload", np.void(payload)),
        lambda f: f.attrs.__setitem__("model_config", _text_pickle(marker)),
        lambda f: f.attrs.__setitem__("training_config", np.void(payload)),
    ]
    for path in h5_dataset_paths(inner):
        edits.append(lambda f, path=path: _swap_dataset(f, path, payload))
        edits.append(lambda f, path=path: f[path].attrs.__setitem__("p", np.void(payload)))
    for edit in edits:
        planted = h5_edit(inner, edit)
        if fmt == "keras":
            planted = zip_of([(n, planted if n.endswith(".h5") else p, m) for n, p, m in members])
        _load_everywhere(fmt, planted, tmp_path, loaders, marker)


def _text_pickle(marker: pathlib.Path) -> str:
    """Protocol 0: the payload as ASCII text (an HDF5 string holds no NUL)."""
    return pickle.dumps(Payload(marker), protocol=0).decode("latin-1")


def _swap_dataset(f: h5py.File, path: str, payload: bytes) -> None:
    del f[path]
    f[path] = np.frombuffer(payload, dtype=np.uint8)


def test_model_formats_are_covered(valid):
    assert set(MODEL_FORMATS) <= set(valid), "a model format no longer saves"
