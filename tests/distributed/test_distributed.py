"""Data-parallel fit on torch.distributed (gloo over loopback, 2 processes on the CPU).

The multi-process tests guard themselves against hangs: subprocesses get timeouts, and
in-process launches arm faulthandler to end the test process with a traceback.
"""

from __future__ import annotations

import contextlib
import faulthandler
import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch
from distributed_script import (
    BATCH,
    EPOCHS,
    DieOnRank,
    RaiseOnRank,
    RecordLogs,
    make_data,
    make_model,
)
from torch.utils.data import DataLoader, TensorDataset

import lamina
from lamina import callbacks
from lamina.data.adapter import ArrayData, IterableData
from lamina.distributed import Spawn, payload, sharding

HERE = os.path.dirname(os.path.abspath(__file__))
HANG_LIMIT = 240  # seconds: far above a normal run, only reached if something hangs


@contextlib.contextmanager
def no_hang(seconds: int = HANG_LIMIT):
    """End this test process with a traceback if the block hangs (instead of a silent CI hang)."""
    faulthandler.dump_traceback_later(seconds, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


def reference_run(x, y, xv, yv):
    model = make_model()
    history = model.fit(
        x, y, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0, validation_data=(xv, yv)
    )
    return model, history


def load_ranks(folder) -> list[dict]:
    return [json.load(open(os.path.join(folder, f"rank{r}.json"))) for r in range(2)]


def check_rank_logs(ranks: list[dict], history) -> None:
    """Every rank saw the same logs, equal to the sums of the ranks' own metric states,
    and equal to the single-process run's."""
    r0, r1 = ranks
    assert r0["world_size"] == r1["world_size"] == 2
    assert len(r0["epochs"]) == EPOCHS
    for e0, e1 in zip(r0["epochs"], r1["epochs"]):
        assert e0["logs"] == e1["logs"]
        assert e0["train_logs"] == e1["train_logs"]
        for key, states in (("train", "train_states"), ("val", "val_states")):
            logs = e0["train_logs"] if key == "train" else e0["logs"]
            prefix = "" if key == "train" else "val_"
            for name in ("loss", "accuracy"):
                total = sum(e[states][name][0][0] for e in (e0, e1))
                count = sum(e[states][name][1][0] for e in (e0, e1))
                local0 = e0[states][name][0][0] / e0[states][name][1][0]
                assert logs[prefix + name] == pytest.approx(total / count, rel=1e-6)
                assert local0 != pytest.approx(total / count, rel=1e-9)  # really reduced
    for epoch, e0 in enumerate(r0["epochs"]):
        for key, values in history.history.items():
            assert e0["logs"][key] == pytest.approx(values[epoch], rel=1e-5, abs=1e-6)


def assert_same_weights(a, b, atol=1e-5):
    for wa, wb in zip(a, b):
        np.testing.assert_allclose(np.asarray(wa), np.asarray(wb), atol=atol, rtol=0)


# ------------------------------------------------------------------- multi-process runs
def test_spawn_fit_equals_single_process_and_reduces_logs(tmp_path):
    x, y = make_data()
    xv, yv = make_data(61, seed=1)
    ref, ref_history = reference_run(x, y, xv, yv)
    model = make_model()
    ckpt = str(tmp_path / "ckpt-{epoch}.lamina")
    with no_hang():
        history = model.fit(
            x,
            y,
            batch_size=BATCH,
            epochs=EPOCHS,
            shuffle=False,
            verbose=0,
            validation_data=(xv, yv),
            callbacks=[RecordLogs(str(tmp_path)), callbacks.ModelCheckpoint(ckpt)],
            distribute=Spawn(2, timeout=60),
        )
    # The parent's model holds the trained weights, and a History like a normal fit's.
    assert_same_weights(model.get_weights(), ref.get_weights())
    assert history.epoch == list(range(EPOCHS))
    assert model.history is history
    assert history.params["epochs"] == EPOCHS and history.params["steps"] == 7
    assert set(history.history) == set(ref_history.history)
    for key, values in ref_history.history.items():
        np.testing.assert_allclose(history.history[key], values, rtol=1e-5, atol=1e-6)
    ranks = load_ranks(tmp_path)
    check_rank_logs(ranks, ref_history)
    assert_same_weights(ranks[1]["weights"], ref.get_weights())
    # The checkpoints were written (by rank 0: see test_model_checkpoint_writes_on_rank_zero_only),
    # and the last one holds the final weights.
    written = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("ckpt"))
    assert written == ["ckpt-1.lamina", "ckpt-2.lamina"]
    assert_same_weights(
        lamina.models.load_model(tmp_path / "ckpt-2.lamina").get_weights(), ref.get_weights()
    )
    # The optimizer state came back too: a second (local) fit continues from it.
    assert model.optimizer.iterations.item() == EPOCHS * 7


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_torchrun_style_env_launch(tmp_path):
    """Two plain processes with torchrun's variables: fit initializes the group itself."""
    port = _free_port()
    procs = []
    for rank in range(2):
        env = {
            **os.environ,
            "RANK": str(rank),
            "LOCAL_RANK": str(rank),
            "WORLD_SIZE": "2",
            "LOCAL_WORLD_SIZE": "2",
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
            "LAMINA_DISTRIBUTED_TIMEOUT": "60",
            "OMP_NUM_THREADS": "1",
        }
        cmd = [sys.executable, os.path.join(HERE, "distributed_script.py"), str(tmp_path)]
        procs.append(
            subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        )
    outputs = []
    try:
        for proc in procs:
            outputs.append(proc.communicate(timeout=HANG_LIMIT)[0].decode(errors="replace"))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    assert [p.returncode for p in procs] == [0, 0], "\n".join(outputs)
    x, y = make_data()
    xv, yv = make_data(61, seed=1)
    ref, ref_history = reference_run(x, y, xv, yv)
    ranks = load_ranks(tmp_path)
    check_rank_logs(ranks, ref_history)
    for r in ranks:  # rank 1 started from other weights: DDP broadcast rank 0's
        assert_same_weights(r["weights"], ref.get_weights())


