"""Ways to damage a model file, each a pure function from valid bytes to hostile bytes.

Used by the fuzz campaign (test_fuzz_files.py) and the pickle payload tests: byte-level
damage (truncation, flips), JSON values of the wrong type, safetensors headers declaring
huge tensors, hand-built zips (duplicate names, overlapping entries, lying sizes, real
deflate bombs) and HDF5 surgery (cycles, links out, huge declared datasets).
"""

from __future__ import annotations

import io
import json
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import h5py
import numpy as np

DEEP = "__fuzz_deep_nesting__"  # replaced by 100,000 nested lists when serialised
HUGE_INT = 10**30
WRONG_VALUES: list[Any] = [
    None, True, False, 0, -1, 1.5, float("-0.0"), HUGE_INT, -HUGE_INT, "", "x", "linear",
    [], [1, 2], [None], {}, {"class_name": "Dense"}, {"a": [{}]}, DEEP,
]  # fmt: skip


# ----- bytes -----------------------------------------------------------------------------


def truncated(data: bytes, n: int) -> bytes:
    return data[:n]


def flipped(data: bytes, flips: list[tuple[int, int]]) -> bytes:
    """`data` with byte `offset % len` XORed with `mask` for each (offset, mask)."""
    out = bytearray(data)
    for offset, mask in flips:
        out[offset % len(out)] ^= mask or 1
    return bytes(out)


# ----- JSON ------------------------------------------------------------------------------


def json_paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (keys and indices) to a value inside `value`, the root included."""
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += json_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += json_paths(item, (*prefix, i))
    return out


def replaced(value: Any, path: tuple, new: Any) -> Any:
    """A copy of `value` with the item at `path` replaced by `new`."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {k: (replaced(v, rest, new) if k == head else v) for k, v in value.items()}
    return [replaced(v, rest, new) if i == head else v for i, v in enumerate(value)]


def json_bytes(value: Any) -> bytes:
    """JSON text of `value`; the DEEP marker becomes 100,000 nested lists."""
    text = json.dumps(value)
    return text.replace(json.dumps(DEEP), "[" * 100_000 + "]" * 100_000).encode()


def json_mutant(data: bytes, pick: int, choice: int) -> tuple[bytes, str]:
    """JSON bytes with the `pick`-th value swapped for `WRONG_VALUES[choice]`."""
    value = json.loads(data)
    paths = json_paths(value)
    path = paths[pick % len(paths)]
    new = WRONG_VALUES[choice % len(WRONG_VALUES)]
    return json_bytes(replaced(value, path, new)), f"{list(path)} -> {str(new)[:20]}"


# ----- safetensors -----------------------------------------------------------------------


def st_header(data: bytes) -> tuple[dict[str, Any], bytes]:
    n = int.from_bytes(data[:8], "little")
    return json.loads(data[8 : 8 + n]), data[8 + n :]


def st_with_header(header_text: bytes, body: bytes) -> bytes:
    """Safetensors bytes with this header text (padded to 8 bytes, as the writer does)."""
    header_text += b" " * (-len(header_text) % 8)
    return len(header_text).to_bytes(8, "little") + header_text + body


def st_header_mutant(data: bytes, pick: int, choice: int) -> tuple[bytes, str]:
    header, body = st_header(data)
    text, what = json_mutant(json.dumps(header).encode(), pick, choice)
    return st_with_header(text, body), what


def st_huge_shape(data: bytes, pick: int, variant: int) -> tuple[bytes, str]:
    """One tensor declared with 10^12 elements; offsets kept, moved to match, or wrapped."""
    header, body = st_header(data)
    names = [k for k in header if k != "__metadata__"]
    name = names[pick % len(names)]
    entry = header[name]
    begin = entry["data_offsets"][0]
    variant %= 4
    entry["shape"] = [10**6, 10**6] if variant != 3 else [10**12, 0]
    if variant == 1:
        entry["data_offsets"] = [begin, begin + 4 * 10**12]
    elif variant == 2:
        entry["data_offsets"] = [begin, 2**64 - 1]
    return st_with_header(json.dumps(header).encode(), body), f"{name} variant {variant}"


