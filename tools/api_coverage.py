"""How much of Keras 3's public API Lamina has, and how much of it is proven against Keras.

For each Keras module of the promise (layers, losses, ..., ops and its submodules) it
lists Keras's public names in the installed Keras, which of them Lamina has under the
same module (`present`), and which of those a parity test compares with Keras itself
(`parity-tested`). A parity test declares the names it covers in a module-level dict
whose variable name ends in `PARITY`, keyed by the Keras name qualified by its module
(`"layers.Conv3D"`, `"ops.add"`, `"ops.image.resize"`), and parametrizes a comparing
test over those keys. A key also covers every alias of the same Keras object
(`keras.ops.numpy.add is keras.ops.add`).

    python tools/api_coverage.py             # the table (Markdown)
    python tools/api_coverage.py --missing   # and the names still missing or untested
    python tools/api_coverage.py --json      # machine-readable, for tests/test_api_coverage.py
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import re
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "torch")

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
MODULES = (
    "layers",
    "losses",
    "metrics",
    "optimizers",
    "optimizers.schedules",
    "callbacks",
    "activations",
    "initializers",
    "regularizers",
    "constraints",
    "utils",
    "random",
    "ops",
    "ops.nn",
    "ops.image",
    "ops.linalg",
    "ops.numpy",
    "applications",
    "applications.convnext",
    "applications.densenet",
    "applications.efficientnet",
    "applications.efficientnet_v2",
    "applications.imagenet_utils",
    "applications.inception_resnet_v2",
    "applications.inception_v3",
    "applications.mobilenet",
    "applications.mobilenet_v2",
    "applications.mobilenet_v3",
    "applications.nasnet",
    "applications.resnet",
    "applications.resnet50",
    "applications.resnet_v2",
    "applications.vgg16",
    "applications.vgg19",
    "applications.xception",
)
# Bound to another backend (JAX, TensorFlow, Orbax): outside the promise, not counted.
BACKEND_BOUND = frozenset(
    {"layers.FlaxLayer", "layers.JaxLayer", "layers.TFSMLayer", "callbacks.OrbaxCheckpoint"}
)
TARGET = 0.95
_DECLARATION = re.compile(r"^(\w*PARITY)\s*(?::[^=]*)?=", re.MULTILINE)


@dataclass
class Row:
    """One module's figures; `names` maps each counted Keras name to its state."""

    module: str
    names: dict[str, str] = field(default_factory=dict)  # name -> tested | untested | missing

    def count(self, state: str) -> int:
        return sum(1 for s in self.names.values() if s == state)

    @property
    def keras(self) -> int:
        return len(self.names)

    @property
    def present(self) -> int:
        return self.keras - self.count("missing")

    @property
    def tested(self) -> int:
        return self.count("tested")

    @property
    def share(self) -> float:
        return self.tested / self.keras if self.keras else 1.0


def keras_names(module: str) -> dict[str, Any]:
    """Keras's public names in `keras.<module>` (submodules left out), without backend-bound ones."""
    mod = importlib.import_module(f"keras.{module}")
    return {
        name: getattr(mod, name)
        for name in sorted(dir(mod))
        if not name.startswith("_")
        and not isinstance(getattr(mod, name), types.ModuleType)
        and f"{module}.{name}" not in BACKEND_BOUND
    }


def lamina_has(module: str, name: str) -> bool:
    try:
        mod = importlib.import_module(f"lamina.{module}")
    except ImportError:
        return False
    return hasattr(mod, name)


def parity_files(tests: Path = TESTS) -> list[Path]:
    """Test files that declare a module-level `...PARITY` table."""
    return sorted(
        p for p in tests.rglob("*.py") if _DECLARATION.search(p.read_text(encoding="utf-8"))
    )


def _load(path: Path, tests: Path) -> types.ModuleType:
    for folder in (str(tests), str(path.parent), str(ROOT)):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    name = "parity_" + "_".join(path.relative_to(tests).with_suffix("").parts)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def declared_keys(tests: Path = TESTS) -> dict[str, list[str]]:
    """Each declared parity key and the test files declaring it."""
    keys: dict[str, list[str]] = {}
    for path in parity_files(tests):
        module = _load(path, tests)
        for var, table in vars(module).items():
            if not var.endswith("PARITY") or not hasattr(table, "__iter__"):
                continue
            for key in table:
                keys.setdefault(str(key), []).append(str(path.relative_to(tests)))
    return keys


def _keras_object(key: str) -> Any:
    module, _, name = key.rpartition(".")
    try:
        return getattr(importlib.import_module(f"keras.{module}"), name)
    except (ImportError, AttributeError):
        return None


def coverage(tests: Path = TESTS) -> tuple[list[Row], list[str]]:
    """The rows of the table, and declared keys that name no Keras object (typos)."""
    keys = declared_keys(tests)
    tested_ids = set()
    unknown = []
    for key in keys:
        obj = _keras_object(key)
        if obj is None:
            unknown.append(key)
        else:
            tested_ids.add(id(obj))
    rows = []
    for module in MODULES:
        row = Row(module)
        for name, obj in keras_names(module).items():
            if not lamina_has(module, name):
                row.names[name] = "missing"
            elif f"{module}.{name}" in keys or id(obj) in tested_ids:
                row.names[name] = "tested"
            else:
                row.names[name] = "untested"
        rows.append(row)
    return rows, sorted(unknown)


def table(rows: list[Row]) -> str:
    lines = [
        "| module | Keras 3 | present | parity-tested | share tested |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        mark = "" if r.share >= TARGET else " *"
        lines.append(f"| {r.module} | {r.keras} | {r.present} | {r.tested} | {r.share:.0%}{mark} |")
    total = Row("all")
    for r in rows:
        total.names.update({f"{r.module}.{n}": s for n, s in r.names.items()})
    lines.append(
        f"| **all** | {total.keras} | {total.present} | {total.tested} | {total.share:.0%} |"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--missing", action="store_true", help="list missing and untested names")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    import keras

    rows, unknown = coverage()
    if args.json:
        print(json.dumps({r.module: r.names for r in rows} | {"_unknown_keys": unknown}))
        return
    print(
        f"Keras {keras.__version__}; * = below {TARGET:.0%}; not counted: {sorted(BACKEND_BOUND)}\n"
    )
    print(table(rows))
    if unknown:
        print(f"\nParity keys naming no Keras object: {unknown}")
    if args.missing:
        for r in rows:
            for state in ("untested", "missing"):
                names = [n for n, s in r.names.items() if s == state]
                if names:
                    print(f"\n{r.module} {state} ({len(names)}): {' '.join(names)}")


if __name__ == "__main__":
    main()
