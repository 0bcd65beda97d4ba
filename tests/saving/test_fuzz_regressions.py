"""Regressions the fuzz campaign (test_fuzz_files.py) found in the readers Lamina owns:
each hostile file must raise FileFormatError, quickly, and nothing else."""

from __future__ import annotations

import pytest
from fuzz_cases import small_model, trained_model
from fuzz_mutations import crafted_zip, st_with_header, zip_members

import lamina
from lamina.saving import FileFormatError


def test_a_zip_of_an_unknown_version_is_a_file_format_error(tmp_path):
    """zipfile raises NotImplementedError for a central entry needing version 16.4."""
    data = bytearray(crafted_zip([("model.safetensors", b"x")]))
    central = data.find(b"PK\x01\x02")
    data[central + 6] = 164  # version needed to extract
    path = tmp_path / "w.safetensors"
    path.write_bytes(bytes(data))
    with pytest.raises(FileFormatError, match="received"):
        small_model().load_weights(path)


def test_a_deeply_nested_safetensors_header_is_a_file_format_error(tmp_path):
    """The sniffer's json.loads raised RecursionError on 100,000 nested lists."""
    path = tmp_path / "w.safetensors"
    path.write_bytes(st_with_header(b'{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", b""))
    with pytest.raises(FileFormatError):
        small_model().load_weights(path)


@pytest.mark.parametrize("loader", ["load_model", "load_weights"])
def test_a_huge_zip_directory_is_refused_before_it_is_parsed(tmp_path, loader):
    """200,000 central entries (9 MB): refused from the end record, before zipfile builds
    200,000 ZipInfo objects (seconds and hundreds of MB at half a million)."""
    trained_model().save(tmp_path / "valid.lamina")
    members = [(n, p) for n, p, _ in zip_members((tmp_path / "valid.lamina").read_bytes())]
    path = tmp_path / "m.lamina"
    path.write_bytes(crafted_zip(members, extra_central=[(f"x{i}", 0) for i in range(200_000)]))
    load = lamina.models.load_model if loader == "load_model" else small_model().load_weights
    with pytest.raises(FileFormatError, match="zip directory of at most"):
        load(path)


def test_json_with_millions_of_values_is_refused_before_parsing():
    """`[],[],...` parses into ~20x its size in lists; the separator count refuses it."""
    from lamina.saving import json_text

    text = b"[" + b"[]," * (json_text.MAX_VALUES // 2) + b"[]]"
    with pytest.raises(FileFormatError, match="values"):
        json_text.loads(text, "config.json")
    assert json_text.loads(b'{"a": [1, 2, {"b": null}]}', "x") == {"a": [1, 2, {"b": None}]}
    with pytest.raises(FileFormatError, match="bytes"):
        json_text.loads(b" " * (json_text.MAX_BYTES + 1), "x")


def test_a_highly_compressed_large_member_is_refused(tmp_path):
    """A deflated member over 32 MiB compressed more than 50:1 (zeros, a bomb) is refused
    from its declared sizes; the same member stored or small loads."""
    import zipfile

    from lamina.saving.zip_archive import INFLATE_FLOOR, SafeZip

    path = tmp_path / "z.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("big.bin", b"\0" * (INFLATE_FLOOR + 1))
        z.writestr("small.bin", b"\0" * 1000)
    with pytest.raises(FileFormatError, match="zip bomb"):
        SafeZip(path)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("small.bin", b"\0" * 1000)
    with SafeZip(path) as archive:
        assert archive.read("small.bin") == b"\0" * 1000


def test_a_non_utf8_h5_attribute_is_a_file_format_error(tmp_path):
    """Bytes that are not UTF-8 in a string attribute raised UnicodeDecodeError."""
    import h5py
    import numpy as np

    from lamina.saving.h5_safety import open_h5

    path = tmp_path / "w.h5"
    with h5py.File(path, "w") as f:
        f.attrs["backend"] = np.bytes_(b"\xff\xfe")
        f.attrs["layer_names"] = np.array([b"dense", b"\xff"], dtype="S5")
    with open_h5(path) as h5:
        with pytest.raises(FileFormatError, match="UTF-8"):
            h5.text_attr(h5.file, "backend", "/")
        with pytest.raises(FileFormatError, match="UTF-8"):
            h5.names_attr(h5.file, "layer_names", "/")
