"""Atomic file writes: readers never see a half-written file, and modes follow `open()`.

    with atomic_write("curves.png") as f:
        fig.savefig(f, format="png")

Standard library only, so any module (datasets, utils, plot) can use it without cycles.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, *, fsync: bool = False) -> Iterator[BinaryIO]:
    """A binary file beside `path`, renamed over it when the block succeeds.

    The file gets the mode a plain `open(path, "wb")` would give: 0o666 less the umask
    for a new file, the old file's permission bits when `path` exists
    (`tempfile.mkstemp` would make it 0600). On an error the temporary file is removed
    and `path` is left as it was. `fsync=True` flushes the data to disk before the rename, and the rename after it.
    """
    path = Path(path)
    try:
        keep = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        keep = None
    fd, tmp = _create_beside(path)
    try:
        with os.fdopen(fd, "wb") as f:
            if keep is not None:
                os.chmod(tmp, keep)
            yield f
            f.flush()
            if fsync:
                os.fsync(f.fileno())
        os.replace(tmp, path)
        if fsync:
            _fsync_folder(path.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); folders can't be opened on Windows."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _create_beside(path: Path) -> tuple[int, str]:
    """Create a new, uniquely named file in `path`'s folder with mode 0o666 (the umask applies)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = str(path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