def st_with_metadata(data: bytes, metadata: dict[str, str]) -> bytes:
    header, body = st_header(data)
    header["__metadata__"] = {**header.get("__metadata__", {}), **metadata}
    return st_with_header(json.dumps(header).encode(), body)


# ----- zips ------------------------------------------------------------------------------


def zip_members(data: bytes) -> list[tuple[str, bytes, int]]:
    """(name, bytes, compress_type) of every member, in order."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(i.filename, z.read(i), i.compress_type) for i in z.infolist()]


def zip_of(members: list[tuple[str, bytes, int]]) -> bytes:
    """A zip with these members (duplicate names kept)."""
    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w") as z:
        warnings.simplefilter("ignore")  # "Duplicate name"
        for name, payload, method in members:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = method
            z.writestr(info, payload)
    return out.getvalue()


def zip_replacing(data: bytes, name: str, fn: Callable[[bytes], bytes]) -> bytes:
    return zip_of([(n, fn(p) if n == name else p, m) for n, p, m in zip_members(data)])


def crafted_zip(
    members: list[tuple[str, bytes]],
    extra_central: list[tuple[str, int]] = (),
    declared: dict[str, int] | None = None,
    central_count: int | None = None,
) -> bytes:
    """A stored zip built by hand: `extra_central` adds central entries (name, index of
    the member whose local data they point at: overlapping entries); `declared` lies
    about members' uncompressed sizes in the central directory."""
    body, offsets, records = io.BytesIO(), [], []
    for name, payload in members:
        offsets.append(body.tell())
        raw = name.encode()
        crc = zlib.crc32(payload)
        body.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 33, crc,
                               len(payload), len(payload), len(raw), 0) + raw + payload)  # fmt: skip
        records.append((raw, crc, len(payload), offsets[-1]))
    for name, index in extra_central:
        _, crc, size, offset = records[index]
        records.append((name.encode(), crc, size, offset))
    central = io.BytesIO()
    for raw, crc, size, offset in records:
        full = (declared or {}).get(raw.decode(), size)
        central.write(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 0, 0, 33, crc, size,
                                  full, len(raw), 0, 0, 0, 0, 0o644 << 16, offset) + raw)  # fmt: skip
    start, cd = body.tell(), central.getvalue()
    count = len(records) if central_count is None else central_count
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count & 0xFFFF, count & 0xFFFF,
                      len(cd), start, 0)  # fmt: skip
    return body.getvalue() + cd + end


def deflate_bomb_member(
    size: int, prefix: bytes = b"", unit: bytes = b"\0", chunk: int = 1 << 24
) -> tuple[bytes, int]:
    """(raw deflate data, crc32) of `prefix` then `unit` repeated to `size` bytes in all."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts, crc = [comp.compress(prefix)], zlib.crc32(prefix)
    left = size - len(prefix)
    zeros = unit * (chunk // len(unit))
    while left:
        piece = zeros[: min(len(zeros), left)]
        parts.append(comp.compress(piece))
        crc = zlib.crc32(piece, crc)
        left -= len(piece)
    parts.append(comp.flush())
    return b"".join(parts), crc


def zip_with_deflated_raw(members: list[tuple[str, bytes]], name: str, raw: bytes,
                          crc: int, size: int) -> bytes:  # fmt: skip
    """Stored `members` plus one deflated member given as raw deflate data."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for n, payload in members:
            z.writestr(zipfile.ZipInfo(n, date_time=(1980, 1, 1, 0, 0, 0)), payload)
        offset = out.tell()
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.CRC, info.compress_size, info.file_size = crc, len(raw), size
        info.header_offset = offset
        info.flag_bits = 0
        out.write(info.FileHeader(zip64=size > 0xFFFFFFFF))
        out.write(raw)
        z.start_dir = out.tell()
        z.filelist.append(info)
        z.NameToInfo[name] = info
    return out.getvalue()


