"""The layering rules that import-linter cannot see.

`make lint` runs the import-linter contracts of pyproject.toml (imports point down, no
cycles). These tests add: only lamina/runtime/ names private torch APIs, and the package
map at the top of docs/design.md lists the contract's levels in the contract's order.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lamina"

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")


def _private_part(parts: list[str]) -> bool:
    return any(p.startswith("_") and not p.startswith("__") for p in parts)


def _private_torch_names(source: str) -> set[str]:
    """Dotted torch names with a private part that `source` imports or reads.

    `torch._foreach_*` kernels count too: they are reached through lamina/runtime/foreach.py.
    """
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names = [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Attribute):
            chain, value = [node.attr], node.value
            while isinstance(value, ast.Attribute):
                chain.append(value.attr)
                value = value.value
            names = (
                ["torch." + ".".join(reversed(chain))]
                if getattr(value, "id", "") == "torch"
                else []
            )
        else:
            continue
        found.update(n for n in names if n.startswith("torch.") and _private_part(n.split(".")))
    return found


def test_the_scan_finds_private_torch_names() -> None:
    source = (
        "import torch\nfrom torch._inductor.compile_fx import compile_fx\n"
        "x = torch.ops.mkldnn._convolution_pointwise\ny = torch.nn.functional.relu\n"
    )
    assert _private_torch_names(source) == {
        "torch._inductor.compile_fx.compile_fx",
        "torch.ops.mkldnn._convolution_pointwise",
    }


def test_only_the_runtime_package_uses_private_torch_names() -> None:
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("lamina/runtime/"):
            continue
        names = _private_torch_names(path.read_text())
        if names:
            offenders[rel] = sorted(names)
    assert offenders == {}, (
        f"Expected private torch names only in lamina/runtime/, received: {offenders}"
    )


def _contract_levels() -> list[list[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (layers,) = [c for c in config["contracts"] if c["type"] == "layers"]
    return [[m.strip(" ()") for m in re.split(r"[|:]", level)] for level in layers["layers"]]


def test_every_package_and_top_level_module_is_in_the_layers_contract() -> None:
    listed = {m.split(".")[0] for level in _contract_levels() for m in level}
    present = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    present |= {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert sorted(present - listed) == []


def test_the_design_map_shows_the_contract_levels_in_order() -> None:
    text = (ROOT / "docs" / "design.md").read_text()
    diagram = text.split("```text\n", 1)[1].split("```", 1)[0]
    rows = [line for line in diagram.splitlines() if line.strip()]
    levels = _contract_levels()
    assert len(rows) == len(levels)
    for row, level in zip(rows, levels):
        words = [w.strip("()") for w in row.split("#")[0].split()]
        assert [w for w in words if re.fullmatch(r"[a-z_][a-z0-9_.]*", w)] == level, row
