"""One solo training run in a fresh process: import a framework, `fit` once, report, exit.

`solo.py` starts this worker once per run, in the peer's own env (JAX and TensorFlow
live in `.bench-envs/`, without torch), so at module level it imports only NumPy and
the NumPy-only helpers `loadmeter` and `workloads`; each peer imports its framework.

    python benchmarks/solo_worker.py --peer jax --workload mlp --samples 60000 --epochs 6 \
        --data d.npz --launched MONOTONIC_SECONDS

Peers: `lamina` (Lamina's default compile settings), `lamina_jit` (`jit_compile=True`),
`eager` / `compile` (the hand-written PyTorch loops of `peer_torch.py`, fixed set-ups),
and the Keras flavors `torch`, `jax`, `tensorflow`, `tf_keras` (`peer_keras.import_keras`).
The worker prepares the arrays before any timing, then times `fit(x, y, batch_size=128,
epochs=E, verbose=0)` as a whole (compile included) and each epoch (epoch-begin to
epoch-end callback; for the hand-written loops, each epoch of the loop). It prints one
JSON line: `{"event": "result", ...}` or `{"event": "error", "message": ...}`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import loadmeter  # noqa: E402
import workloads  # noqa: E402

LAMINA_PEERS = ("lamina", "lamina_jit")
TORCH_PEERS = ("eager", "compile")
KERAS_PEERS = ("torch", "jax", "tensorflow", "tf_keras")
PEERS = (*LAMINA_PEERS, *TORCH_PEERS, *KERAS_PEERS)


def tree_seconds() -> float:
    """CPU seconds of this process, its reaped children and its live descendants.

    torch.compile's Inductor compiles in a pool of subprocesses; their CPU belongs to
    this run, not to "other processes", so the load meter subtracts it too.
    """
    total = loadmeter.own_seconds()
    me = os.getpid()
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        # utime, stime, cutime, cstime: fields 14-17 of /proc/PID/stat
        ticks[pid] = sum(int(v) for v in fields[11:15])
    for pid, tick in ticks.items():
        node, seen = parents.get(pid, 0), 0
        while node > 1 and node != me and seen < 64:
            node, seen = parents.get(node, 0), seen + 1
        if node == me and pid != me:
            total += tick / os.sysconf("SC_CLK_TCK")
    return total


class TreeMeter:
    """Mean cores other processes used during a span, this process tree excluded."""

    def __init__(self) -> None:
        self.load = float("nan")
        self._start = (0.0, 0.0, 0.0)

    def start(self) -> None:
        self._start = (time.perf_counter(), loadmeter.busy_seconds(), tree_seconds())

    def stop(self) -> float:
        wall, busy, own = time.perf_counter(), loadmeter.busy_seconds(), tree_seconds()
        w0, b0, o0 = self._start
        self.load = max(0.0, ((busy - b0) - (own - o0)) / max(wall - w0, 1e-9))
        return self.load


def emit(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


class EpochTimes:
    """Per-epoch seconds and the last accuracy, filled by a framework's callback."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.accuracy = float("nan")
        self._t0 = 0.0

    def begin(self) -> None:
        self._t0 = time.perf_counter()

    def end(self, logs: Any) -> None:
        self.seconds.append(time.perf_counter() - self._t0)
        self.accuracy = float((logs or {}).get("accuracy", float("nan")))


def timing_callback(base: type, times: EpochTimes) -> Any:
    """A callback of the framework's `Callback` class that records epoch times into `times`.

    Only epoch hooks: batch hooks would make Keras sync every step.
    """

    class EpochTimer(base):  # type: ignore[misc, valid-type]
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            times.begin()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            times.end(logs)

    return EpochTimer()


def lamina_setup(lamina: Any, model: Any) -> str:
    """Lamina's version, its torch, and what its step runner chose."""
    import torch

    text = f"lamina {getattr(lamina, '__version__', '?')}, torch {torch.__version__} "
    text += f"(threads {torch.get_num_threads()}), jit_compile={model._jit_compile!r}"
    runner = getattr(model, "_step_fn", None)
    decision = getattr(runner, "decision", None)
    text += f" (train step: {decision})" if isinstance(decision, str) else ""
    if getattr(getattr(runner, "compiled", None), "from_library", None):
        text += " (loaded from a saved library)"
    return text + (" (compile FAILED: trained eagerly)" if getattr(runner, "failed", False) else "")


