"""The memory-bound fuzz cases: files a few KB to a few MB long that would make a careless
reader allocate gigabytes. Each is name -> (format, build(valid bytes) -> hostile bytes);
fuzz_cases.py loads them one by one in a fresh process and reports each one's peak.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable

from fuzz_mutations import (
    crafted_zip,
    deflate_bomb_member,
    h5_structural,
    zip_members,
    zip_replacing,
    zip_with_deflated_raw,
)

BOMB_BYTES = int(os.environ.get("LAMINA_FUZZ_BOMB_MIB", 256)) << 20  # 1024 for the campaign


def _inflating(member: str, size: int, prefix: bytes = b"", unit: bytes = b"\0") -> Callable:
    """A zip whose `member` (or the member ending so) is deflate data inflating to `size` bytes (ratio ~1,000:1)."""

    def build(valid: bytes) -> bytes:
        members = zip_members(valid)
        name = next(n for n, _, _ in members if n.endswith(member))  # torch: "<stem>/data/0"
        others = [(n, p) for n, p, _ in members if n != name]
        raw, crc = deflate_bomb_member(size, prefix, unit)
        return zip_with_deflated_raw(others, name, raw, crc, size)

    return build


def _safetensors_prefix(size: int) -> bytes:
    """A safetensors header declaring one float32 tensor filling `size` bytes of file."""
    n = (size - 4096) // 4
    header = json.dumps({"x": {"dtype": "F32", "shape": [n], "data_offsets": [0, 4 * n]}})
    text = header.encode() + b" " * (4096 - 8 - len(header))
    return (len(text)).to_bytes(8, "little") + text


def _many_entries(count: int) -> Callable:
    """`count` extra central-directory entries, all pointing at the first member."""

    def build(valid: bytes) -> bytes:
        members = [(n, p) for n, p, _ in zip_members(valid)]
        return crafted_zip(members, extra_central=[(f"x{i}", 0) for i in range(count)])

    return build


def _h5_huge(kind: int) -> Callable:
    return lambda valid: h5_structural(valid, kind, 0, "/nonexistent.h5")[0]


def _in_keras(edit: Callable[[bytes], bytes]) -> Callable:
    return lambda valid: zip_replacing(valid, "model.weights.h5", edit)


_LAMINA_CONFIG = b'{"format": "lamina", "format_version": 1, "model": ['
_KERAS_CONFIG = b'{"class_name": "Sequential", "config": {"layers": ['
CASES: dict[str, tuple[str, Callable[[bytes], bytes]]] = {
    "lamina_weights_inflates_to_gbs": (
        "lamina",
        _inflating("model.safetensors", BOMB_BYTES, _safetensors_prefix(BOMB_BYTES)),
    ),
    "lamina_optimizer_inflates_to_gbs": (
        "lamina",
        _inflating("optimizer.safetensors", BOMB_BYTES, _safetensors_prefix(BOMB_BYTES)),
    ),
    "lamina_config_inflate_60mib_of_lists": (
        "lamina",
        _inflating("config.json", 60 << 20, _LAMINA_CONFIG, b"[],"),
    ),
    "lamina_config_inflate_60mib_deep": ("lamina", _inflating("config.json", 60 << 20, b"", b"[")),
    "lamina_500k_central_entries": ("lamina", _many_entries(500_000)),
    "keras_config_inflate_60mib_of_lists": (
        "keras",
        _inflating("config.json", 60 << 20, _KERAS_CONFIG, b"[],"),
    ),
    "keras_weights_inflates_to_gbs": ("keras", _inflating("model.weights.h5", BOMB_BYTES)),
    "keras_huge_dataset": ("keras", _in_keras(_h5_huge(4))),
    "keras_huge_resizable_dataset": ("keras", _in_keras(_h5_huge(5))),
    "h5_huge_dataset": ("h5", _h5_huge(4)),
    "weights_h5_huge_dataset": ("weights_h5", _h5_huge(4)),
    "weights_h5_huge_resizable_dataset": ("weights_h5", _h5_huge(5)),
    "torch_storage_inflates_to_gbs": ("torch", _inflating("/data/0", BOMB_BYTES)),
}