def test_a_dead_rank_stops_the_run_with_a_clear_error():
    x, y = make_data()
    model = make_model()
    before = [w.copy() for w in model.get_weights()]
    with no_hang(), pytest.raises(RuntimeError, match=r"rank 1 of 2 exited with code 3"):
        model.fit(
            x,
            y,
            batch_size=BATCH,
            epochs=EPOCHS,
            verbose=0,
            callbacks=[DieOnRank(rank=1, batch=2)],
            distribute=Spawn(2, timeout=30),
        )
    assert_same_weights(model.get_weights(), before, atol=0)  # the parent's model is untouched


def test_a_python_error_on_a_rank_is_reported_with_its_message():
    model = make_model()
    x, y = make_data()
    with no_hang(), pytest.raises(RuntimeError) as info:
        model.fit(
            x,
            y,
            epochs=1,
            verbose=0,
            callbacks=[RaiseOnRank(rank=1)],
            distribute=Spawn(2, timeout=30),
        )
    message = str(info.value)
    assert message.startswith("Distributed fit failed: rank 1 of 2 raised ValueError: Expected")
    assert "Traceback of rank 1" in message and "on_epoch_begin" in message


def test_a_script_without_the_main_guard_gets_the_workers_reason():
    """Workers import the main module; unguarded, each fails inside fit while importing it,
    before worker.run starts. The parent's error must carry that reason and traceback."""
    script = os.path.join(HERE, "distributed_unguarded_script.py")
    env = {**os.environ, "LAMINA_DISTRIBUTED_TIMEOUT": "60", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, script], env=env, capture_output=True, text=True, timeout=HANG_LIMIT
    )
    assert proc.returncode == 1, proc.stderr
    # The workers print their own tracebacks first; the parent's exception comes last.
    head = "RuntimeError: Distributed fit failed: rank "
    assert head in proc.stderr, proc.stderr
    error = proc.stderr[proc.stderr.rindex(head) :]
    assert "without a Python error" not in error
    first = error.splitlines()[0]
    assert " of 2 raised RuntimeError: Expected fit(distribute=N) to run under " in first
    assert "if __name__ == '__main__':" in first
    assert "Traceback of rank" in error and "distributed_unguarded_script.py" in error
    # The last line the user sees is the worker's reason.
    assert error.rstrip().splitlines()[-1].startswith("RuntimeError: Expected fit(distribute=N)")


# ------------------------------------------------------------------------ bad arguments
@pytest.mark.parametrize("bad", [0, -1])
def test_distribute_must_be_positive(bad):
    model = make_model()
    x, y = make_data()
    with pytest.raises(ValueError, match=rf"Expected distribute >= 1 .*received: distribute={bad}"):
        model.fit(x, y, epochs=1, verbose=0, distribute=bad)


