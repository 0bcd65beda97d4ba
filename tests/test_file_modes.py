"""Files Lamina writes atomically get the mode a plain `open()` would give them: the umask
applies to new files, and an overwritten file keeps its mode (tempfile.mkstemp's 0600,
or a fixed 0644, would not)."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from lamina import io_utils
from lamina.datasets import _common
from lamina.plot import plot_history
from lamina.utils import save_img


def _write_plot(path: Path) -> None:
    pytest.importorskip("matplotlib")
    plot_history({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}, path)


def _write_image(path: Path) -> None:
    pytest.importorskip("PIL")
    save_img(path, np.zeros((4, 4, 3), "float32"))


def _write_cache(path: Path) -> None:
    _common.save_cache(path, {"x": np.arange(3)})


def _write_direct(path: Path) -> None:
    with io_utils.atomic_write(path) as f:
        f.write(b"data")


WRITERS: dict[str, Callable[[Path], None]] = {
    "plot_history": _write_plot,
    "save_img": _write_image,
    "save_cache": _write_cache,
    "atomic_write": _write_direct,
}
SUFFIX = {"plot_history": ".png", "save_img": ".png", "save_cache": ".npz", "atomic_write": ".bin"}


@pytest.fixture
def umask() -> Iterator[Callable[[int], None]]:
    saved = os.umask(0o022)

    def set_umask(value: int) -> None:
        os.umask(value)

    yield set_umask
    os.umask(saved)


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _open_mode(path: Path) -> int:
    with open(path, "wb") as f:
        f.write(b"x")
    return _mode(path)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.parametrize("writer", list(WRITERS))
@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002], ids=["022", "077", "002"])
def test_new_files_get_the_mode_open_gives(tmp_path, umask, writer, mask):
    umask(mask)
    target = tmp_path / f"out{SUFFIX[writer]}"
    WRITERS[writer](target)
    assert _mode(target) == _open_mode(tmp_path / "reference") == 0o666 & ~mask
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, "reference"])


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.parametrize("writer", list(WRITERS))
def test_an_overwritten_file_keeps_its_mode_as_with_open(tmp_path, umask, writer):
    umask(0o022)
    target = tmp_path / f"out{SUFFIX[writer]}"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    WRITERS[writer](target)
    assert _mode(target) == 0o640
    assert target.read_bytes() != b"old"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "keep.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="boom"):
        with io_utils.atomic_write(target) as f:
            f.write(b"half")
            raise RuntimeError("boom")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.bin"]
