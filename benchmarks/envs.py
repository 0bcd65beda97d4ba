"""Separate virtual environments for peers that must not touch the main venv.

The project's `.venv` holds the one CPU torch build; JAX and TensorFlow never go
into it. Each peer env lives under `.bench-envs/NAME` (git-ignored), is created on
first use and reused afterwards (a stamp file records that its imports worked):

- `jax`: `pip install keras jax jaxlib numpy` (Keras 3 on JAX).
- `tf`: `pip install tensorflow-cpu keras numpy scipy pillow`, then `pip install --no-deps
  tf-keras~=X.Y.0` where X.Y is the installed TensorFlow's minor version (tf-keras
  depends on the full `tensorflow` package, which must not be pulled in). Serves
  Keras 3 on TensorFlow and tf.keras 2 (`import tf_keras`).

    python benchmarks/envs.py [jax] [tf]   # create, update or check the envs (probes imports)
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENVS_DIR = ROOT / ".bench-envs"


@dataclass(frozen=True)
class EnvSpec:
    """What one env installs and what must import for it to count as ready."""

    packages: tuple[str, ...]
    probe: str
    backend: str  # KERAS_BACKEND while probing
    tf_keras: bool = False  # then also `pip install --no-deps tf-keras~=<tf minor>.0`


SPECS: dict[str, EnvSpec] = {
    "jax": EnvSpec(("keras", "jax", "jaxlib", "numpy"), "import jax, keras, numpy", "jax"),
    "tf": EnvSpec(
        ("tensorflow-cpu", "keras", "numpy", "scipy", "pillow"),  # scipy, pillow: image peer
        "import tensorflow, keras, tf_keras, numpy, scipy, PIL",
        "tensorflow",
        tf_keras=True,
    ),
}


def env_python(name: str) -> Path:
    """The interpreter of the benchmark env `name`."""
    return ENVS_DIR / name / "bin" / "python"


def _run(
    python: Path, args: list[str], backend: str, timeout: float
) -> subprocess.CompletedProcess:
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [str(python), *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def _stamp(name: str) -> Path:
    return ENVS_DIR / name / ".bench-ready"


def _ready(python: Path, spec: EnvSpec, name: str) -> bool:
    """Whether the env works: its stamp matches `spec`, else the import probe passes (then stamped)."""
    if not python.exists():
        return False
    stamp = _stamp(name)
    if stamp.exists() and stamp.read_text() == repr(spec):
        return True
    try:
        ok = _run(python, ["-c", spec.probe], spec.backend, 300).returncode == 0
    except subprocess.SubprocessError:
        return False
    if ok:
        stamp.write_text(repr(spec))
    return ok


def _pip(python: Path, args: list[str], quiet: bool) -> str:
    """Run `pip install ARGS`; return "" on success, else the reason."""
    cmd = ["-m", "pip", "install", "--disable-pip-version-check", *(["-q"] if quiet else [])]
    proc = _run(python, cmd + args, "numpy", 1800)
    if proc.returncode == 0:
        return ""
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
    return f"`pip install {' '.join(args)}` failed: {' | '.join(tail)}"


def _tf_minor(python: Path) -> str:
    """The installed TensorFlow's "X.Y" (from package metadata, without importing it)."""
    code = "import importlib.metadata as m; print(m.version('tensorflow-cpu'))"
    out = _run(python, ["-c", code], "numpy", 120).stdout.strip()
    return ".".join(out.split(".")[:2])


def ensure_env(name: str = "jax", quiet: bool = True) -> tuple[Path | None, str]:
    """Create (once) and return the env's Python, or (None, reason) if it cannot be installed."""
    if name not in SPECS:
        raise ValueError(f"Expected an env name in {sorted(SPECS)}, received: name={name!r}")
    spec, python = SPECS[name], env_python(name)
    if _ready(python, spec, name):
        return python, "ready"
    env_dir = ENVS_DIR / name
    try:
        if not python.exists():
            venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
        failed = _pip(python, list(spec.packages), quiet)
        if not failed and spec.tf_keras:
            minor = _tf_minor(python)
            if not minor:
                return None, f"tensorflow-cpu installed in {env_dir}, but its version is unreadable"
            failed = _pip(python, ["--no-deps", f"tf-keras~={minor}.0"], quiet)
    except (OSError, subprocess.SubprocessError) as err:
        return None, f"could not create {env_dir}: {err}"
    if failed:
        return None, failed
    _stamp(name).unlink(missing_ok=True)
    if not _ready(python, spec, name):
        return None, f"installed, but `{spec.probe}` fails in {env_dir}"
    return python, "installed"


def versions(name: str) -> str:
    """Key package versions of an existing env, e.g. "tensorflow-cpu 2.21.0, keras 3.x"."""
    pkgs = {"jax": ("keras", "jax", "jaxlib"), "tf": ("tensorflow-cpu", "keras", "tf-keras")}[name]
    code = (
        "import importlib.metadata as m\n"
        f"print(', '.join(p + ' ' + m.version(p) for p in {pkgs!r}))"
    )
    try:
        return _run(env_python(name), ["-c", code], "numpy", 60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


if __name__ == "__main__":
    ok = True
    for env_name in sys.argv[1:] or list(SPECS):
        if env_name in SPECS:
            _stamp(env_name).unlink(missing_ok=True)  # by hand: always probe the imports
        path, status = ensure_env(env_name, quiet=False)
        print(env_name, path, status, versions(env_name) if path else "")
        ok = ok and path is not None
    sys.exit(0 if ok else 1)
