"""Hand-written PyTorch training peers in their own process.

Lamina changes process-wide CPU settings while `fit` runs (denormals flushed, glibc's
malloc thresholds raised so freed memory is reused; see lamina/runtime/cpu_memory.py),
and glibc cannot return to its dynamic thresholds afterwards. A hand-written loop that
trains in the benchmark's process, between or inside Lamina's epochs, would inherit
them and no longer measure what a user's own loop gets. So each hand-written training
peer runs in a spawned process of the main venv, as the Keras peers do, and reports
its epoch's seconds, the load of other processes (measured by itself) and accuracy.

    peer = PeerProcess("cnn", "data.npz", 12800, variant, "cpu")
    seconds, load, accuracy = peer.epoch()
    peer.close()
"""

from __future__ import annotations

import multiprocessing as mp
from typing import Any

from loadmeter import LoadMeter


def _serve(conn: Any, workload: str, npz: str, n: int, variant: Any, device: str) -> None:
    """The child: build the peer on the first n training samples, then answer 'epoch'."""
    import numpy as np
    from peer_torch import TorchPeer

    try:
        with np.load(npz) as data:
            peer = TorchPeer(workload, data["x_train"][:n], data["y_train"][:n], variant, device)
        conn.send(("ready", ""))
    except Exception as err:  # noqa: BLE001
        conn.send(("failed", f"{type(err).__name__}: {err}"[:300]))
        return
    while True:
        command = conn.recv()
        if command != "epoch":
            return
        try:
            with LoadMeter() as meter:
                seconds, _, _, accuracy = peer.train_epoch()
            conn.send(("ok", (seconds, meter.load, accuracy)))
        except Exception as err:  # noqa: BLE001  e.g. a compile failure on the last batch
            conn.send(("failed", f"{type(err).__name__}: {err}"[:300]))
            return


class PeerProcess:
    """A TorchPeer in a spawned child process; `epoch()` trains one epoch there."""

    def __init__(self, workload: str, npz: str, n: int, variant: Any, device: str) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(
            target=_serve, args=(child, workload, npz, n, variant, device), daemon=True
        )
        self.proc.start()
        child.close()
        status, why = self.conn.recv()
        self.failed = "" if status == "ready" else why

    def epoch(self) -> tuple[float, float, float] | None:
        """(seconds, other processes' load, accuracy), or None once the child failed."""
        if self.failed:
            return None
        self.conn.send("epoch")
        status, out = self.conn.recv()
        if status != "ok":
            self.failed = out
            return None
        return out

    def close(self) -> None:
        if self.proc.is_alive():
            try:
                self.conn.send("close")
            except OSError:
                pass
            self.proc.join(timeout=10)
            if self.proc.is_alive():
                self.proc.kill()
