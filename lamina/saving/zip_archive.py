"""Zip archives for model files: written atomically, read with limits a hostile file can't pass.

Both `.lamina` and Keras 3's `.keras` are zips. Reading one checks, before any member
is inflated: the member count, duplicate names, members whose data overlap (the
overlapping-entry zip bomb), and declared sizes beyond what deflate can produce from
the compressed bytes (about 1,032 to 1), and a member over 32 MiB compressed more
than 50 to 1 (trained weights barely compress; a bomb's zeros do). Each member is then read in chunks and may
not exceed its declared size, so memory stays bounded by the file's real content.
"""

from __future__ import annotations

import io
import os
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from lamina.io_utils import atomic_write
from lamina.saving.errors import FileFormatError, where

MAX_MEMBERS = 10_000
MAX_CENTRAL_BYTES = 4 << 20  # 10,000 entries with 400-byte names; zipfile parses it whole
DEFLATE_RATIO = 1_100  # deflate's ceiling is ~1,032:1; a bit of room for headers
INFLATE_FLOOR = 32 << 20  # members up to this size may compress as well as deflate can
INFLATE_RATIO = 50  # above it, weights (near-random floats) compress far less than this
_CHUNK = 1 << 20


class SafeZip:
    """A zip opened for reading, checked as a whole; `read(name)` returns a member's bytes."""

    def __init__(self, source: str | os.PathLike | IO[bytes], path: Any = None) -> None:
        self.path = path if path is not None else source
        check_central_directory(source, self.path)
        try:
            self._zip = zipfile.ZipFile(source, "r")
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as err:
            raise FileFormatError(
                f"Expected a zip archive, received: {where(self.path)}, which is not one ({err})"
            ) from None
        except (RuntimeError, NotImplementedError, OverflowError, IndexError) as err:
            raise FileFormatError(
                f"Expected a readable zip archive, received: {where(self.path)} ({err})"
            ) from None
        if len(infos) > MAX_MEMBERS:
            raise FileFormatError(
                f"Expected at most {MAX_MEMBERS} members in a model archive, received: "
                f"{len(infos)} in {where(self.path)}"
            )
        self._infos: dict[str, zipfile.ZipInfo] = {}
        spans = []
        for info in infos:
            if info.filename in self._infos:
                raise FileFormatError(
                    f"Expected unique member names, received: {info.filename!r} twice in "
                    f"{where(self.path)}"
                )
            self._infos[info.filename] = info
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise FileFormatError(
                    f"Expected stored or deflated members, received: compression "
                    f"{info.compress_type} in {where(self.path, info.filename)}"
                )
            if info.flag_bits & 0x1:
                raise FileFormatError(
                    f"Expected unencrypted members, received: an encrypted one in "
                    f"{where(self.path, info.filename)}"
                )
            limit = info.compress_size * (
                DEFLATE_RATIO if info.compress_type == zipfile.ZIP_DEFLATED else 1
            )
            if info.file_size > limit + 1024:
                raise FileFormatError(
                    f"Expected a member no larger than its compressed data allows, received: "
                    f"{info.file_size} bytes from {info.compress_size} in "
                    f"{where(self.path, info.filename)} (a zip bomb?)"
                )
            if (
                info.compress_type == zipfile.ZIP_DEFLATED
                and info.file_size > INFLATE_FLOOR
                and info.file_size > info.compress_size * INFLATE_RATIO
            ):
                raise FileFormatError(
                    f"Expected a member over {INFLATE_FLOOR >> 20} MiB to be compressed at most "
                    f"{INFLATE_RATIO}:1, received: {info.file_size} bytes from "
                    f"{info.compress_size} in {where(self.path, info.filename)} (a zip bomb?)"
                )
            spans.append((info.header_offset, info.header_offset + info.compress_size, info))
        spans.sort(key=lambda s: s[0])
        for (_, end, first), (start, _, second) in zip(spans, spans[1:]):
            if start < end:
                raise FileFormatError(
                    f"Expected members whose data do not overlap, received: {first.filename!r} "
                    f"and {second.filename!r} overlap in {where(self.path)} (a zip bomb?)"
                )

    def names(self) -> list[str]:
        return list(self._infos)

    def __contains__(self, name: str) -> bool:
        return name in self._infos

    def read(self, name: str, max_bytes: int | None = None) -> bytes:
        """The member's bytes; an error naming it if missing, damaged or over its size."""
        info = self._infos.get(name)
        if info is None:
            raise FileFormatError(
                f"Expected a member {name!r} in {where(self.path)}, received: members "
                f"{sorted(self._infos)[:10]}"
            )
        if max_bytes is not None and info.file_size > max_bytes:
            raise FileFormatError(
                f"Expected at most {max_bytes} bytes, received: {info.file_size} in "
                f"{where(self.path, name)}"
            )
        out = io.BytesIO()
        try:
            with self._zip.open(info) as member:
                while True:
                    chunk = member.read(_CHUNK)
                    if not chunk:
                        break
                    out.write(chunk)
                    if out.tell() > info.file_size:
                        raise FileFormatError(
                            f"Expected {info.file_size} bytes as declared, received: more in "
                            f"{where(self.path, name)}"
                        )
        except FileFormatError:
            raise
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as err:
            raise FileFormatError(
                f"Expected an intact member, received: a damaged one in {where(self.path, name)} "
                f"({err})"
            ) from None
        except (RuntimeError, NotImplementedError, OverflowError, IndexError) as err:
            raise FileFormatError(
                f"Expected a readable member, received: {where(self.path, name)} ({err})"
            ) from None
        return out.getvalue()

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> SafeZip:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def check_central_directory(source: str | os.PathLike | IO[bytes], path: Any = None) -> None:
    """Refuse a central directory over MAX_CENTRAL_BYTES before zipfile builds an object
    per entry (half a million entries cost seconds and hundreds of MB before any count
    check). The size comes from the end record (or its zip64 record): zipfile reads
    exactly that many bytes, whatever the entry count fields claim."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as f:
            size = _central_size(f)
    else:
        position = source.tell()
        try:
            size = _central_size(source)
        finally:
            source.seek(position)
    if size > MAX_CENTRAL_BYTES:
        raise FileFormatError(
            f"Expected a zip directory of at most {MAX_CENTRAL_BYTES} bytes, received: "
            f"{size} bytes in {where(path if path is not None else source)}"
        )


def _central_size(f: IO[bytes]) -> int:
    """The central directory's declared size; 0 when there is no end record to read."""
    f.seek(0, os.SEEK_END)
    end = f.tell()
    start = max(0, end - (1 << 16) - 22)
    f.seek(start)
    tail = f.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        return 0  # not a zip: zipfile says so
    size = int.from_bytes(tail[at + 12 : at + 16], "little")
    record = tail[at - 76 : at - 20]  # a zip64 end record sits before its 20-byte locator
    if at >= 76 and tail[at - 20 : at - 16] == b"PK\x06\x07" and record[:4] == b"PK\x06\x06":
        return int.from_bytes(record[40:48], "little")  # the size zipfile then reads
    return size


@contextmanager
def writing_zip(path: str | os.PathLike) -> Iterator[zipfile.ZipFile]:
    """A zip written beside `path`, fsynced and renamed over it only when the block succeeds."""
    with atomic_write(path, fsync=True) as f, zipfile.ZipFile(f, "w") as archive:
        yield archive


def add_member(archive: zipfile.ZipFile, name: str, data: bytes, compress: bool = True) -> None:
    """One member; JSON is deflated, tensor files are stored (they don't compress)."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)
