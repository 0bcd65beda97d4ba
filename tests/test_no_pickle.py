"""No code path in the package can run code from a file: the source is read, not trusted.

Every module of `lamina/` is parsed; the tree may not import pickle (or its relatives:
marshal, shelve, dill, cloudpickle, joblib), call `torch.load` without
`weights_only=True` in the same call, call `np.load` without `allow_pickle=False`, or
call `eval`/`exec` at all. Mentions in docstrings and comments are fine: only code counts.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lamina"
FORBIDDEN_MODULES = {"pickle", "_pickle", "cPickle", "marshal", "shelve", "dill", "cloudpickle",
                     "joblib", "copyreg"}  # fmt: skip
FORBIDDEN_CALLS = {"eval", "exec", "__import__", "read_pickle"}
SOURCES = sorted(PACKAGE.rglob("*.py"))


def _dotted(node: ast.AST) -> str:
    """`a.b.c` for a Name/Attribute chain, "" otherwise."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def _keyword_is(call: ast.Call, name: str, value: bool) -> bool:
    return any(
        k.arg == name and isinstance(k.value, ast.Constant) and k.value.value is value
        for k in call.keywords
    )


def problems(source: str, label: str) -> list[str]:
    """Every forbidden construct in `source`, as "label:line: what"."""
    found = []
    for node in ast.walk(ast.parse(source)):
        line = f"{label}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import):
            found += [f"{line}: import {a.name}" for a in node.names
                      if a.name.split(".")[0] in FORBIDDEN_MODULES]  # fmt: skip
        elif isinstance(node, ast.ImportFrom):
            if (node.module or "").split(".")[0] in FORBIDDEN_MODULES:
                found.append(f"{line}: from {node.module} import ...")
        elif isinstance(node, ast.Attribute) and _dotted(node).split(".")[0] in FORBIDDEN_MODULES:
            found.append(f"{line}: {_dotted(node)}")
        elif isinstance(node, ast.Call):
            name = _dotted(node.func)
            last = name.rsplit(".", 1)[-1]
            if name in FORBIDDEN_CALLS or last == "read_pickle":
                found.append(f"{line}: {name}(...)")
            elif name.endswith("torch.load") or name == "load" and _imports_torch_load(source):
                if not _keyword_is(node, "weights_only", True):
                    found.append(f"{line}: {name}(...) without weights_only=True")
            elif name in ("np.load", "numpy.load"):
                if not _keyword_is(node, "allow_pickle", False):
                    found.append(f"{line}: {name}(...) without allow_pickle=False")
            elif last == "import_module" and any(
                isinstance(a, ast.Constant) and str(a.value).split(".")[0] in FORBIDDEN_MODULES
                for a in node.args
            ):
                found.append(f"{line}: import_module of a pickle module")
    return found


def _imports_torch_load(source: str) -> bool:
    return "from torch import load" in source


def test_the_checker_catches_each_construct():
    bad = (
        "import pickle\nimport marshal as m\nfrom cloudpickle import dumps\n"
        "x = pickle.loads(b'')\ntorch.load(p)\ntorch.load(p, weights_only=False)\n"
        "np.load(p)\nnumpy.load(p, allow_pickle=True)\neval(text)\nexec(code)\n"
        "importlib.import_module('pickle')\npd.read_pickle(p)\n"
    )
    assert len(problems(bad, "bad")) == 12
    good = (
        '"""No pickle: torch.load(p) and eval(x) in prose."""\n# import pickle\n'
        "torch.load(p, map_location='cpu', weights_only=True)\n"
        "np.load(p, allow_pickle=False)\nmodel.eval()\nre.compile('x')\n"
    )
    assert problems(good, "good") == []


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_no_module_can_unpickle_or_eval(path):
    assert problems(path.read_text(), str(path.relative_to(PACKAGE.parent))) == []