def run_keras_style(args: argparse.Namespace, data: workloads.Data) -> dict[str, Any]:
    """A Lamina or Keras peer: import, prepare, build, compile, then the timed `fit`."""
    t0 = time.perf_counter()
    if args.peer in LAMINA_PEERS:
        sys.path.insert(1, str(HERE.parent))
        import lamina

        k = lamina
    else:
        import peer_keras

        k = peer_keras.import_keras(args.peer)
    import_s = time.perf_counter() - t0
    x, y = workloads.prepare(data.x_train[: args.samples], data.y_train[: args.samples], args.wl)
    if args.peer in LAMINA_PEERS:
        import torch

        torch.manual_seed(0)
    else:
        k.utils.set_random_seed(0)
    model, optimizer = workloads.build_keras_style(k, args.wl)
    extra = {"jit_compile": True} if args.peer == "lamina_jit" else {}
    model.compile(optimizer, "categorical_crossentropy", metrics=["accuracy"], **extra)
    times, meter = EpochTimes(), TreeMeter()
    callback = timing_callback(k.callbacks.Callback, times)
    meter.start()
    t_fit = time.perf_counter()
    model.fit(
        x, y, batch_size=workloads.BATCH_SIZE, epochs=args.epochs, verbose=0, callbacks=[callback]
    )
    fit_s = time.perf_counter() - t_fit
    done = time.monotonic()
    load = meter.stop()
    if args.peer in LAMINA_PEERS:
        setup = lamina_setup(k, model)
    else:
        setup = f"{peer_keras.versions(args.peer, k)}, jit_compile={model.jit_compile}"
    return {
        "fit_seconds": fit_s,
        "epoch_seconds": times.seconds,
        "import_seconds": import_s,
        "process_seconds": done - args.launched,
        "accuracy": times.accuracy,
        "load": load,
        "setup": setup,
    }


def torch_variant(peer: str, wl: str) -> Any:
    """The hand-written loop's fixed set-up: NCHW, flush-denormal on; MLP optim foreach."""
    from peer_torch import Variant

    foreach = True if wl == "mlp" else None
    mode = "" if peer == "eager" else ("step" if wl == "mlp" else "model")
    return Variant(channels_last=False, foreach=foreach, flush_denormal=True, compile=mode)


def run_torch_loop(args: argparse.Namespace, data: workloads.Data) -> dict[str, Any]:
    """A hand-written PyTorch loop: its tensors and model are made before the timed epochs."""
    t0 = time.perf_counter()
    import torch

    import_s = time.perf_counter() - t0
    from peer_torch import TorchPeer

    variant = torch_variant(args.peer, args.wl)
    n = args.samples
    peer = TorchPeer(args.wl, data.x_train[:n], data.y_train[:n], variant, "cpu")
    seconds, accuracy, meter = [], float("nan"), TreeMeter()
    meter.start()
    t_fit = time.perf_counter()
    for _ in range(args.epochs):
        epoch_s, _, _, accuracy = peer.train_epoch()
        seconds.append(epoch_s)
    fit_s = time.perf_counter() - t_fit
    done = time.monotonic()
    load = meter.stop()
    setup = (
        f"{variant.label()}, torch {torch.__version__} (threads {torch.get_num_threads()}), "
        f"optim default here: {peer.default_impl}"
    )
    return {
        "fit_seconds": fit_s,
        "epoch_seconds": seconds,
        "import_seconds": import_s,
        "process_seconds": done - args.launched,
        "accuracy": accuracy,
        "load": load,
        "setup": setup,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--peer", choices=PEERS, required=True)
    p.add_argument("--workload", dest="wl", choices=workloads.WORKLOADS, required=True)
    p.add_argument("--samples", type=int, required=True, help="training images per epoch")
    p.add_argument("--epochs", type=int, required=True)
    p.add_argument("--data", required=True, help=".npz written by workloads.save_npz")
    p.add_argument(
        "--launched",
        type=float,
        default=None,
        help="time.monotonic() when the driver started this process (for the wall time)",
    )
    args = p.parse_args()
    if args.launched is None:
        args.launched = time.monotonic()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")  # once per location, as a user sees them
        try:
            data = workloads.load_npz(args.data)
            if args.peer in TORCH_PEERS:
                out = run_torch_loop(args, data)
            else:
                out = run_keras_style(args, data)
        except Exception as err:  # noqa: BLE001  reported to the driver, which goes on
            emit(event="error", message=f"{type(err).__name__}: {err}"[:400])
            sys.exit(1)
    emit(
        event="result",
        peer=args.peer,
        workload=args.wl,
        samples=args.samples,
        warnings=notable_warnings(caught),
        **out,
    )


def notable_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    """The first few distinct warnings of the run (e.g. a compile that fell back to eager)."""
    seen: list[str] = []
    for w in caught:
        if issubclass(w.category, DeprecationWarning) or "`input_shape`" in str(w.message):
            continue  # deprecations, and Keras 3 on the workloads' input_shape (kept for all)
        text = f"{w.category.__name__}: {str(w.message).splitlines()[0][:160]}"
        if text not in seen:
            seen.append(text)
    return seen[:3]


if __name__ == "__main__":
    main()
