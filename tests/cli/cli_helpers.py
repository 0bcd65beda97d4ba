"""Helpers of the command-line tests: the installed `lamina` run as a child process, and
`predict`'s output parsed."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

FORMATS = ("lamina", "keras", "h5")
LAMINA = Path(sys.executable).with_name("lamina")  # the console script pip installed


@dataclass
class Saved:
    """A trained model, its files by format and the summary text it prints."""

    model: Any
    files: dict[str, Path]
    summary: str
    folder: Path


def summary_text(model: Any) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        model.summary()
    return out.getvalue()


def run_lamina(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    """The installed `lamina` in a child process (LAMINA_EXAMPLES and LAMINA_DEBUG unset
    unless `env` sets them)."""
    if not LAMINA.exists():
        pytest.fail(f"Expected the console script at {LAMINA}: pip install -e '.[dev]'")
    environment = {
        k: v for k, v in os.environ.items() if k not in ("LAMINA_EXAMPLES", "LAMINA_DEBUG")
    }
    environment.update(env or {})
    return subprocess.run(
        [str(LAMINA), *args],
        capture_output=True,
        text=True,
        timeout=900,
        env=environment,
        cwd=cwd,
        check=False,
    )


def parse_predictions(text: str) -> dict[str, list[tuple[str, float]]]:
    """`predict`'s output: a path line, then indented 'label  pp.pp%' lines."""
    blocks: dict[str, list[tuple[str, float]]] = {}
    current: list[tuple[str, float]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith(" "):
            label, percent = line.strip().rsplit(None, 1)
            current.append((label.strip(), float(percent.rstrip("%")) / 100))
        else:
            current = blocks.setdefault(line.strip(), [])
    return blocks
