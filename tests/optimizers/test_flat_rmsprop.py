"""RMSprop's eager update over one flat buffer gives exactly torch.optim's results, and steps
aside whenever the layout no longer applies (moved state, a compiled step, mixed dtypes)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import layers, optimizers
from lamina.optimizers import flat_rmsprop
from lamina.optimizers.flat_rmsprop import FlatRMSprop


def _data(n: int = 96):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 6)).astype("float32"), rng.integers(0, 3, size=n)


def _model(dtype: str | None = None) -> lamina.Sequential:
    lamina.utils.set_random_seed(0)
    return lamina.Sequential(
        [
            layers.Input((6,)),
            layers.Dense(16, activation="relu"),
            layers.Dense(7, activation="tanh", dtype=dtype),
            layers.Dense(3, activation="softmax"),
        ]
    )


def _train(flat: bool, monkeypatch, jit=False, epochs=3, batch=16, **rms):
    if not flat:  # torch.optim's step makes the state and updates
        monkeypatch.setattr(flat_rmsprop.FlatRMSprop, "make", classmethod(lambda *a: None))
        monkeypatch.setattr(flat_rmsprop.FlatRMSprop, "create_state", classmethod(lambda *a: None))
    x, y = _data()
    model = _model()
    opt = optimizers.RMSprop(**{"learning_rate": 0.01, **rms})
    model.compile(opt, "sparse_categorical_crossentropy", jit_compile=jit, device="cpu")
    model.fit(x, y, batch_size=batch, epochs=epochs, shuffle=False, verbose=0)
    monkeypatch.undo()
    return model


VARIANTS = {
    "plain": {},
    "momentum": {"momentum": 0.5},
    "centered": {"centered": True},
    "centered_momentum": {"centered": True, "momentum": 0.9},
    "weight_decay_clipnorm": {"weight_decay": 0.01, "clipnorm": 0.5},
    "schedule": {"learning_rate": optimizers.schedules.ExponentialDecay(0.02, 5, 0.5)},
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_flat_update_equals_torch_optim_exactly(name, monkeypatch):
    reference = _train(False, monkeypatch, **VARIANTS[name])
    flat = _train(True, monkeypatch, **VARIANTS[name])
    assert reference.optimizer._flat is None and isinstance(flat.optimizer._flat, FlatRMSprop)
    for a, b in zip(reference.get_weights(), flat.get_weights()):
        np.testing.assert_array_equal(a, b)
    ref_state = reference.optimizer.torch_optimizer.state_dict()["state"]
    flat_state = flat.optimizer.torch_optimizer.state_dict()["state"]
    for i in ref_state:
        for key, value in ref_state[i].items():
            torch.testing.assert_close(flat_state[i][key], value, rtol=0, atol=0)


def test_weights_and_state_are_views_of_one_buffer(monkeypatch):
    model = _train(True, monkeypatch)
    layout = model.optimizer._flat
    storages = {p.untyped_storage().data_ptr() for p in model.trainable_weights}
    assert storages == {layout.flat.untyped_storage().data_ptr()}
    state = model.optimizer.torch_optimizer.state
    assert {state[p]["square_avg"].untyped_storage().data_ptr() for p in layout.params} == {
        layout.state_flat["square_avg"].untyped_storage().data_ptr()
    }
    assert all(p.data_ptr() % 64 == 0 for p in model.trainable_weights)  # 16-float aligned


def test_set_weights_between_fits_is_seen_by_the_flat_update(monkeypatch):
    x, y = _data()
    runs = []
    for flat in (False, True):
        model = _train(flat, monkeypatch, epochs=1)
        model.set_weights([w * 0.5 for w in model.get_weights()])
        if not flat:
            monkeypatch.setattr(flat_rmsprop.FlatRMSprop, "make", classmethod(lambda *a: None))
        model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
        monkeypatch.undo()
        runs.append(model.get_weights())
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_a_reloaded_optimizer_state_is_laid_out_again(monkeypatch):
    x, y = _data()
    runs = []
    for flat in (False, True):
        model = _train(flat, monkeypatch, epochs=1)
        before = model.optimizer._flat
        model.optimizer.load_state_dict(model.optimizer.state_dict())  # new state tensors
        if not flat:
            monkeypatch.setattr(flat_rmsprop.FlatRMSprop, "make", classmethod(lambda *a: None))
        model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
        monkeypatch.undo()
        if flat:
            assert model.optimizer._flat is not None and model.optimizer._flat is not before
        runs.append(model.get_weights())
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_a_compiled_step_keeps_its_tensors_and_the_last_partial_batch_reuses_them(monkeypatch):
    """After a compiled step bound the state, the eager partial batch must not re-lay it out:
    the layout made by the first (eager) step is the one the compiled step holds, unmoved."""
    eager = _train(True, monkeypatch, batch=20)  # 96 = 4 x 20 + 16: a partial batch per epoch
    compiled = _train(True, monkeypatch, jit=True, batch=20)
    assert compiled._step_fn.compiled is not None and not compiled._step_fn.failed
    flat = compiled.optimizer._flat
    assert isinstance(flat, FlatRMSprop) and flat.holds(compiled.optimizer._params)
    for a, b in zip(eager.get_weights(), compiled.get_weights()):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)


def test_mixed_dtypes_fall_back_to_torch_optim(monkeypatch):
    x, y = _data()
    model = _model(dtype="float64")
    model.compile(optimizers.RMSprop(0.01), "sparse_categorical_crossentropy", jit_compile=False)
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert model.optimizer._flat is None
    assert history.history["loss"][-1] < history.history["loss"][0]
