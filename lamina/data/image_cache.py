"""A disk cache of decoded images: one memory-mapped uint8 (N, h, w, c) file + a JSON sidecar.

The key hashes the file list (relative paths, sizes, mtimes) and the decode settings, so
an added, removed or modified file, or another size/colour/interpolation, gives a new key
and a stale cache is never read. The cache is filled while the first epoch decodes: rows
go into a temporary file that is renamed into place only when every row is written (the
sidecar, written last, marks it complete and lists the files that failed to decode). An
interrupted fill leaves nothing behind. Reads page rows in from the OS page cache, so RAM
stays bounded however many images there are.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lamina.datasets._common import lamina_home

FORMAT_VERSION = 1
DISK_BUDGET = 0.5  # refuse to use more than this fraction of the free space


def default_cache_dir() -> Path:
    """`$LAMINA_HOME/cache/images` (default ~/.lamina/cache/images)."""
    return lamina_home() / "cache" / "images"


def cache_key(directory: str, filenames: Sequence[str], settings: dict[str, Any]) -> str:
    """SHA-256 of the sorted (path, size, mtime) list and the decode settings."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for name in sorted(filenames):
        st = os.stat(os.path.join(directory, name))
        digest.update(f"\0{name}\0{st.st_size}\0{st.st_mtime_ns}".encode())
    return digest.hexdigest()[:32]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ImageCache:
    """The cache file for one key; `complete` once filled, else fill with begin/write/finish."""

    def __init__(self, folder: str | os.PathLike, key: str, shape: tuple[int, int, int, int]):
        self.folder = Path(folder).expanduser()
        self.key = key
        self.shape = tuple(int(s) for s in shape)
        self.data_path = self.folder / f"{key}.u8"
        self.meta_path = self.folder / f"{key}.json"
        self.valid: np.ndarray | None = None  # per row, once complete
        self.refused = False
        self._array: np.memmap | None = None
        self._tmp: Path | None = None
        self._filled: np.ndarray | None = None
        self._failed: np.ndarray | None = None
        self._open_complete()

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape))

    @property
    def complete(self) -> bool:
        return self.valid is not None

    @property
    def filling(self) -> bool:
        return self._tmp is not None

    def _open_complete(self) -> None:
        """Use an existing complete cache for this key (a damaged one is ignored)."""
        try:
            meta = json.loads(self.meta_path.read_text())
            ok = (
                meta.get("version") == FORMAT_VERSION
                and tuple(meta.get("shape", ())) == self.shape
                and self.data_path.stat().st_size == self.nbytes
            )
        except (OSError, ValueError):
            return
        if not ok:
            return
        valid = np.ones(self.shape[0], dtype=bool)
        valid[np.asarray(meta.get("failed", []), dtype=np.int64)] = False
        self._array = np.memmap(self.data_path, dtype=np.uint8, mode="r", shape=self.shape)
        self.valid = valid

    def read(self, indices: np.ndarray) -> tuple[np.ndarray, torch.Tensor]:
        """(kept indices, uint8 rows) in the order given; rows that failed to decode are dropped."""
        assert self._array is not None and self.valid is not None
        kept = np.asarray(indices, dtype=np.int64)
        kept = kept[self.valid[kept]]
        ascending = np.argsort(kept, kind="stable")  # memmap reads in file order
        rows = np.empty((len(kept), *self.shape[1:]), dtype=np.uint8)
        rows[ascending] = self._array[kept[ascending]]
        return kept, torch.from_numpy(rows)

    def begin(self) -> bool:
        """Start filling a temporary file; False (one warning) when over the disk budget."""
        if self.complete or self.filling:
            return self.filling
        if self.refused:
            return False
        self.folder.mkdir(parents=True, exist_ok=True)
        self._remove_orphans()
        free = shutil.disk_usage(self.folder).free
        if self.nbytes > DISK_BUDGET * free:
            self.refused = True
            warnings.warn(
                f"Expected the image cache to fit in {DISK_BUDGET:.0%} of the free disk space, "
                f"received: size={self.nbytes / 1e6:.1f} MB, free={free / 1e6:.1f} MB in "
                f"{self.folder}; decoding every epoch instead (no cache).",
                stacklevel=3,
            )
            return False
        self._tmp = self.folder / f"{self.key}.u8.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._array = np.memmap(self._tmp, dtype=np.uint8, mode="w+", shape=self.shape)
        self._filled = np.zeros(self.shape[0], dtype=bool)
        self._failed = np.zeros(self.shape[0], dtype=bool)
        return True

    def write(self, indices: np.ndarray, rows: torch.Tensor | np.ndarray, failed: Sequence[int]):
        """Store decoded rows (for `indices`) and mark `failed` indices; finishes when all are in."""
        if not self.filling:
            return
        assert self._array is not None and self._filled is not None and self._failed is not None
        indices = np.asarray(indices, dtype=np.int64)
        if len(indices):
            self._array[indices] = np.asarray(rows)
        failed = np.asarray(list(failed), dtype=np.int64)
        self._failed[failed] = True
        self._filled[indices] = True
        self._filled[failed] = True
        if self._filled.all():
            self._finish()

    def _finish(self) -> None:
        """Flush, then rename data and sidecar into place (sidecar last: it marks completion)."""
        assert self._array is not None and self._tmp is not None and self._failed is not None
        self._array.flush()
        self._array = None
        meta = {
            "version": FORMAT_VERSION,
            "shape": list(self.shape),
            "failed": np.flatnonzero(self._failed).tolist(),
        }
        os.replace(self._tmp, self.data_path)
        tmp_meta = self.meta_path.with_suffix(f".json.tmp-{os.getpid()}")
        tmp_meta.write_text(json.dumps(meta))
        os.replace(tmp_meta, self.meta_path)
        self._tmp = self._filled = self._failed = None
        self._open_complete()

    def abort(self) -> None:
        """Drop a partial fill (its temporary file is deleted)."""
        if self._tmp is not None:
            self._array = None
            self._tmp.unlink(missing_ok=True)
            self._tmp = self._filled = self._failed = None

    def _remove_orphans(self) -> None:
        """Delete temporary files of this key left by processes that died mid-fill."""
        for path in self.folder.glob(f"{self.key}.u8.tmp-*"):
            try:
                pid = int(path.name.rsplit("tmp-", 1)[1].split("-")[0])
            except ValueError:
                continue
            if pid != os.getpid() and not _pid_alive(pid):
                path.unlink(missing_ok=True)
