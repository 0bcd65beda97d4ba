"""lamina/saving/training_state.py: what a backup holds, how it is written (atomically,
no pickle) and how a damaged or hostile backup is refused."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch

import lamina as keras
from lamina import layers
from lamina.saving import FileFormatError
from lamina.saving import training_state as ts
from lamina.saving.training_state import (
    TrainingState,
    delete_training_state,
    load_training_state,
    save_training_state,
)


def trained_model() -> keras.Model:
    keras.utils.set_random_seed(3)
    model = keras.Sequential(
        [layers.Dense(4, input_shape=(3,)), layers.Dropout(0.5, seed=1), layers.Dense(2)]
    )
    model.compile(optimizer="adam", loss="mse", metrics=["mae"], jit_compile=False)
    x, y = np.ones((8, 3), "float32"), np.zeros((8, 2), "float32")
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    return model


def draws() -> tuple:
    return torch.rand(3), np.random.rand(3), random.random()


def test_random_states_come_back(tmp_path):
    model = trained_model()
    layer_gen = model.layers[1]._generator
    assert layer_gen is not None
    save_training_state(tmp_path, model, TrainingState(epoch=1))
    expected = draws()
    layer_next = torch.rand(2, generator=layer_gen)
    torch.manual_seed(0), np.random.seed(0), random.seed(0)
    torch.rand(2, generator=layer_gen)
    load_training_state(tmp_path, model)
    got = draws()
    assert torch.equal(got[0], expected[0])
    assert np.array_equal(got[1], expected[1]) and got[2] == expected[2]
    assert torch.equal(torch.rand(2, generator=model.layers[1]._generator), layer_next)


def test_weights_optimizer_metrics_and_position_come_back_in_place(tmp_path):
    model = trained_model()
    order = torch.randperm(10)
    callbacks = {"EarlyStopping/0": {"best": float("inf"), "weights": [np.arange(3.0)]}}
    save_training_state(tmp_path, model, TrainingState(2, 5, order, callbacks))
    saved_weights = [w.detach().clone() for w in model.weights]
    torch_opt = model.optimizer.torch_optimizer
    slots = {(id(p), k): v for p, s in torch_opt.state.items() for k, v in s.items()}
    saved_slots = {key: v.clone() for key, v in slots.items()}
    steps = model.optimizer.iterations.item()
    metric_sums = [t.clone() for m in model.metrics for t in m.state_tensors()]
    model.fit(np.ones((8, 3), "float32"), np.ones((8, 2), "float32"), epochs=2, verbose=0)
    state = load_training_state(tmp_path, model)
    assert (state.epoch, state.step) == (2, 5) and torch.equal(state.order, order)
    assert state.callbacks["EarlyStopping/0"]["best"] == float("inf")
    assert torch.equal(state.callbacks["EarlyStopping/0"]["weights"][0], torch.arange(3.0))
    assert all(torch.equal(a.detach(), b) for a, b in zip(model.weights, saved_weights))
    assert model.optimizer.iterations.item() == steps
    live = {(id(p), k): v for p, s in torch_opt.state.items() for k, v in s.items()}
    assert live.keys() == slots.keys()
    for key, value in live.items():  # the same tensor objects (a compiled step holds them)
        assert value is slots[key] and torch.equal(value, saved_slots[key]), key
    sums = [t for m in model.metrics for t in m.state_tensors()]
    assert all(torch.equal(a, b) for a, b in zip(sums, metric_sums))


def test_no_backup_gives_none_and_delete_cleans_up(tmp_path):
    assert load_training_state(tmp_path / "none", trained_model()) is None
    model = trained_model()
    save_training_state(tmp_path / "b", model, TrainingState(1))
    (tmp_path / "b" / "mine.txt").write_text("user file")
    delete_training_state(tmp_path / "b")
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["mine.txt"]
    delete_training_state(tmp_path / "missing")  # nothing to do


def test_files_are_safetensors_and_json_only(tmp_path):
    model = trained_model()
    folder = save_training_state(tmp_path, model, TrainingState(1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.json", folder.name]
    meta = json.loads((folder / "state.json").read_text())  # strict JSON: no NaN/Infinity
    assert meta["format"] == 1 and meta["rng"]["python"][0] == 3
    assert b"pickle" not in (folder / "tensors.safetensors").read_bytes()[:64]


def test_a_crash_while_saving_leaves_the_previous_backup(tmp_path, monkeypatch):
    model = trained_model()
    save_training_state(tmp_path, model, TrainingState(1))

    def dies(tensors, path):
        with open(path, "wb") as f:
            f.write(b"half a file")
        raise KeyboardInterrupt  # the process is stopped mid-write

    monkeypatch.setattr(ts, "save_file", dies)
    with pytest.raises(KeyboardInterrupt):
        save_training_state(tmp_path, model, TrainingState(2))
    monkeypatch.undo()
    assert load_training_state(tmp_path, model).epoch == 1
    # a leftover temporary folder (a SIGKILL skips the cleanup) goes with the next save
    (tmp_path / ".state-000009.abcd.tmp").mkdir()
    save_training_state(tmp_path, model, TrainingState(3))
    assert len(list(tmp_path.iterdir())) == 2
    assert load_training_state(tmp_path, model).epoch == 3


def test_double_checkpoint_falls_back_to_the_previous_backup(tmp_path):
    model = trained_model()
    save_training_state(tmp_path, model, TrainingState(1), keep_previous=True)
    latest = save_training_state(tmp_path, model, TrainingState(2), keep_previous=True)
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 2
    (latest / "tensors.safetensors").write_bytes(b"\x00" * 20)  # damaged
    assert load_training_state(tmp_path, model).epoch == 1
    single = tmp_path / "single"
    save_training_state(single, model, TrainingState(1))
    latest = save_training_state(single, model, TrainingState(2))
    assert len([p for p in single.iterdir() if p.is_dir()]) == 1
    (latest / "tensors.safetensors").write_bytes(b"\x00" * 20)
    with pytest.raises(FileFormatError, match="Expected a readable backup"):
        load_training_state(single, model)


@pytest.mark.parametrize(
    "pointer",
    [
        {"format": 1, "number": 0, "latest": "../elsewhere", "previous": None},
        {"format": 1, "number": 0, "latest": "state-000000/../../x", "previous": None},
        {"format": 2, "number": 0, "latest": "state-000000", "previous": None},
        {"format": 1, "number": -1, "latest": "state-000000", "previous": None},
        ["not", "an", "object"],
    ],
)
def test_a_hostile_pointer_is_refused(tmp_path, pointer):
    (tmp_path / "checkpoint.json").write_text(json.dumps(pointer))
    with pytest.raises(FileFormatError, match="backup pointer"):
        load_training_state(tmp_path, trained_model())


def test_a_bad_position_or_tensor_reference_is_refused(tmp_path):
    model = trained_model()
    folder = save_training_state(tmp_path, model, TrainingState(1, callbacks={"A/0": {"x": 1}}))
    meta = json.loads((folder / "state.json").read_text())
    (folder / "state.json").write_text(json.dumps({**meta, "step": -2}))
    with pytest.raises(FileFormatError, match="non-negative integer step"):
        load_training_state(tmp_path, model)
    meta["callbacks"] = {"A/0": {"x": {"__tensor__": "weights/../nothing"}}}
    (folder / "state.json").write_text(json.dumps(meta))
    with pytest.raises(FileFormatError, match="Expected tensor"):
        load_training_state(tmp_path, model)


def test_callback_state_must_be_json_tensors_or_arrays(tmp_path):
    with pytest.raises(TypeError, match="callback's backup state"):
        save_training_state(
            tmp_path, trained_model(), TrainingState(1, callbacks={"A/0": {"f": object()}})
        )