@pytest.mark.parametrize("bad", [1.5, "2", True, [2]])
def test_distribute_must_be_an_int(bad):
    model = make_model()
    x, y = make_data()
    with pytest.raises(TypeError, match=r"Expected distribute to be a number of processes"):
        model.fit(x, y, epochs=1, verbose=0, distribute=bad)


def test_spawn_options_are_checked():
    model = make_model()
    x, y = make_data()
    with pytest.raises(ValueError, match=r"Expected backend in .*received: backend='mpi'"):
        model.fit(x, y, epochs=1, verbose=0, distribute=Spawn(2, backend="mpi"))
    with pytest.raises(ValueError, match=r"Expected a positive timeout, received: timeout=0"):
        model.fit(x, y, epochs=1, verbose=0, distribute=Spawn(2, timeout=0))


def test_data_errors_surface_in_this_process():
    model = make_model()
    x, y = make_data()
    with pytest.raises(ValueError, match=r"Expected batch_size >= the number of processes \(2\)"):
        model.fit(x, y, batch_size=1, epochs=1, verbose=0, distribute=2)
    with pytest.raises(ValueError, match=r"Expected x and y to have the same number of samples"):
        model.fit(x, y[:-1], epochs=1, verbose=0, distribute=2)


def test_distribute_one_trains_in_this_process():
    x, y = make_data()
    a, b = make_model(), make_model()
    a.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    b.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0, distribute=1)
    assert_same_weights(a.get_weights(), b.get_weights(), atol=0)
    assert not lamina.distributed.is_active() and not lamina.distributed.is_initialized()


def test_unpicklable_callbacks_are_named_before_any_process_starts():
    model = make_model()
    x, y = make_data()
    cb = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: None)
    with pytest.raises(
        ValueError, match=r"Expected fit arguments that can be sent .*callbacks\[0\]"
    ):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[cb], distribute=2)


# ------------------------------------------------------------ the job sent to workers
def functional_model() -> lamina.Model:
    lamina.utils.set_random_seed(1)
    inputs = lamina.Input(shape=(8,))
    hidden = lamina.layers.Dense(16, activation="relu")(inputs)
    model = lamina.Model(inputs, lamina.layers.Dense(3, activation="softmax")(hidden))
    model.compile(
        "adam", "sparse_categorical_crossentropy", metrics=["accuracy"], steps_per_execution=2
    )
    return model


@lamina.saving.register_serializable(package="lamina_tests")
class SubclassedNet(lamina.Model):
    """A registered subclassed model without a config of its own (a bare __init__)."""

    def __init__(self):
        super().__init__()
        self.hidden = lamina.layers.Dense(16, activation="relu")
        self.out = lamina.layers.Dense(3, activation="softmax")

    def call(self, x):
        return self.out(self.hidden(x))


def subclassed_model() -> lamina.Model:
    lamina.utils.set_random_seed(1)
    model = SubclassedNet()
    model.compile(
        "adam", "sparse_categorical_crossentropy", metrics=["accuracy"], steps_per_execution=2
    )
    return model


