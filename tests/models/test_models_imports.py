"""lamina.models imports point one way: no module of the package imports one that
(directly or through others) imports it back, counting imports inside functions."""

from __future__ import annotations

import ast
from pathlib import Path

import lamina.models

PACKAGE = Path(lamina.models.__file__).parent


def _graph() -> dict[str, set[str]]:
    mods = {f.stem: f for f in PACKAGE.glob("*.py") if f.stem != "__init__"}
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for target in targets:
                parts = target.split(".")
                if parts[:2] == ["lamina", "models"] and len(parts) > 2 and parts[2] in mods:
                    if parts[2] != name:
                        edges[name].add(parts[2])
    return edges


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        state[node] = 2
        path.pop()
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_models_package_has_no_import_cycle():
    cycle = _cycle(_graph())
    assert cycle is None, " -> ".join(cycle or [])


def test_model_finds_functional_and_sequential_through_the_registry():
    """Model(inputs, outputs) and Model.from_config still reach the subclasses."""
    import lamina
    from lamina import layers

    inp = lamina.Input((3,))
    model = lamina.Model(inp, layers.Dense(2)(inp))
    assert type(model).__name__ == "Functional"
    again = lamina.Model.from_config(model.get_config())
    assert type(again).__name__ == "Functional"
    seq = lamina.Sequential([layers.Input((3,)), layers.Dense(2)])
    assert type(lamina.Model.from_config(seq.get_config())).__name__ == "Sequential"
