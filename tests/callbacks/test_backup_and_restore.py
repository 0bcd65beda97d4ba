"""BackupAndRestore: a fit that crashes (a raising callback, or a real SIGKILL of a child
process) and is fit again ends with the weights of a fit that never crashed, bit for bit:
shuffled data, Dropout, Adam on a learning-rate schedule and EarlyStopping included."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

import lamina as keras
from lamina import callbacks, layers, optimizers

EPOCHS = 12
CRASH = (3, 4)  # (epoch, batch) at whose end the crash comes
ROOT = Path(__file__).resolve().parents[2]


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(160, 8)).astype("float32")
    y = (x[:, :3].sum(1) > 0).astype("int64") + (x[:, 3] > 1).astype("int64")
    return x, y


def make_model(seeded_dropout: bool = False) -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            layers.Dense(16, activation="relu", input_shape=(8,)),
            layers.Dropout(0.3),
            layers.Dense(16, activation="relu"),
            layers.Dropout(0.25, seed=7 if seeded_dropout else None),
            layers.Dense(3, activation="softmax"),
        ]
    )
    schedule = optimizers.schedules.ExponentialDecay(0.02, decay_steps=7, decay_rate=0.8)
    model.compile(
        optimizer=optimizers.Adam(schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=False,
    )
    return model


def early_stopping() -> callbacks.EarlyStopping:
    return callbacks.EarlyStopping(
        monitor="val_loss", patience=2, min_delta=0.01, restore_best_weights=True
    )


class Crash(callbacks.Callback):
    """Raises at the end of batch `CRASH[1]` of epoch `CRASH[0]`: a simulated crash."""

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == CRASH:
            raise RuntimeError("simulated crash")


def fit(model, extra, epochs=EPOCHS):
    x, y = data()
    return model.fit(
        x,
        y,
        batch_size=16,
        epochs=epochs,
        validation_split=0.25,
        shuffle=True,
        callbacks=[early_stopping(), *extra],
        verbose=0,
    )


def scramble_rngs() -> None:
    """What a restarted process would have: other random states than the crashed one's."""
    torch.manual_seed(12345)
    np.random.seed(54321)
    random.seed(999)


def reference(seeded_dropout: bool = False):
    model = make_model(seeded_dropout)
    history = fit(model, [])
    return [w.detach().clone() for w in model.weights], history


@pytest.mark.parametrize("save_freq", ["epoch", 3, 1])
@pytest.mark.parametrize("same_model", [True, False])
def test_resume_after_a_crash_is_exact(tmp_path, save_freq, same_model):
    ref, ref_history = reference()
    assert len(ref_history.epoch) < EPOCHS  # EarlyStopping stopped it, after the crash point
    assert ref_history.epoch[-1] > CRASH[0]
    backup = tmp_path / "backup"
    model = make_model()
    with pytest.raises(RuntimeError, match="simulated crash"):
        fit(model, [Crash(), callbacks.BackupAndRestore(backup, save_freq=save_freq)])
    assert (backup / "checkpoint.json").is_file()
    scramble_rngs()
    if not same_model:
        model = make_model()  # a new process builds the model afresh
        scramble_rngs()
    history = fit(model, [callbacks.BackupAndRestore(backup, save_freq=save_freq)])
    for mine, theirs in zip(model.weights, ref):
        assert torch.equal(mine.detach(), theirs)
    # The second fit's History holds the epochs it ran, with the values of the reference.
    first = CRASH[0]  # the crashed epoch was not finished: it runs (again, or from its middle)
    assert history.epoch == list(range(first, ref_history.epoch[-1] + 1))
    for key, values in history.history.items():
        assert values == ref_history.history[key][first:], key
    assert not backup.exists()  # delete_checkpoint=True: removed after a normal end


def test_resume_restores_a_seeded_dropout_layers_generator(tmp_path):
    ref, _ = reference(seeded_dropout=True)
    model = make_model(seeded_dropout=True)
    with pytest.raises(RuntimeError):
        fit(model, [Crash(), callbacks.BackupAndRestore(tmp_path, save_freq=2)])
    model = make_model(seeded_dropout=True)
    scramble_rngs()
    fit(model, [callbacks.BackupAndRestore(tmp_path, save_freq=2)])
    assert all(torch.equal(a.detach(), b) for a, b in zip(model.weights, ref))


