"""Write the bytecode of the modules Lamina, its examples and its tests import, once, at setup.

`make setup` installs with `pip --no-compile`: pip would otherwise byte-compile every file of
every package (all of torch, keras, scipy, ...), most of which nothing here imports, and that
took longer than the rest of the install (docs/design.md). Importing the modules that are used,
with bytecode writing on, compiles just those; whatever else a later run imports is compiled
on its first import. A module that is not installed is skipped: this step never fails setup.

    env -u PYTHONDONTWRITEBYTECODE KERAS_BACKEND=torch .venv/bin/python tools/warm_bytecode.py
"""

from __future__ import annotations

import importlib
import sys
import time

MODULES = (
    "lamina",
    "lamina.cli.app",
    "lamina.serve",
    "torch._dynamo",
    "torch._inductor.compile_fx",
    "torch._inductor.codecache",
    "torch._inductor.cpp_builder",
    "torch.export",
    "torch.onnx",
    "torch.distributed",
    "keras",
    "numpy",
    "scipy.stats",
    "h5py",
    "PIL.Image",
    "matplotlib.pyplot",
    "pandas",
    "sklearn.metrics",
    "sklearn.datasets",
    "skimage.data",
    "statsmodels.api",
    "pmdarima",
    "grain",
    "hypothesis",
    "nbclient",
    "nbformat",
    "ipykernel.kernelapp",
    "onnx",
    "onnxscript",
    "onnxruntime",
    "starlette.applications",
    "uvicorn",
    "httpx",
    "typer",
    "pytest",
    "xdist",
)


def main() -> int:
    if sys.dont_write_bytecode:
        print("warm_bytecode: bytecode writing is off (PYTHONDONTWRITEBYTECODE): nothing to do")
        return 0
    start, skipped = time.perf_counter(), []
    for name in MODULES:
        try:
            importlib.import_module(name)
        except Exception as err:  # noqa: BLE001  optional packages may be missing
            skipped.append(f"{name} ({type(err).__name__})")
    note = f"; not importable: {', '.join(skipped)}" if skipped else ""
    print(
        f"warm_bytecode: {len(MODULES) - len(skipped)} modules in {time.perf_counter() - start:.1f} s{note}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
