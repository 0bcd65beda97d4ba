"""Every entry point pyproject.toml declares resolves: an installed command must not crash
with ModuleNotFoundError or AttributeError."""

from __future__ import annotations

import importlib
import os
from typing import Any

import pytest

tomllib = pytest.importorskip("tomllib")  # the standard library from Python 3.11

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def declared_entry_points() -> dict[str, str]:
    """name -> 'module:attr' from [project.scripts], [project.gui-scripts], [project.entry-points]."""
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)["project"]
    groups = [project.get("scripts", {}), project.get("gui-scripts", {})]
    groups += list(project.get("entry-points", {}).values())
    return {name: target for group in groups for name, target in group.items()}


def resolve(target: str) -> Any:
    module_name, _, attr_path = target.partition(":")
    obj = importlib.import_module(module_name.strip())
    for attr in filter(None, attr_path.strip().split(".")):
        obj = getattr(obj, attr)
    return obj


def test_every_declared_entry_point_imports_and_resolves():
    broken = {}
    for name, target in declared_entry_points().items():
        try:
            obj = resolve(target)
        except (ImportError, AttributeError) as err:
            broken[name] = f"{target}: {type(err).__name__}: {err}"
            continue
        if not callable(obj):
            broken[name] = f"{target}: not callable"
    assert not broken, broken


def test_resolve_reads_module_and_attribute_path():
    assert resolve("os.path:join") is os.path.join