def test_resume_mid_epoch_skips_the_batches_already_trained(tmp_path):
    seen = []

    class Batches(callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_begin(self, batch, logs=None):
            seen.append((self.epoch, batch))

    model = make_model()
    with pytest.raises(RuntimeError):
        fit(model, [Crash(), callbacks.BackupAndRestore(tmp_path, save_freq=2)], epochs=5)
    seen.clear()
    fit(model, [Batches(), callbacks.BackupAndRestore(tmp_path, save_freq=2)], epochs=5)
    # The last backup was after batch 3 of epoch 3 (8 batches per epoch, 2 per backup).
    assert seen[:5] == [(3, 4), (3, 5), (3, 6), (3, 7), (4, 0)]


def test_delete_checkpoint_false_keeps_the_last_backup(tmp_path):
    model = make_model()
    fit(model, [callbacks.BackupAndRestore(tmp_path / "b", delete_checkpoint=False)], epochs=2)
    pointer = json.loads((tmp_path / "b" / "checkpoint.json").read_text())
    folder = tmp_path / "b" / pointer["latest"]
    assert sorted(p.name for p in folder.iterdir()) == ["state.json", "tensors.safetensors"]
    assert json.loads((folder / "state.json").read_text())["epoch"] == 2
    # a fit whose backup says every epoch is done trains no more
    before = [w.detach().clone() for w in model.weights]
    history = fit(model, [callbacks.BackupAndRestore(tmp_path / "b")], epochs=2)
    assert history.epoch == [] and all(
        torch.equal(a, b.detach()) for a, b in zip(before, model.weights)
    )


def test_callback_states_survive_the_crash(tmp_path):
    model = make_model()
    reducer = callbacks.ReduceLROnPlateau(monitor="loss", patience=50)
    with pytest.raises(RuntimeError):  # fit adds an EarlyStopping
        fit(model, [reducer, Crash(), callbacks.BackupAndRestore(tmp_path, save_freq=2)])
    fresh_stopper = early_stopping()
    fresh_reducer = callbacks.ReduceLROnPlateau(monitor="loss", patience=50)
    restored = callbacks.BackupAndRestore(tmp_path, save_freq=2)
    cbs = callbacks.CallbackList(
        [restored, fresh_stopper, fresh_reducer], model=model, params={"epochs": 1}
    )
    assert cbs[-1] is restored  # it runs after the others
    cbs.on_train_begin()
    assert model._resume[:2] == (3, 4)
    assert fresh_reducer.best == pytest.approx(min(model.history.history["loss"][:3]))
    assert fresh_reducer.wait == reducer.wait and fresh_reducer._mode == "min"
    assert fresh_stopper.best_weights is not None and len(fresh_stopper.best_weights) == 6
    assert isinstance(fresh_stopper.best_weights[0], np.ndarray)
    assert fresh_stopper.best == pytest.approx(min(model.history.history["val_loss"]))


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="BackupAndRestore expected a backup_dir"):
        callbacks.BackupAndRestore("")
    with pytest.raises(ValueError, match="BackupAndRestore expected save_freq="):
        callbacks.BackupAndRestore("/tmp/x", save_freq=0)
    with pytest.raises(ValueError, match="BackupAndRestore expected save_freq="):
        callbacks.BackupAndRestore("/tmp/x", save_freq="batch")


# ------------------------------------------------------------------ a real SIGKILL
CHILD = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, {tests!r})
    from safetensors.torch import save_file
    from test_backup_and_restore import Crash, fit, make_model
    from lamina import callbacks

    mode, backup, out = sys.argv[1], sys.argv[2], sys.argv[3]

    class Kill(Crash):
        def on_train_batch_end(self, batch, logs=None):
            if (self.epoch, batch) == (3, 4):
                os.kill(os.getpid(), signal.SIGKILL)

    model = make_model()
    extra = [] if mode == "reference" else [callbacks.BackupAndRestore(backup, save_freq=3)]
    if mode == "killed":
        extra.insert(0, Kill())
    history = fit(model, extra)
    save_file({{str(i): w.detach().contiguous() for i, w in enumerate(model.weights)}}, out)
    print(history.epoch)
    """
)


def run_child(tmp_path: Path, mode: str) -> subprocess.CompletedProcess:
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(tests=str(Path(__file__).parent)))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, str(script), mode, str(tmp_path / "backup"), str(tmp_path / f"{mode}.st")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def test_a_process_killed_by_sigkill_resumes_exactly(tmp_path):
    from safetensors.torch import load_file

    killed = run_child(tmp_path, "killed")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (tmp_path / "backup" / "checkpoint.json").is_file()
    resumed = run_child(tmp_path, "resumed")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.strip().startswith("[3, 4,")  # it began in the killed epoch
    reference_run = run_child(tmp_path, "reference")
    assert reference_run.returncode == 0, reference_run.stderr
    mine, ref = load_file(tmp_path / "resumed.st"), load_file(tmp_path / "reference.st")
    assert mine.keys() == ref.keys()
    assert all(torch.equal(mine[k], ref[k]) for k in ref)
    assert not (tmp_path / "backup").exists()


def test_a_distributed_fit_resumes_at_epoch_boundaries_only(tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    every_batch = callbacks.BackupAndRestore(tmp_path, save_freq=1)
    with pytest.raises(ValueError, match="save_freq='epoch' in a distributed fit"):
        callbacks.CallbackList([every_batch], model=make_model()).on_train_begin()
    callbacks.CallbackList(
        [callbacks.BackupAndRestore(tmp_path)], model=make_model()
    ).on_train_begin()


def test_a_compiled_fit_resumes_exactly(tmp_path):
    """jit_compile=True: the resumed fit's first step runs compiled, as it did in the run
    that crashed (the restored optimizer state is all a compiled step needs), and the
    compiled Dropout draws from the restored torch generator: the same weights, bit for bit."""

    def compiled_model() -> keras.Model:
        model = make_model()
        model.compile(
            optimizer=optimizers.Adam(1e-2),
            loss="sparse_categorical_crossentropy",
            jit_compile=True,
        )
        return model

    model = compiled_model()
    fit(model, [], epochs=6)
    ref = [w.detach().clone() for w in model.weights]
    model = compiled_model()
    with pytest.raises(RuntimeError, match="simulated crash"):
        fit(model, [Crash(), callbacks.BackupAndRestore(tmp_path, save_freq=3)], epochs=6)
    model = compiled_model()
    scramble_rngs()
    fit(model, [callbacks.BackupAndRestore(tmp_path, save_freq=3)], epochs=6)
    assert model._step_fn.decision == "compiled"
    for mine, theirs in zip(model.weights, ref):
        assert torch.equal(mine.detach(), theirs)
