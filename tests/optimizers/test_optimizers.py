"""Optimizers against torch.optim and against NumPy re-implementations of Keras 3's update rules."""

from __future__ import annotations

import copy
import math
import os
import warnings

import numpy as np
import pytest
import torch

from lamina import optimizers, schedules

# Keras 3's published defaults (keras.io/api/optimizers/<name>), checked against get_config().
KERAS_DEFAULTS = {
    "SGD": {"name": "sgd", "learning_rate": 0.01, "momentum": 0.0, "nesterov": False},
    "RMSprop": {"name": "rmsprop", "learning_rate": 0.001, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7, "centered": False},
    "Adam": {"name": "adam", "learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False},
    "AdamW": {"name": "adamw", "learning_rate": 0.001, "weight_decay": 0.004, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False},
    "Adadelta": {"name": "adadelta", "learning_rate": 0.001, "rho": 0.95, "epsilon": 1e-7},
    "Adagrad": {"name": "adagrad", "learning_rate": 0.001, "initial_accumulator_value": 0.1, "epsilon": 1e-7},
    "Adamax": {"name": "adamax", "learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
    "Nadam": {"name": "nadam", "learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
}  # fmt: skip


@pytest.mark.parametrize("cls_name", sorted(KERAS_DEFAULTS))
def test_defaults_match_keras(cls_name):
    config = getattr(optimizers, cls_name)().get_config()
    for key, value in KERAS_DEFAULTS[cls_name].items():
        assert config[key] == value, (cls_name, key)
    assert optimizers.get(cls_name.lower()).__class__.__name__ == cls_name


# ----------------------------------------------------------------------------- problem
RNG = np.random.default_rng(0)
X = RNG.normal(size=(8, 4))
Y = RNG.normal(size=(8, 3))
W0 = [RNG.normal(size=(4, 3)), RNG.normal(size=(3,))]


def np_grads(w: list[np.ndarray]) -> list[np.ndarray]:
    """Gradients of 0.5 * mean_rows(sum((X w + b - Y)^2)), written out by hand."""
    r = X @ w[0] + w[1] - Y
    return [X.T @ r / len(X), r.sum(0) / len(X)]


def torch_params() -> list[torch.nn.Parameter]:
    return [torch.nn.Parameter(torch.tensor(w)) for w in W0]


def torch_loss(params: list[torch.Tensor]) -> torch.Tensor:
    r = torch.tensor(X) @ params[0] + params[1] - torch.tensor(Y)
    return 0.5 * r.square().sum(1).mean()


def run_lamina(opt: optimizers.Optimizer, steps: int, params=None) -> list[torch.Tensor]:
    params = params if params is not None else torch_params()
    opt.build(params)
    for _ in range(steps):
        opt.zero_grad()
        torch_loss(params).backward()
        opt.step()
    return params


# ------------------------------------------------------------- NumPy Keras 3 rules
class KerasRef:
    """Keras 3's update rules (keras/src/optimizers/*.py), one variable at a time."""

    def __init__(self, name: str, lr: float, weight_decay=None, torch_epsilon=False, **hp):
        self.name, self.lr, self.wd, self.hp, self.it = name, lr, weight_decay, hp, 0
        self.torch_eps = (
            torch_epsilon  # place epsilon where torch does (to isolate that difference)
        )
        self.slots: dict = {}
        self.u_product = 1.0

    def slot(self, key, i, like, value=0.0):
        return self.slots.setdefault((key, i), np.full_like(like, value))

    def apply(self, ws: list[np.ndarray], gs: list[np.ndarray]) -> None:
        hp, lr, t = self.hp, self.lr, self.it + 1
        if self.name == "Nadam":
            self.u_product *= hp["beta_1"] * (1 - 0.5 * 0.96**t)
        for i, (w, g) in enumerate(zip(ws, gs)):
            if self.wd:
                w -= w * self.wd * lr
            getattr(self, self.name)(i, w, g, hp, lr, t)
        self.it += 1

    def SGD(self, i, w, g, hp, lr, t):
        if hp.get("momentum", 0.0):
            m = self.slot("m", i, w)
            m[...] = hp["momentum"] * m - lr * g
            w += hp["momentum"] * m - lr * g if hp.get("nesterov") else m
        else:
            w -= lr * g

    def RMSprop(self, i, w, g, hp, lr, t):
        rho, eps = hp["rho"], hp["epsilon"]
        v = self.slot("v", i, w)
        v[...] = rho * v + (1 - rho) * g * g
        if hp.get("centered"):
            a = self.slot("a", i, w)
            a[...] = rho * a + (1 - rho) * g
            v = v - a * a
        inc = lr * g / (np.sqrt(v) + eps if self.torch_eps else np.sqrt(v + eps))
        if hp.get("momentum", 0.0):
            m = self.slot("m", i, w)
            m[...] = hp["momentum"] * m + inc
            w -= m
        else:
            w -= inc

    def Adam(self, i, w, g, hp, lr, t):
        b1, b2, eps = hp["beta_1"], hp["beta_2"], hp["epsilon"]
        m, v = self.slot("m", i, w), self.slot("v", i, w)
        alpha = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        m += (g - m) * (1 - b1)
        v += (g * g - v) * (1 - b2)
        if hp.get("amsgrad"):
            vh = self.slot("vh", i, w)
            vh[...] = np.maximum(vh, v)
            v = vh
        if self.torch_eps:
            eps = eps * math.sqrt(1 - b2**t)
        w -= m * alpha / (np.sqrt(v) + eps)

    AdamW = Adam

    def Adadelta(self, i, w, g, hp, lr, t):
        rho, eps = hp["rho"], hp["epsilon"]
        acc_g, acc_d = self.slot("g", i, w), self.slot("d", i, w)
        acc_g[...] = rho * acc_g + (1 - rho) * g * g
        delta = -np.sqrt(acc_d + eps) * g / np.sqrt(acc_g + eps)
        acc_d[...] = rho * acc_d + (1 - rho) * delta * delta
        w += lr * delta

    def Adagrad(self, i, w, g, hp, lr, t):
        acc = self.slot("acc", i, w, hp["initial_accumulator_value"])
        acc += g * g
        eps = hp["epsilon"]
        w -= lr * g / (np.sqrt(acc) + eps if self.torch_eps else np.sqrt(acc + eps))

    def Adamax(self, i, w, g, hp, lr, t):
        b1, b2, eps = hp["beta_1"], hp["beta_2"], hp["epsilon"]
        m, u = self.slot("m", i, w), self.slot("u", i, w)
        m += (g - m) * (1 - b1)
        if self.torch_eps:
            u[...] = np.maximum(b2 * u, np.abs(g) + eps)
            w -= lr * m / ((1 - b1**t) * u)
        else:
            u[...] = np.maximum(b2 * u, np.abs(g))
            w -= lr * m / ((1 - b1**t) * (u + eps))

    def Nadam(self, i, w, g, hp, lr, t):
        b1, b2, eps = hp["beta_1"], hp["beta_2"], hp["epsilon"]
        m, v = self.slot("m", i, w), self.slot("v", i, w)
        u_t, u_t1 = b1 * (1 - 0.5 * 0.96**t), b1 * (1 - 0.5 * 0.96 ** (t + 1))
        u_prod_t1 = self.u_product * u_t1
        m += (g - m) * (1 - b1)
        v += (g * g - v) * (1 - b2)
        m_hat = u_t1 * m / (1 - u_prod_t1) + (1 - u_t) * g / (1 - self.u_product)
        w -= lr * m_hat / (np.sqrt(v / (1 - b2**t)) + eps)


def run_numpy(ref: KerasRef, steps: int, clip=None) -> list[np.ndarray]:
    ws = [w.copy() for w in W0]
    for _ in range(steps):
        gs = np_grads(ws)
        ref.apply(ws, clip(gs) if clip else gs)
    return ws


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


# -------------------------------------------------------------------------- clipping
def _np_clipnorm(gs, c):
    return [g * c / max(np.linalg.norm(g), c) for g in gs]


def _np_global(gs, c):
    norm = math.sqrt(sum((g * g).sum() for g in gs))
    return [g * c / max(norm, c) for g in gs]


@pytest.mark.parametrize(
    "kwargs, clip, rtol",
    [
        ({"clipnorm": 0.5}, lambda gs: _np_clipnorm(gs, 0.5), 1e-12),
        ({"clipvalue": 0.3}, lambda gs: [np.clip(g, -0.3, 0.3) for g in gs], 1e-12),
        ({"global_clipnorm": 0.7}, lambda gs: _np_global(gs, 0.7), 1e-5),  # torch: norm + 1e-6
    ],
)
def test_clipping_matches_keras(kwargs, clip, rtol):
    gs = np_grads(W0)
    clipped = clip(gs)
    assert not all(np.allclose(a, b) for a, b in zip(gs, clipped))  # the clip is active
    ours = run_lamina(optimizers.SGD(learning_rate=0.5, momentum=0.9, **kwargs), steps=3)
    ref = run_numpy(KerasRef("SGD", 0.5, momentum=0.9), steps=3, clip=clip)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a.detach().numpy(), b, rtol=rtol, atol=1e-9)


def test_clipnorm_applies_per_tensor():
    p1, p2 = torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(2))
    opt = optimizers.SGD(learning_rate=1.0, clipnorm=1.0)
    opt.apply_gradients([(torch.tensor([3.0, 4.0]), p1), (torch.tensor([0.3, 0.4]), p2)])
    torch.testing.assert_close(p1.detach(), torch.tensor([-0.6, -0.8]))
    torch.testing.assert_close(p2.detach(), torch.tensor([-0.3, -0.4]))


def test_clipnorm_and_global_clipnorm_are_exclusive():
    with pytest.raises(ValueError, match="at most one of clipnorm and global_clipnorm"):
        optimizers.Adam(clipnorm=1.0, global_clipnorm=1.0)


# ------------------------------------------------------------------------- schedules
SCHEDULE_CASES = [
    (schedules.ExponentialDecay(0.1, decay_steps=4, decay_rate=0.5), lambda s: 0.1 * 0.5 ** (s / 4)),
    (schedules.ExponentialDecay(0.1, 4, 0.5, staircase=True), lambda s: 0.1 * 0.5 ** (s // 4)),
    (schedules.PiecewiseConstantDecay([3, 6], [1.0, 0.5, 0.1]), lambda s: 1.0 if s <= 3 else 0.5 if s <= 6 else 0.1),
    (schedules.InverseTimeDecay(0.1, decay_steps=2, decay_rate=0.5), lambda s: 0.1 / (1 + 0.5 * s / 2)),
    (schedules.InverseTimeDecay(0.1, 2, 0.5, staircase=True), lambda s: 0.1 / (1 + 0.5 * (s // 2))),
    (schedules.CosineDecay(0.1, decay_steps=8, alpha=0.1),
     lambda s: 0.1 * (0.9 * 0.5 * (1 + math.cos(math.pi * min(s, 8) / 8)) + 0.1)),
    (schedules.CosineDecay(0.0, decay_steps=8, warmup_target=0.2, warmup_steps=4),
     lambda s: 0.2 * s / 4 if s < 4 else 0.2 * 0.5 * (1 + math.cos(math.pi * min(s - 4, 8) / 8))),
    (schedules.PolynomialDecay(0.1, decay_steps=8, end_learning_rate=0.01, power=2.0),
     lambda s: 0.09 * (1 - min(s, 8) / 8) ** 2 + 0.01),
]  # fmt: skip


@pytest.mark.parametrize("schedule, formula", SCHEDULE_CASES, ids=lambda c: type(c).__name__)
def test_schedule_values_and_per_step_use(schedule, formula):
    for s in range(14):
        assert schedule(s) == pytest.approx(formula(s), rel=1e-12, abs=1e-15)
    assert schedule(torch.tensor(5)) == pytest.approx(formula(5))
    # Linear loss sum(w): gradient 1, so SGD moves w by exactly the sum of per-step rates.
    w = torch.nn.Parameter(torch.zeros((), dtype=torch.float64))
    opt = optimizers.SGD(learning_rate=schedule)
    opt.build([w])
    for s in range(10):
        assert opt.learning_rate == pytest.approx(formula(s))
        w.grad = torch.ones((), dtype=torch.float64)
        opt.step()
    assert w.item() == pytest.approx(-sum(formula(s) for s in range(10)), rel=1e-12)
    clone = schedules.deserialize(schedules.serialize(schedule))
    assert clone.get_config() == schedule.get_config()


def test_legacy_decay_argument():
    w = torch.nn.Parameter(torch.zeros((), dtype=torch.float64))
    opt = optimizers.SGD(learning_rate=0.1, decay=0.5)
    opt.build([w])
    for _ in range(4):
        w.grad = torch.ones((), dtype=torch.float64)
        opt.step()
    assert w.item() == pytest.approx(-sum(0.1 / (1 + 0.5 * s) for s in range(4)))


def test_learning_rate_property_updates_param_groups():
    opt = optimizers.Adam(learning_rate=0.01)
    run_lamina(opt, steps=1)
    opt.learning_rate = 0.5
    assert opt.learning_rate == 0.5 and opt.lr == 0.5
    assert all(g["lr"] == 0.5 for g in opt.torch_optimizer.param_groups)
    with pytest.raises(
        ValueError, match=r"expected learning_rate >= 0, received: learning_rate=-1"
    ):
        opt.learning_rate = -1
    scheduled = optimizers.SGD(learning_rate=schedules.ExponentialDecay(0.1, 10, 0.5))
    assert isinstance(scheduled.schedule, schedules.ExponentialDecay)
    with pytest.raises(TypeError, match="LearningRateSchedule"):
        scheduled.learning_rate = 0.1


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


def test_apply_gradients_updates_only_given_variables_and_keeps_grads():
    a, b = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    opt = optimizers.SGD(learning_rate=0.5, clipvalue=0.1)
    opt.build([a, b])
    b.grad = torch.full((2,), 7.0)
    g = torch.tensor([1.0, -1.0])
    opt.apply_gradients([(g, a)])
    torch.testing.assert_close(a.detach(), torch.tensor([0.95, 1.05]))
    torch.testing.assert_close(b.detach(), torch.ones(2))
    torch.testing.assert_close(
        g, torch.tensor([1.0, -1.0])
    )  # caller's gradient not clipped in place
    torch.testing.assert_close(b.grad, torch.full((2,), 7.0))
    with pytest.raises(ValueError, match="unknown variables of shapes"):
        opt.apply_gradients([(g, torch.nn.Parameter(torch.ones(3)))])


def test_minimize_and_apply_gradients_build_on_first_use():
    w = torch.nn.Parameter(torch.tensor(10.0))
    opt = optimizers.RMSprop(learning_rate=0.1)
    opt.minimize(lambda: w**2 / 2, [w])
    assert w.item() == pytest.approx(10.0 - 0.1 * 10.0 / math.sqrt(0.1 * 100.0 + 1e-7), rel=1e-6)
    assert opt.built and int(opt.iterations) == 1


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


def test_wraps_torch_optimizer_instance_and_class():
    params = torch_params()
    wrapped = optimizers.get(torch.optim.SGD(params, lr=0.1, momentum=0.9))
    assert isinstance(wrapped, optimizers.TorchOptimizer) and wrapped.learning_rate == 0.1
    run_lamina(wrapped, steps=3, params=params)
    ref = run_lamina(optimizers.SGD(0.1, momentum=0.9), steps=3)
    for a, b in zip(params, ref):
        torch.testing.assert_close(a, b)
    with pytest.raises(ValueError, match="none of the 2 trainable parameters"):
        wrapped.build(torch_params())
    wrapped.learning_rate = 0.01  # e.g. ReduceLROnPlateau
    assert wrapped.torch_optimizer.param_groups[0]["lr"] == 0.01
    state = wrapped.state_dict()
    again = optimizers.get(torch.optim.SGD(params, lr=0.5, momentum=0.9))
    again.load_state_dict(state)
    assert again.learning_rate == 0.01 and int(again.iterations) == 3
    from_class = optimizers.get(torch.optim.RAdam)
    out = run_lamina(from_class, steps=2)
    assert not torch.equal(out[0].detach(), torch.tensor(W0[0]))
    assert (
        optimizers.deserialize(optimizers.serialize(from_class)).get_config()
        == from_class.get_config()
    )


# --------------------------------------------------- Keras 3 itself, when installed
@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


def run_keras(keras, name: str, kwargs: dict, steps: int) -> list[np.ndarray]:
    opt = getattr(keras.optimizers, name)(**kwargs)
    variables = [keras.Variable(w.copy(), dtype="float64") for w in W0]
    for _ in range(steps):
        grads = np_grads([np.array(v.numpy()) for v in variables])
        opt.apply_gradients(
            zip([keras.ops.convert_to_tensor(g, "float64") for g in grads], variables)
        )
    return [np.array(v.numpy()) for v in variables]


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


@pytest.mark.parametrize(
    "kwargs, tol",
    [({"clipnorm": 0.5}, 1e-6), ({"clipvalue": 0.3}, 1e-6), ({"global_clipnorm": 0.7}, 1e-5)],
)
def test_clipping_matches_keras_itself(keras, kwargs, tol):
    ours = run_lamina(optimizers.SGD(learning_rate=0.5, momentum=0.9, **kwargs), steps=3)
    theirs = run_keras(keras, "SGD", {"learning_rate": 0.5, "momentum": 0.9, **kwargs}, steps=3)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.detach().numpy(), b, rtol=tol, atol=1e-8)


@pytest.mark.parametrize("schedule, formula", SCHEDULE_CASES, ids=lambda c: type(c).__name__)
def test_schedules_match_keras_itself(keras, schedule, formula):
    theirs = getattr(keras.optimizers.schedules, type(schedule).__name__)(**schedule.get_config())
    for s in range(14):
        assert schedule(s) == pytest.approx(float(theirs(s)), rel=1e-5, abs=1e-9)  # Keras: float32
