"""JSON from a model file, parsed only when its size and element count bound the memory.

`json.loads` builds one Python object per value: 16 MiB of `[],[],...` would become
five million lists, twenty times the text. A config or optimizer description written by
Lamina or Keras holds thousands of values, so a file declaring more than MAX_VALUES (a
cheap upper count from the separators, before parsing) or over MAX_BYTES is refused.
"""

from __future__ import annotations

import json
from typing import Any

from lamina.saving.errors import FileFormatError

MAX_BYTES = 16 << 20
MAX_VALUES = 1_000_000


def loads(data: bytes | str, where_text: str) -> Any:
    """The JSON value in `data`; a FileFormatError naming `where_text` for anything else."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if len(raw) > MAX_BYTES:
        raise FileFormatError(
            f"Expected JSON of at most {MAX_BYTES} bytes in {where_text}, received: {len(raw)}"
        )
    values = raw.count(b",") + raw.count(b"[") + raw.count(b"{")
    if values > MAX_VALUES:
        raise FileFormatError(
            f"Expected JSON of at most {MAX_VALUES} values in {where_text}, received: up to "
            f"{values}"
        )
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError) as err:
        raise FileFormatError(
            f"Expected JSON in {where_text}, received: bytes that are not "
            f"({type(err).__name__}: {str(err)[:200]})"
        ) from None
