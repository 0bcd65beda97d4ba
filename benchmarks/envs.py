"""Separate virtual environments for peers that must not touch the main venv.

Keras on JAX needs `jax`/`jaxlib`, which must never be installed into the
project's `.venv` (it holds the one CPU torch build). `ensure_env("jax")`
creates `.bench-envs/jax` on first use with `pip install keras jax jaxlib numpy`
and returns its Python, or None (with the reason) when the install fails.

    python benchmarks/envs.py jax     # create or check the env by hand
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENVS_DIR = ROOT / ".bench-envs"
PACKAGES: dict[str, list[str]] = {"jax": ["keras", "jax", "jaxlib", "numpy"]}
# what must import for the env to count as ready
PROBES: dict[str, str] = {"jax": "import jax, keras, numpy"}
BACKENDS: dict[str, str] = {"jax": "jax"}


def env_python(name: str) -> Path:
    """The interpreter of the benchmark env `name`."""
    return ENVS_DIR / name / "bin" / "python"


def _ready(python: Path, name: str) -> bool:
    if not python.exists():
        return False
    env = {**os.environ, "KERAS_BACKEND": BACKENDS[name]}
    probe = subprocess.run(
        [str(python), "-c", PROBES[name]], capture_output=True, text=True, timeout=300, env=env
    )
    return probe.returncode == 0


def ensure_env(name: str = "jax", quiet: bool = True) -> tuple[Path | None, str]:
    """Create (once) and return the env's Python, or (None, reason) if it cannot be installed."""
    if name not in PACKAGES:
        raise ValueError(f"Expected an env name in {sorted(PACKAGES)}, received: name={name!r}")
    python = env_python(name)
    if _ready(python, name):
        return python, "ready"
    env_dir = ENVS_DIR / name
    try:
        if not python.exists():
            venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
        cmd = [str(python), "-m", "pip", "install", "--disable-pip-version-check"]
        cmd += ["-q"] if quiet else []
        proc = subprocess.run(cmd + PACKAGES[name], capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.SubprocessError) as err:
        return None, f"could not create {env_dir}: {err}"
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return None, f"`pip install {' '.join(PACKAGES[name])}` failed: {' | '.join(tail)}"
    if not _ready(python, name):
        return None, f"installed, but `{PROBES[name]}` fails in {env_dir}"
    return python, "installed"


if __name__ == "__main__":
    path, status = ensure_env(sys.argv[1] if len(sys.argv) > 1 else "jax", quiet=False)
    print(path, status)
    sys.exit(0 if path else 1)
