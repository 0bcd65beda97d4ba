"""Callbacks sit below the distributed launcher: they import only base modules,
`lamina.saving` (BackupAndRestore's training state), `lamina.distributed.env` and
`lamina.utils.progbar` (ProgbarLogger), and the engine-facing distributed modules import no callbacks
(the launcher's payload builds the parent's History, so the reverse would be a cycle)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "lamina"  # read, not imported
CALLBACKS_MAY_IMPORT = (
    "lamina.callbacks",
    "lamina.registry",
    "lamina.saving",
    "lamina.distributed.env",
    "lamina.utils.progbar",  # ProgbarLogger's bar (standard library only)
)
ENGINE_FACING_DISTRIBUTED = ("env.py", "reduce.py", "session.py", "sharding.py")
LAUNCHER = ("lamina.distributed.launch", "lamina.distributed.payload", "lamina.distributed.worker")


def lamina_imports(path: Path) -> set[str]:
    """Every `lamina...` module a file imports, function-level imports included."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return {name for name in found if name.split(".")[0] == "lamina"}


def callbacks_files() -> list[Path]:
    """The files of lamina.callbacks and its submodules."""
    files = [p for p in ROOT.rglob("*.py") if p.relative_to(ROOT).parts[0].startswith("callbacks")]
    assert files
    return sorted(files)


@pytest.mark.parametrize("path", callbacks_files(), ids=lambda p: p.name)
def test_callbacks_import_only_base_modules_and_the_rank(path):
    outside = {m for m in lamina_imports(path) if not m.startswith(CALLBACKS_MAY_IMPORT)}
    assert not outside, f"{path.name} imports {sorted(outside)}"


@pytest.mark.parametrize("name", ENGINE_FACING_DISTRIBUTED)
def test_engine_facing_distributed_modules_import_neither_callbacks_nor_the_launcher(name):
    imports = lamina_imports(ROOT / "distributed" / name)
    bad = {m for m in imports if m.startswith(("lamina.callbacks", *LAUNCHER))}
    bad |= {m for m in imports if m in ("lamina.distributed", "lamina")}
    assert not bad, f"distributed/{name} imports {sorted(bad)}"
