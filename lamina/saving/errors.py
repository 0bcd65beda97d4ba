"""The errors a model file can raise: one class to catch, with the file and what was wrong.

Every reader in `lamina.saving` turns a malformed, truncated, hostile or oversized file
into a `FileFormatError` (a `ValueError`), and a refused piece of code (a Lambda's
bytecode, an unregistered function) into an `UnsafeFileError`, so callers can tell
"this file is broken" from "this file wanted to run code".
"""

from __future__ import annotations

import os


class FileFormatError(ValueError):
    """A model or weights file that is not what its format promises."""


class UnsafeFileError(FileFormatError):
    """A file that asks for code to run: bytecode, an unknown module function, a link out."""


def where(path: str | os.PathLike | None, member: str | None = None) -> str:
    """`path` (and the member inside it) for messages."""
    text = repr(os.fspath(path)) if path is not None else "<stream>"
    return f"{text} member {member!r}" if member else text
