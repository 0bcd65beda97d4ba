"""The Keras optimizers (sgd, adaptive, adam modules) against torch.optim, NumPy
re-implementations of Keras 3's update rules and Keras 3 itself; their state, build and
configs."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch
from least_squares import (
    W0,
    KerasRef,
    import_keras,
    run_keras,
    run_lamina,
    run_numpy,
    torch_loss,
    torch_params,
)

from lamina import optimizers
from lamina.optimizers import schedules

# Keras 3's defaults (Keras 3.15's get_config(), automatic names included), checked against ours.
KERAS_DEFAULTS = {
    "SGD": {"name": "sgd", "learning_rate": 0.01, "momentum": 0.0, "nesterov": False},
    "RMSprop": {"name": "rm_sprop", "learning_rate": 0.001, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7, "centered": False},
    "Adam": {"name": "adam", "learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False},
    "AdamW": {"name": "adam_w", "learning_rate": 0.001, "weight_decay": 0.004, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False},
    "Adadelta": {"name": "adadelta", "learning_rate": 0.001, "rho": 0.95, "epsilon": 1e-7},
    "Adagrad": {"name": "adagrad", "learning_rate": 0.001, "initial_accumulator_value": 0.1, "epsilon": 1e-7},
    "Adamax": {"name": "adamax", "learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
    "Nadam": {"name": "nadam", "learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
}  # fmt: skip


@pytest.fixture(scope="module")
def keras():
    return import_keras()


@pytest.mark.parametrize("cls_name", sorted(KERAS_DEFAULTS))
def test_defaults_match_keras(cls_name):
    config = getattr(optimizers, cls_name)().get_config()
    for key, value in KERAS_DEFAULTS[cls_name].items():
        assert config[key] == value, (cls_name, key)
    assert optimizers.get(cls_name.lower()).__class__.__name__ == cls_name


# (class, Keras kwargs, torch.optim constructor with the mapped arguments, tolerance vs the NumPy
# Keras rule). 1e-12 where the formulas are identical. Where torch places epsilon differently
# (RMSprop, Adagrad: outside the sqrt; Adam: after bias correction; Adamax: inside the max) the
# gap is about epsilon / sqrt(second moment) per step, largest for gradients passing near zero
# (test_epsilon_placement_is_the_only_difference pins it down exactly). Nadam: torch keeps the
# momentum product in float32 (relative 1e-8).
CASES = [
    ("SGD", {"learning_rate": 0.1}, lambda p: torch.optim.SGD(p, lr=0.1), 1e-12),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9}, lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), 1e-12),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.5, "nesterov": True},
     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.5, nesterov=True), 1e-12),
    ("RMSprop", {"learning_rate": 0.01}, lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-7), 1e-4),
    ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5, "centered": True, "rho": 0.8},
     lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.8, eps=1e-7, momentum=0.5, centered=True), 1e-4),
    ("Adam", {"learning_rate": 0.05}, lambda p: torch.optim.Adam(p, lr=0.05, eps=1e-7), 3e-5),
    ("Adam", {"learning_rate": 0.05, "amsgrad": True, "beta_1": 0.8},
     lambda p: torch.optim.Adam(p, lr=0.05, betas=(0.8, 0.999), eps=1e-7, amsgrad=True), 3e-5),
    ("AdamW", {"learning_rate": 0.05, "weight_decay": 0.1},
     lambda p: torch.optim.AdamW(p, lr=0.05, eps=1e-7, weight_decay=0.1), 3e-5),
    ("Adadelta", {"learning_rate": 1.0}, lambda p: torch.optim.Adadelta(p, lr=1.0, rho=0.95, eps=1e-7), 1e-12),
    ("Adagrad", {"learning_rate": 0.1},
     lambda p: torch.optim.Adagrad(p, lr=0.1, initial_accumulator_value=0.1, eps=1e-7), 1e-6),
    ("Adamax", {"learning_rate": 0.05}, lambda p: torch.optim.Adamax(p, lr=0.05, eps=1e-7), 1e-8),
    ("Nadam", {"learning_rate": 0.05}, lambda p: torch.optim.NAdam(p, lr=0.05, eps=1e-7, momentum_decay=1.0), 1e-8),
]  # fmt: skip
IDS = [f"{c[0]}-{'-'.join(k for k in c[1] if k != 'learning_rate') or 'plain'}" for c in CASES]


@pytest.mark.parametrize("name, kwargs, make_torch, tol", CASES, ids=IDS)
def test_matches_torch_optim(name, kwargs, make_torch, tol):
    ours = run_lamina(getattr(optimizers, name)(**kwargs), steps=5)
    ref_params = torch_params()
    ref = make_torch(ref_params)
    for _ in range(5):
        ref.zero_grad()
        torch_loss(ref_params).backward()
        ref.step()
    for a, b in zip(ours, ref_params):
        torch.testing.assert_close(a.detach(), b.detach(), rtol=1e-12, atol=1e-14)


def _keras_ref(name: str, kwargs: dict, **extra) -> KerasRef:
    hp = {**KERAS_DEFAULTS[name], **kwargs}
    hp.pop("name")
    return KerasRef(name, hp.pop("learning_rate"), **hp, **extra)


@pytest.mark.parametrize("name, kwargs, make_torch, tol", CASES, ids=IDS)
def test_matches_keras_rule(name, kwargs, make_torch, tol):
    ours = run_lamina(getattr(optimizers, name)(**kwargs), steps=5)
    ref = run_numpy(_keras_ref(name, kwargs), steps=5)
    assert max(np.abs(r - w).max() for r, w in zip(ref, W0)) > 1e-3  # the weights really moved
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a.detach().numpy(), b, rtol=tol, atol=tol)


@pytest.mark.parametrize("index", [3, 4, 5, 6, 9, 10], ids=[IDS[i] for i in (3, 4, 5, 6, 9, 10)])
def test_epsilon_placement_is_the_only_difference(index):
    name, kwargs, _, _ = CASES[index]
    ours = run_lamina(getattr(optimizers, name)(**kwargs), steps=5)
    ref = run_numpy(_keras_ref(name, kwargs, torch_epsilon=True), steps=5)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a.detach().numpy(), b, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize(
    "name", ["SGD", "RMSprop", "Adagrad", "Adamax", "Adadelta", "Adam", "Nadam"]
)
def test_decoupled_weight_decay_matches_keras(name):
    lr = 1.0 if name == "Adadelta" else 0.05
    ours = run_lamina(getattr(optimizers, name)(learning_rate=lr, weight_decay=0.2), steps=4)
    hp = {k: v for k, v in KERAS_DEFAULTS[name].items() if k not in ("name", "learning_rate")}
    # torch's epsilon placement, to isolate the weight decay (see CASES for that difference)
    ref = run_numpy(KerasRef(name, lr, weight_decay=0.2, torch_epsilon=True, **hp), steps=4)
    assert max(np.abs(r - w).max() for r, w in zip(ref, W0)) > 1e-3
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a.detach().numpy(), b, rtol=1e-8, atol=1e-10)


def test_fused_kernels_used_on_cpu_and_equal_to_foreach():
    for cls in (optimizers.SGD, optimizers.Adam, optimizers.AdamW, optimizers.Adagrad):
        opt = cls(learning_rate=0.05)
        fused = run_lamina(opt, steps=3)
        assert opt.torch_optimizer.defaults["fused"] is True
        slow = cls(learning_rate=0.05)
        slow._fusable = False  # force the foreach path
        out = run_lamina(slow, steps=3)
        assert slow.torch_optimizer.defaults["foreach"] is True
        for a, b in zip(fused, out):
            torch.testing.assert_close(a, b, rtol=0, atol=0)


# ---------------------------------------------------------------------- state, build
STATE_CASES = [
    optimizers.SGD(0.1, momentum=0.9),
    optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    optimizers.Adam(0.05, amsgrad=True),
    optimizers.AdamW(0.05, clipnorm=0.5),
    optimizers.Adadelta(1.0),
    optimizers.Adagrad(0.1),
    optimizers.Adamax(0.05, weight_decay=0.1),
    optimizers.Nadam(learning_rate=schedules.ExponentialDecay(0.05, 2, 0.5)),
    optimizers.SGD(0.1, momentum=0.5, use_ema=True, ema_momentum=0.5, ema_overwrite_frequency=2),
]


@pytest.mark.parametrize("template", STATE_CASES, ids=lambda o: type(o).__name__)
@pytest.mark.parametrize("load_before_build", [False, True])
def test_state_dict_round_trip_continues_exactly(template, load_before_build):
    opt = copy.deepcopy(template)
    params = run_lamina(opt, steps=3)
    saved_weights = [p.detach().clone() for p in params]
    state = opt.state_dict()
    run_lamina(opt, steps=3, params=params)
    assert int(opt.iterations) == 6
    fresh = copy.deepcopy(template)
    fresh_params = [torch.nn.Parameter(w.clone()) for w in saved_weights]
    if load_before_build:
        fresh.load_state_dict(state)
        fresh.build(fresh_params)
    else:
        fresh.build(fresh_params)
        fresh.load_state_dict(state)
    assert int(fresh.iterations) == 3
    run_lamina(fresh, steps=3, params=fresh_params)
    for a, b in zip(params, fresh_params):
        assert torch.equal(a, b)


def test_build_twice_is_noop_and_new_params_rebuild_keeping_state():
    opt = optimizers.Adam(0.01)
    params = run_lamina(opt, steps=2)
    inner = opt.torch_optimizer
    opt.build(list(params))
    assert opt.torch_optimizer is inner
    extra = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    opt.build([*params, extra])
    assert opt.torch_optimizer is not inner
    assert torch.equal(
        opt.torch_optimizer.state[params[0]]["exp_avg"], inner.state[params[0]]["exp_avg"]
    )
    assert extra not in opt.torch_optimizer.state


def test_iterations_is_int64_tensor_and_step_requires_build():
    opt = optimizers.SGD()
    assert opt.iterations.dtype == torch.int64 and opt.iterations.dim() == 0
    with pytest.raises(RuntimeError, match=r"expected build\(params\) before step\(\)"):
        opt.step()
    run_lamina(opt, steps=2)
    assert int(opt.iterations) == 2


# ----------------------------------------------------------------- resolution, config
def test_unknown_name_suggests_close_names():
    with pytest.raises(ValueError, match=r"optimizer='adamm'.*Did you mean: 'adam'"):
        optimizers.get("adamm")


def test_unknown_argument_suggests_close_names():
    with pytest.raises(TypeError, match=r"received: beta1=0.9. Did you mean: 'beta_1'"):
        optimizers.Adam(beta1=0.9)
    with pytest.raises(ValueError, match=r"expected beta_1 >= 0 and < 1.0, received: beta_1=1.5"):
        optimizers.Adam(beta_1=1.5)


def test_lr_alias_warns_once():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        opt = optimizers.Adam(lr=0.02)
    assert [w.category for w in caught] == [FutureWarning]
    assert "learning_rate=" in str(caught[0].message)
    assert caught[0].filename == __file__  # points at the caller
    assert opt.learning_rate == 0.02


def test_get_accepts_names_instances_configs_and_torch_optimizers():
    adam = optimizers.Adam(0.02, clipvalue=1.0)
    assert optimizers.get(adam) is adam
    clone = optimizers.get(optimizers.serialize(adam))
    assert isinstance(clone, optimizers.Adam) and clone.get_config() == adam.get_config()
    scheduled = optimizers.SGD(learning_rate=schedules.CosineDecay(0.1, 100))
    assert (
        optimizers.deserialize(optimizers.serialize(scheduled)).get_config()
        == scheduled.get_config()
    )
    assert isinstance(optimizers.get("RMSprop"), optimizers.RMSprop)
    with pytest.raises(TypeError, match="Expected an optimizer name"):
        optimizers.get(3)


@pytest.mark.parametrize("cls_name", sorted(KERAS_DEFAULTS))
def test_defaults_table_is_keras_own(keras, cls_name):
    config = getattr(keras.optimizers, cls_name)().get_config()
    for key, value in KERAS_DEFAULTS[cls_name].items():
        if key != "name":  # Keras 3 auto-names instances ('adam', 'adam_1', ...)
            assert config[key] == pytest.approx(value), key  # Keras stores the rate in float32


@pytest.mark.parametrize("name, kwargs, make_torch, tol", CASES, ids=IDS)
def test_matches_keras_itself(keras, name, kwargs, make_torch, tol):
    ours = run_lamina(getattr(optimizers, name)(**kwargs), steps=5)
    theirs = run_keras(keras, name, kwargs, steps=5)
    for a, b in zip(ours, theirs):  # Keras keeps the learning rate in float32: 1e-7 relative
        np.testing.assert_allclose(a.detach().numpy(), b, rtol=max(tol, 1e-6), atol=max(tol, 1e-8))