# ----- HDF5 ------------------------------------------------------------------------------


def h5_edit(data: bytes, edit: Callable[[h5py.File], Any]) -> bytes:
    """The HDF5 bytes after `edit(file)` changed a copy."""
    buffer = io.BytesIO(data)
    with h5py.File(buffer, "r+") as f:
        edit(f)
    return buffer.getvalue()


def h5_objects(data: bytes) -> tuple[list[str], list[tuple[str, str]]]:
    """(dataset paths, (object path, attribute name) pairs) of HDF5 bytes."""
    datasets: list[str] = []
    with h5py.File(io.BytesIO(data), "r") as f:
        attrs = [("/", a) for a in f.attrs]

        def visit(name: str, obj: Any) -> None:
            if isinstance(obj, h5py.Dataset):
                datasets.append(name)
            attrs.extend((name, a) for a in obj.attrs)

        f.visititems(visit)
    return datasets, attrs


def h5_dataset_paths(data: bytes) -> list[str]:
    return h5_objects(data)[0]


def h5_groups(f: h5py.File) -> Iterator[h5py.Group]:
    yield f
    found: list[h5py.Group] = []
    f.visititems(lambda _, obj: found.append(obj) if isinstance(obj, h5py.Group) else None)
    yield from found


def h5_structural(data: bytes, kind: int, pick: int, tmp_target: str) -> tuple[bytes, str]:
    """One structural attack: a cycle, an external link, a soft link, a huge dataset."""
    datasets = h5_dataset_paths(data)
    target = datasets[pick % len(datasets)] if datasets else None
    kind %= 6

    def edit(f: h5py.File) -> None:
        groups = list(h5_groups(f))
        group = groups[pick % len(groups)]
        if kind == 0:
            group["fuzz_cycle"] = f["/"]  # a hard link back to the root
        elif kind == 1:
            group["fuzz_cycle"] = group  # a group inside itself
        elif kind == 2 and target:
            del f[target]
            f[target] = h5py.ExternalLink(tmp_target, "/data")
        elif kind == 3 and target:
            del f[target]
            f[target] = h5py.SoftLink("/nowhere")
        elif kind == 4 and target:
            del f[target]
            f.create_dataset(target, shape=(10**6, 10**6), dtype="float32", chunks=(1, 1024))
        elif kind == 5 and target:
            del f[target]
            f.create_dataset(target, shape=(10**12,), dtype="float32", maxshape=(None,),
                             chunks=(1 << 16,))  # fmt: skip

    return h5_edit(data, edit), f"structural {kind} at {target}"


def h5_attr_mutant(data: bytes, pick: int, choice: int, sub: int) -> tuple[bytes, str]:
    """One attribute replaced: JSON attributes get a wrong-typed value, others junk."""
    _, attrs = h5_objects(data)
    if not attrs:
        return data, "no attributes"
    path, name = attrs[pick % len(attrs)]
    junk: list[Any] = [np.float64(1.5), np.arange(3), b"\xff\xfe", "x" * 10, np.void(b"ab"),
                       np.array([b"a", b"b"]), np.zeros((0,), "int32")]  # fmt: skip
    holder: dict[str, str] = {}

    def edit(f: h5py.File) -> None:
        obj = f[path]
        value = obj.attrs[name]
        text = value.decode() if isinstance(value, bytes) else value
        if isinstance(text, str) and text[:1] in "{[":
            new, holder["what"] = json_mutant(text.encode(), sub, choice)
            obj.attrs[name] = new.decode()
        else:
            new = junk[choice % len(junk)]
            holder["what"] = repr(new)[:20]
            obj.attrs[name] = new

    out = h5_edit(data, edit)
    return out, f"attr {path}:{name} {holder.get('what')}"
