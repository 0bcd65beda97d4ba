"""A small, strict reader for the IDX format of (Fashion-)MNIST.

Layout: two zero bytes, a type code, the number of dimensions, then one big-endian
uint32 per dimension and the values in C order, big-endian. Files may be gzipped.
The header is validated and the payload must be exactly as long as it declares.

    images = read_idx("train-images-idx3-ubyte.gz", expected_ndim=3)
"""

from __future__ import annotations

import gzip
import io
import os
import struct
from typing import BinaryIO

import numpy as np

_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder(">").str: code for code, dt in _TYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 22
MAX_BYTES = 1 << 34  # refuse headers declaring more than 16 GiB


def _read_exact(f: BinaryIO, n: int, source: str, what: str) -> bytearray:
    """Read exactly `n` bytes in chunks (never trusting `n` for one allocation)."""
    buf = bytearray()
    while len(buf) < n:
        chunk = f.read(min(_CHUNK, n - len(buf)))
        if not chunk:
            raise ValueError(
                f"Expected {n} bytes of {what} in IDX {source}, received: {len(buf)} bytes "
                "(file truncated)"
            )
        buf += chunk
    return buf


def _read_stream(f: BinaryIO, source: str) -> np.ndarray:
    magic = _read_exact(f, 4, source, "header")
    if magic[0] != 0 or magic[1] != 0 or magic[2] not in _TYPES:
        raise ValueError(
            "Expected an IDX magic number (0x00 0x00, a type code in "
            f"{[hex(c) for c in _TYPES]}, ndim), received: magic=0x{magic.hex()} in {source}"
        )
    dtype, ndim = _TYPES[magic[2]], magic[3]
    shape = struct.unpack(f">{ndim}I", _read_exact(f, 4 * ndim, source, "header"))
    n_bytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if n_bytes > MAX_BYTES:
        raise ValueError(
            f"Expected at most {MAX_BYTES} bytes of IDX data, received: shape={shape} in {source}"
        )
    payload = _read_exact(f, n_bytes, source, "data")
    if f.read(1):
        raise ValueError(
            f"Expected exactly {n_bytes} data bytes for shape {shape} in IDX {source}, "
            "received: trailing bytes after the data"
        )
    arr = np.frombuffer(payload, dtype=dtype).reshape(shape)
    return arr.astype(dtype.newbyteorder("="), copy=False)


def read_idx(
    source: str | os.PathLike[str] | bytes | BinaryIO,
    *,
    expected_ndim: int | None = None,
    expected_dtype: str | np.dtype | None = None,
) -> np.ndarray:
    """Parse an IDX file (path, bytes or binary stream; gzip detected) into a native array."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        name, raw = "<bytes>", io.BytesIO(bytes(source))
        arr = _parse(raw, name)
    elif isinstance(source, (str, os.PathLike)):
        name = os.fspath(source)
        with open(name, "rb") as raw:
            arr = _parse(raw, repr(name))
    else:
        arr = _parse(source, repr(getattr(source, "name", "<stream>")))
        name = "<stream>"
    if expected_ndim is not None and arr.ndim != expected_ndim:
        raise ValueError(
            f"Expected an IDX array with {expected_ndim} dimensions in {name}, "
            f"received: shape={arr.shape}"
        )
    if expected_dtype is not None and arr.dtype != np.dtype(expected_dtype):
        raise ValueError(
            f"Expected IDX dtype {np.dtype(expected_dtype).name} in {name}, "
            f"received: dtype={arr.dtype.name}"
        )
    return arr


def _parse(raw: BinaryIO, name: str) -> np.ndarray:
    if not raw.seekable():
        raw = io.BytesIO(raw.read())
    head = raw.read(2)
    raw.seek(-len(head), io.SEEK_CUR)
    if head == _GZIP_MAGIC:
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as gz:
                return _read_stream(gz, name)
        except (gzip.BadGzipFile, EOFError, OSError) as err:
            raise ValueError(f"Expected a valid gzip stream, received: {err} in {name}") from err
    return _read_stream(raw, name)


def to_idx_bytes(array: np.ndarray) -> bytes:
    """Encode an array as IDX bytes (the inverse of `read_idx`), e.g. for test fixtures."""
    array = np.asarray(array)
    key = array.dtype.newbyteorder(">").str
    if key not in _CODES:
        raise ValueError(
            f"Expected a dtype IDX can store (uint8, int8, int16, int32, float32, float64), "
            f"received: dtype={array.dtype.name}"
        )
    if array.ndim > 255:
        raise ValueError(f"Expected at most 255 dimensions, received: ndim={array.ndim}")
    header = bytes([0, 0, _CODES[key], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=key).tobytes()