@pytest.mark.parametrize("build", [make_model, functional_model, subclassed_model])
def test_the_job_rebuilds_the_compiled_model_with_its_optimizer_state(tmp_path, build):
    """Every model travels as a .lamina file: architecture by registered names, weights,
    compile settings and optimizer state; the data as safetensors; nothing pickled."""
    x, y = make_data()
    model = build()
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)  # optimizer state to carry over
    digest = payload.save_job(
        model, {"x": x, "y": y, "class_weight": {0: 1.0, 2: 3.0}}, str(tmp_path)
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(payload.JOB_FILES)
    clone, fit_kwargs = payload.load_job(str(tmp_path), digest)
    assert clone is not model and clone.optimizer.iterations.item() == 7
    assert clone._steps_per_execution == model._steps_per_execution  # 2 for the functional one
    np.testing.assert_array_equal(fit_kwargs["x"], x)
    assert fit_kwargs["class_weight"] == {0: 1.0, 2: 3.0} and fit_kwargs["callbacks"] == []
    for m in (model, clone):
        m.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    assert_same_weights(clone.get_weights(), model.get_weights(), atol=0)


def test_callbacks_travel_by_name_and_config(tmp_path):
    model = make_model()
    x, y = make_data()
    cbs = [
        callbacks.EarlyStopping(monitor="loss", patience=3, min_delta=0.01, mode="min"),
        callbacks.ModelCheckpoint(str(tmp_path / "m.lamina"), monitor="loss", save_best_only=True),
        RecordLogs(str(tmp_path)),
    ]
    digest = payload.save_job(model, {"x": x, "y": y, "callbacks": cbs}, str(tmp_path))
    _, fit_kwargs = payload.load_job(str(tmp_path), digest)
    rebuilt = fit_kwargs["callbacks"]
    assert [type(c) for c in rebuilt] == [type(c) for c in cbs]
    for a, b in zip(cbs, rebuilt):
        assert payload.callback_config(a) == payload.callback_config(b)
    assert (
        rebuilt[0].patience == 3
        and rebuilt[1].save_best_only
        and rebuilt[2].folder == str(tmp_path)
    )


def test_data_that_is_not_arrays_is_named_before_any_process_starts():
    model = make_model()
    x, y = make_data()
    loader = DataLoader(TensorDataset(torch.as_tensor(x), torch.as_tensor(y)), batch_size=BATCH)
    with pytest.raises(
        ValueError, match=r"Expected fit arguments that can be sent .*x=.*DataLoader.*torchrun"
    ):
        model.fit(loader, epochs=1, verbose=0, distribute=2)


def test_an_unregistered_model_class_is_named_before_any_process_starts():
    class Local(lamina.Model):
        def __init__(self):
            super().__init__()
            self.out = lamina.layers.Dense(3, activation="softmax")

        def call(self, x):
            return self.out(x)

    model = Local()
    model.compile("sgd", "sparse_categorical_crossentropy")
    x, y = make_data()
    with pytest.raises(ValueError, match=r"registered classes.*received: Local"):
        model.fit(x, y, epochs=1, verbose=0, distribute=2)


def test_a_tampered_job_file_is_refused(tmp_path):
    model = make_model()
    x, y = make_data()
    model.fit(x, y, epochs=1, verbose=0)
    digest = payload.save_job(model, {"x": x, "y": y}, str(tmp_path))
    with open(tmp_path / "job.json", "ab") as f:
        f.write(b" ")
    with pytest.raises(RuntimeError, match="refusing to load"):
        payload.load_job(str(tmp_path), digest)


# ------------------------------------------------------------- sharding (no processes)
class ShareRecorder:
    """Stands for the DDP hook's StepWeight: records each step's share of the global batch."""

    def __init__(self):
        self.values: list[float] = []

    @property
    def value(self) -> float:
        return self.values[-1]

    @value.setter
    def value(self, v: float) -> None:
        self.values.append(v)


def batches(data) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(xb, yb) for xb, yb, _ in data.epoch()]


@pytest.mark.parametrize("n, shuffle", [(203, False), (203, True), (64, True), (65, False)])
def test_array_shards_make_up_the_global_batches(n, shuffle):
    x = np.arange(n, dtype="float32")[:, None]
    data = ArrayData(x, np.arange(n), batch_size=32, shuffle=shuffle)
    weights = [ShareRecorder() for _ in range(2)]
    shards = [
        sharding.shard(data, r, 2, seed=7, training=True, weight=weights[r]) for r in range(2)
    ]
    assert len(shards[0]) == len(shards[1])
    for _ in range(2):  # two epochs: another permutation each, the same on both ranks
        per_rank = [batches(s) for s in shards]
        assert len(per_rank[0]) == len(per_rank[1]) == len(shards[0])
        seen = []
        for step, ((_, y0), (_, y1)) in enumerate(zip(*per_rank)):
            assert abs(len(y0) - len(y1)) <= 1
            both = torch.cat([y0, y1])
            assert len(both) == min(32, n - step * 32)
            seen += both.tolist()
            shares = [w.values[step] for w in weights]
            assert shares == pytest.approx([len(y0) / len(both), len(y1) / len(both)])
        expected = n if (n % 32 == 0 or n % 32 >= 2) else n - n % 32
        assert sorted(seen) == sorted(set(seen)) and len(seen) == expected
        if not shuffle:
            assert seen == list(range(expected))
        for w in weights:
            w.values.clear()


def test_a_tail_smaller_than_the_world_is_skipped():
    data = ArrayData(np.zeros((65, 1), "float32"), np.zeros(65), batch_size=32, shuffle=False)
    shard = sharding.shard(data, 0, 2, seed=0, training=True)
    assert len(shard) == 2 and sum(len(b[1]) for b in batches(shard)) == 32


