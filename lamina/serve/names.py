"""Model names: what a URL may name, and the `NAME=PATH` / `PATH` forms that give them.

A name is looked up only in the server's in-memory table of loaded models, never joined
to a path, and it must match `^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$` without `..`: a URL such
as `/v1/models/%2e%2e/...` is refused before any lookup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def valid_model_name(name: str) -> bool:
    """Whether `name` may name a served model."""
    return NAME_PATTERN.fullmatch(name) is not None and ".." not in name


def check_model_name(name: str) -> str:
    """`name`, or a ValueError saying what a name must look like."""
    if not valid_model_name(name):
        raise ValueError(
            "Expected a model name of 1-64 letters, digits, '_', '.' or '-' starting with a "
            f"letter or digit and without '..', received: name={name[:80]!r}"
        )
    return name


@dataclass(frozen=True)
class ModelSource:
    """A model file to serve and the name its URLs use."""

    name: str
    path: Path


def parse_model_arg(arg: str, name: str | None = None) -> ModelSource:
    """`PATH` (named after the file's stem) or `NAME=PATH`; `name` overrides both.

    An argument that is an existing file is a path even when it contains '='."""
    path_text = arg
    if "=" in arg and not Path(arg).is_file():
        given, path_text = arg.split("=", 1)
        name = name or given
    path = Path(path_text)
    if name is None and not valid_model_name(path.stem):
        raise ValueError(
            f"Expected a file name that makes a model name (letters, digits, '_', '.', '-'), "
            f"received: {path.stem[:80]!r} (--name NAME or NAME=PATH names it)"
        )
    return ModelSource(check_model_name(name or path.stem), path)


def unique_sources(sources: list[ModelSource]) -> dict[str, Path]:
    """Sources by name; a ValueError when two share one."""
    table: dict[str, Path] = {}
    for source in sources:
        if source.name in table:
            raise ValueError(
                f"Expected one model per name, received: name={source.name!r} for "
                f"{str(table[source.name])!r} and {str(source.path)!r} (--name renames one)"
            )
        table[source.name] = source.path
    return table
