"""The main process's handle on a Keras worker subprocess (`peer_keras.py`).

`KerasWorker.start(...)` launches the worker in its venv; `wait_ready()` waits
for its import; `build(workload, samples)` makes the model; `request("epoch")` (or "evaluate"/"predict") sends one command
and returns the worker's JSON answer; `close()` ends it. A worker that fails is
marked with the reason (`failed`) and answers nothing more. Its stderr goes to a
temporary file so a chatty framework cannot block the pipe.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO, Any

import envs

HERE = Path(__file__).resolve().parent
# flavor -> (display name, env name or "" for the main venv)
FLAVORS: dict[str, tuple[str, str]] = {
    "torch": ("Keras 3 torch", ""),
    "jax": ("Keras 3 JAX", "jax"),
    "tensorflow": ("Keras 3 TensorFlow", "tf"),
    "tf_keras": ("tf.keras 2 (TensorFlow)", "tf"),
}


def python_for(flavor: str) -> tuple[Path | None, str]:
    """The interpreter that runs `flavor`, creating its env on first use; or (None, why not)."""
    env = FLAVORS[flavor][1]
    if not env:
        return Path(sys.executable), "main venv"
    return envs.ensure_env(env)


class KerasWorker:
    """One running `peer_keras.py` process."""

    def __init__(self, flavor: str) -> None:
        self.flavor = flavor
        self.name = FLAVORS[flavor][0]
        self.proc: subprocess.Popen[str] | None = None
        self.failed = ""
        self.setup = ""
        self._stderr: IO[str] | None = None

    def start(self, npz: Path, eval_samples: int) -> KerasWorker:
        python, status = python_for(self.flavor)
        if python is None:
            self.failed = f"env unavailable: {status}"
            return self
        cmd = [str(python), str(HERE / "peer_keras.py"), "--flavor", self.flavor]
        cmd += ["--data", str(npz), "--eval-samples", str(eval_samples)]
        self._stderr = tempfile.TemporaryFile("w+")
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
        env.pop("KERAS_BACKEND", None)
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env=env,
        )
        return self

    def _read(self, timeout: float) -> dict[str, Any]:
        """The next JSON event line from the worker (other output is skipped)."""
        assert self.proc is not None and self.proc.stdout is not None
        box: dict[str, Any] = {}

        def reader() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                if line.startswith("{"):
                    try:
                        box["event"] = json.loads(line)
                        return
                    except json.JSONDecodeError:
                        continue

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        t.join(timeout)
        if "event" in box:
            return box["event"]
        self._fail("timed out" if t.is_alive() else "exited")
        return {}

    def _fail(self, what: str) -> None:
        tail = ""
        if self._stderr is not None:
            self._stderr.seek(0)
            lines = [ln for ln in self._stderr.read().strip().splitlines() if ln.strip()]
            tail = " | ".join(lines[-2:])
        self.failed = f"worker {what}" + (f": {tail[:300]}" if tail else "")
        self.close()

    def wait_ready(self, timeout: float = 900) -> bool:
        if self.failed or self.proc is None:
            return False
        event = self._read(timeout)
        if event.get("event") != "ready":
            if not self.failed:
                self._fail(f"sent {event!r} instead of ready")
            return False
        self.setup = event.get("setup", "")
        return True

    def build(self, workload: str, samples: int) -> bool:
        """A fresh compiled model for `workload`; its set-up text is in `setup`."""
        event = self.request(f"build {workload} {samples}")
        self.setup = event.get("setup", self.setup)
        return bool(event)

    def request(self, cmd: str, timeout: float = 1800) -> dict[str, Any]:
        """Send one command; the worker's answer, or {} once it has failed."""
        if self.failed or self.proc is None or self.proc.stdin is None:
            return {}
        try:
            self.proc.stdin.write(cmd + "\n")
            self.proc.stdin.flush()
        except OSError:
            self._fail("closed its input")
            return {}
        event = self._read(timeout)
        if event.get("event") != cmd.split()[0] and not self.failed:
            self._fail(f"answered {event!r} to {cmd!r}")
            return {}
        return event

    def close(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.write("quit\n")
                proc.stdin.close()
            proc.wait(timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