def test_validation_shards_cover_every_sample_once():
    data = ArrayData(np.zeros((61, 1), "float32"), np.arange(61), batch_size=16, shuffle=False)
    parts = [batches(sharding.shard(data, r, 2, seed=0, training=False)) for r in range(2)]
    seen = sorted(int(v) for part in parts for _, yb in part for v in yb)
    assert seen == list(range(61))
    assert all(len(yb) <= 8 for part in parts for _, yb in part)


def test_batch_size_below_the_world_is_rejected():
    data = ArrayData(np.zeros((10, 1), "float32"), np.zeros(10), batch_size=1)
    with pytest.raises(ValueError, match=r"Expected batch_size >= the number of processes \(2\)"):
        sharding.shard(data, 0, 2, seed=0, training=True)


def test_dataloaders_are_resharded_with_a_distributed_sampler():
    ds = TensorDataset(torch.arange(50.0)[:, None], torch.arange(50))
    loader = DataLoader(ds, batch_size=10, shuffle=True)
    shards = [
        sharding.shard(IterableData(loader, "cpu"), r, 2, seed=3, training=True) for r in range(2)
    ]
    epochs = [[batches(s) for s in shards] for _ in range(2)]
    for per_rank in epochs:
        assert len(per_rank[0]) == len(per_rank[1]) == 5
        assert all(len(yb) == 5 for part in per_rank for _, yb in part)
        seen = sorted(int(v) for part in per_rank for _, yb in part for v in yb)
        assert seen == list(range(50))
    assert [yb.tolist() for _, yb in epochs[0][0]] != [yb.tolist() for _, yb in epochs[1][0]]
    with pytest.raises(ValueError, match=r"Expected a batch_size divisible by .*batch_size=9"):
        sharding.shard(IterableData(DataLoader(ds, batch_size=9), "cpu"), 0, 2, 0, True)
    val = [sharding.shard(IterableData(loader, "cpu"), r, 2, 0, False) for r in range(2)]
    seen = sorted(int(v) for s in val for _, yb in batches(s) for v in yb)
    assert seen == list(range(50))


def test_sequences_are_dealt_round_robin():
    class Seq:
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.full((2, 1), i, "float32"), np.full(2, i)

    parts = [batches(sharding.shard(IterableData(Seq(), "cpu"), r, 2, 0, True)) for r in range(2)]
    assert [[int(yb[0]) for _, yb in part] for part in parts] == [[0, 2], [1, 3]]
    with pytest.raises(ValueError, match=r"Expected arrays, a Dataset, a DataLoader or a Sequence"):
        sharding.shard(IterableData(iter([]), "cpu"), 0, 2, 0, True)


# -------------------------------------------------------------- rank-0-only writing
def drive_checkpoint(cb, values) -> None:
    cbs = callbacks.CallbackList([cb], model=make_model(), params={"epochs": len(values)})
    cbs.on_train_begin()
    for epoch, value in enumerate(values):
        cbs.on_epoch_begin(epoch)
        cbs.on_epoch_end(epoch, {"val_loss": value})
    cbs.on_train_end()


def test_model_checkpoint_writes_on_rank_zero_only(tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    drive_checkpoint(callbacks.ModelCheckpoint(str(tmp_path / "r1-{epoch}.lamina")), [1.0])
    log = callbacks.CSVLogger(str(tmp_path / "r1.csv"))
    drive_checkpoint(log, [1.0])
    monkeypatch.setenv("RANK", "0")
    drive_checkpoint(callbacks.ModelCheckpoint(str(tmp_path / "r0-{epoch}.lamina")), [1.0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r0-1.lamina"]


def test_model_checkpoint_save_best_only(tmp_path):
    path = str(tmp_path / "best-{epoch}-{val_loss:.1f}.lamina")
    drive_checkpoint(callbacks.ModelCheckpoint(path, save_best_only=True), [0.5, 0.7, 0.3, 0.4])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best-1-0.5.lamina", "best-3-0.3.lamina"]
    saved = lamina.models.load_model(tmp_path / "best-3-0.3.lamina")
    assert_same_weights(saved.get_weights(), make_model().get_weights(), atol=0)
    with pytest.raises(ValueError, match=r"ModelCheckpoint expected filepath fields"):
        drive_checkpoint(callbacks.ModelCheckpoint(str(tmp_path / "{acc}.lamina")), [1.0])
    with pytest.raises(ValueError, match=r"ModelCheckpoint expected save_freq="):
        callbacks.ModelCheckpoint(path, save_freq=0)
