"""The one update (optimizers/update.py): each rule against Keras 3 or NumPy, and the
compiled train step against the eager one for each rule (both run `apply_update`).

Rules: gradient clipping (clipnorm per tensor, global_clipnorm, clipvalue), decoupled
weight decay, constraints after the update, the moving average of the weights (use_ema,
ema_momentum, ema_overwrite_frequency, finalize at the end of fit), loss_scale_factor;
and Keras 3's `apply(grads, trainable_variables)` API that custom train steps use.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from least_squares import (
    W0,
    KerasRef,
    import_keras,
    np_grads,
    run_keras,
    run_lamina,
    run_numpy,
    torch_loss,
    torch_params,
)

import lamina
from lamina import layers, optimizers
from lamina.optimizers.update import apply_update

# Adam's epsilon sits in another place in Keras and torch (test_optimizers measures the
# gap); a tiny one makes both the same formula, so these tests see only the rule under test.
EPS = 1e-12


@pytest.fixture(scope="module")
def keras():
    return import_keras()


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


@pytest.mark.parametrize(
    "kwargs, tol",
    [({"clipnorm": 0.5}, 1e-6), ({"clipvalue": 0.3}, 1e-6), ({"global_clipnorm": 0.7}, 1e-5)],
)
def test_clipping_matches_keras_itself(keras, kwargs, tol):
    ours = run_lamina(optimizers.SGD(learning_rate=0.5, momentum=0.9, **kwargs), steps=3)
    theirs = run_keras(keras, "SGD", {"learning_rate": 0.5, "momentum": 0.9, **kwargs}, steps=3)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.detach().numpy(), b, rtol=tol, atol=1e-8)


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


# ------------------------------------------------------------ weight decay, loss scale
@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "weight_decay": 0.2}),
        ("Adam", {"learning_rate": 0.05, "weight_decay": 0.2, "epsilon": EPS}),
        ("AdamW", {"learning_rate": 0.05, "weight_decay": 0.3, "epsilon": EPS}),
    ],
)
def test_weight_decay_matches_keras_itself(keras, name, kwargs):
    ours = run_lamina(getattr(optimizers, name)(**kwargs), steps=4)
    theirs = run_keras(keras, name, kwargs, steps=4)
    plain = run_keras(keras, name, {**kwargs, "weight_decay": 0.0}, steps=4)
    assert max(np.abs(a - b).max() for a, b in zip(theirs, plain)) > 1e-3  # decay matters
    for a, b in zip(ours, theirs):  # Keras keeps the rate in float32
        np.testing.assert_allclose(a.detach().numpy(), b, rtol=1e-6, atol=1e-8)


def test_loss_scale_factor_scales_the_loss_and_divides_the_gradients_like_keras(keras):
    ours = optimizers.SGD(learning_rate=0.1, momentum=0.9, loss_scale_factor=8.0)
    theirs = keras.optimizers.SGD(learning_rate=0.1, momentum=0.9, loss_scale_factor=8.0)
    loss = torch.tensor(1.5)
    assert float(ours.scale_loss(loss)) == float(theirs.scale_loss(loss)) == 12.0
    params = torch_params()
    variables = [keras.Variable(w.copy(), dtype="float64") for w in W0]
    for _ in range(3):
        grads = [g * 8.0 for g in np_grads([p.detach().numpy() for p in params])]
        ours.apply([torch.tensor(g) for g in grads], params)
        theirs.apply([keras.ops.convert_to_tensor(g, "float64") for g in grads], variables)
    unscaled = run_numpy(KerasRef("SGD", 0.1, momentum=0.9), steps=3)
    for p, v, w in zip(params, variables, unscaled):
        np.testing.assert_allclose(p.detach().numpy(), np.array(v.numpy()), rtol=1e-6)
        np.testing.assert_allclose(p.detach().numpy(), w, rtol=1e-12)


def test_loss_scale_factor_in_a_manual_step_divides_the_scaled_gradients():
    opt = optimizers.SGD(learning_rate=0.5, loss_scale_factor=4.0)
    params = torch_params()
    opt.build(params)
    opt.scale_loss(torch_loss(params)).backward()
    opt.step()
    expected = run_lamina(optimizers.SGD(learning_rate=0.5), steps=1)
    for a, b in zip(params, expected):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)


# --------------------------------------------------------------------------- apply()
def test_apply_follows_keras_apply(keras):
    """Keras 3's `apply(grads, trainable_variables)`: builds on the first call; later calls
    may pass the gradients alone, in the built order."""
    kwargs = {"learning_rate": 0.05, "clipnorm": 0.3, "weight_decay": 0.1, "epsilon": EPS}
    ours, theirs = optimizers.Adam(**kwargs), keras.optimizers.Adam(**kwargs)
    params = torch_params()
    variables = [keras.Variable(w.copy(), dtype="float64") for w in W0]
    for step in range(3):
        grads = np_grads([p.detach().numpy() for p in params])
        ours.apply([torch.tensor(g) for g in grads], params if step == 0 else None)
        theirs.apply(
            [keras.ops.convert_to_tensor(g, "float64") for g in grads],
            variables if step == 0 else None,
        )
    assert int(ours.iterations) == int(theirs.iterations) == 3
    for p, v in zip(params, variables):
        np.testing.assert_allclose(p.detach().numpy(), np.array(v.numpy()), rtol=1e-6)
    with pytest.raises(ValueError, match="expected one gradient per variable, received: 1"):
        ours.apply([torch.ones(4, 3, dtype=torch.float64)])
    with pytest.raises(ValueError, match="expected trainable_variables or build"):
        optimizers.SGD().apply([torch.ones(2)])


def test_apply_update_is_the_whole_update():
    """The function itself, with a hand-written rule: unscale, clip, decay, rule, average,
    constrain, in that order (Keras 3's)."""
    w = torch.nn.Parameter(torch.tensor([2.0, -2.0]))
    opt = optimizers.SGD(1.0, clipvalue=1.0, weight_decay=0.25, loss_scale_factor=2.0, use_ema=True)
    opt.build([w])
    seen = {}

    def rule(params, grads, lr):
        seen["grad"], seen["weight"] = grads[0].clone(), params[0].detach().clone()
        params[0].sub_(grads[0] * lr)

    class Clamp:
        def apply_constraints(self):
            w.data.clamp_(-1.0, 10.0)

    with torch.no_grad():
        apply_update(opt, [w], [torch.tensor([6.0, 1.0])], 1.0, rule, [Clamp()])
    torch.testing.assert_close(seen["grad"], torch.tensor([1.0, 0.5]))  # /2, then clipped
    torch.testing.assert_close(seen["weight"], torch.tensor([1.5, -1.5]))  # * (1 - 0.25)
    torch.testing.assert_close(opt.ema.averages[0], torch.tensor([0.5, -2.0]))  # first: copy
    torch.testing.assert_close(w.detach(), torch.tensor([0.5, -1.0]))  # then constrained


# --------------------------------------------- models: the engine's update against Keras
def _batches(n: int = 32):
    rng = np.random.default_rng(3)
    return rng.normal(size=(n, 5)).astype("float32"), rng.normal(size=(n, 2)).astype("float32")


def _twins(keras, optimizer: str, kwargs: dict, constraint: str | None = None):
    """The same two-layer model in Keras and in Lamina, with the same weights."""
    rng = np.random.default_rng(4)
    start = [
        rng.normal(size=(5, 4)).astype("float32"),
        rng.normal(size=4).astype("float32") * 0.1,
        rng.normal(size=(4, 2)).astype("float32"),
        np.zeros(2, "float32"),
    ]
    k = keras.Sequential(
        [
            keras.Input((5,)),
            keras.layers.Dense(4, activation="tanh", kernel_constraint=constraint),
            keras.layers.Dense(2),
        ]
    )
    m = lamina.Sequential(
        [
            layers.Dense(4, activation="tanh", kernel_constraint=constraint, input_shape=(5,)),
            layers.Dense(2),
        ]
    )
    k.set_weights(start)
    m.set_weights(start)
    k.compile(getattr(keras.optimizers, optimizer)(**kwargs), "mse")
    m.compile(getattr(optimizers, optimizer)(**kwargs), "mse", jit_compile=False, device="cpu")
    return k, m


OPTIONS = {
    "clipnorm": ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "clipnorm": 0.2}, None),
    "global_clipnorm": ("SGD", {"learning_rate": 0.1, "global_clipnorm": 0.3}, None),
    "clipvalue": ("Adam", {"learning_rate": 0.05, "clipvalue": 0.05, "epsilon": EPS}, None),
    "weight_decay": ("AdamW", {"learning_rate": 0.05, "weight_decay": 0.5, "epsilon": EPS}, None),
    "constraint": ("Adam", {"learning_rate": 0.1, "epsilon": EPS}, "max_norm"),
    "ema": ("SGD", {"learning_rate": 0.2, "use_ema": True, "ema_momentum": 0.8}, None),
    "ema_overwrite": (
        "Adam",
        {
            "learning_rate": 0.05,
            "epsilon": EPS,
            "use_ema": True,
            "ema_momentum": 0.7,
            "ema_overwrite_frequency": 3,
        },
        None,
    ),
    "loss_scale_factor": ("SGD", {"learning_rate": 0.1, "loss_scale_factor": 128.0}, None),
    "all": (
        "Adam",
        {
            "learning_rate": 0.05,
            "epsilon": EPS,
            "clipnorm": 0.5,
            "weight_decay": 0.1,
            "use_ema": True,
            "ema_momentum": 0.6,
            "ema_overwrite_frequency": 2,
            "loss_scale_factor": 16.0,
        },
        "max_norm",
    ),
}


@pytest.mark.parametrize("option", sorted(OPTIONS))
def test_train_on_batch_and_fit_match_keras(keras, option):
    """Five train_on_batch steps (no EMA swap at the end), then a fit, whose end swaps the
    moving averages into the model (finalize_variable_values), in both libraries."""
    name, kwargs, constraint = OPTIONS[option]
    x, y = _batches()
    k, m = _twins(keras, name, kwargs, constraint)
    for i in range(5):
        k.train_on_batch(x[i * 6 : i * 6 + 6], y[i * 6 : i * 6 + 6])
        m.train_on_batch(x[i * 6 : i * 6 + 6], y[i * 6 : i * 6 + 6])
    for ours, theirs in zip(m.get_weights(), k.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=2e-5)  # float32, 13 steps
    k.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    m.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for ours, theirs in zip(m.get_weights(), k.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=2e-5)  # float32, 13 steps
    if "use_ema" in kwargs:  # the weights really are the averages now
        averages = m.optimizer.ema.averages
        assert all(torch.equal(p, a) for p, a in zip(m.optimizer._params, averages))


def test_ema_arguments_config_and_state():
    with pytest.raises(ValueError, match=r"expected ema_momentum in \[0, 1\], received: ema_m"):
        optimizers.SGD(use_ema=True, ema_momentum=1.5)
    with pytest.raises(ValueError, match="ema_overwrite_frequency an int >= 1 or None"):
        optimizers.SGD(use_ema=True, ema_overwrite_frequency=0)
    with pytest.raises(ValueError, match="expected loss_scale_factor > 0"):
        optimizers.SGD(loss_scale_factor=0)
    with pytest.raises(ValueError, match="gradient_accumulation_steps=None"):
        optimizers.SGD(gradient_accumulation_steps=4)
    opt = optimizers.Adam(use_ema=True, ema_momentum=0.5, ema_overwrite_frequency=4)
    clone = optimizers.deserialize(optimizers.serialize(opt))
    assert clone.get_config() == opt.get_config() and clone.ema.overwrite_frequency == 4
    params = run_lamina(opt, steps=3)
    with pytest.raises(ValueError, match=r"unknown variables of shapes \[\(2,\)\]"):
        opt.finalize_variable_values([torch.nn.Parameter(torch.zeros(2))])
    fresh = optimizers.Adam(use_ema=True, ema_momentum=0.5, ema_overwrite_frequency=4)
    fresh.load_state_dict(opt.state_dict())  # before build: applied at build time
    fresh.build(torch_params())
    assert int(fresh.ema.count) == 3
    for a, b in zip(fresh.ema.averages, opt.ema.averages):
        assert torch.equal(a, b)
    opt.finalize_variable_values(params)
    assert all(torch.equal(p, a) for p, a in zip(params, opt.ema.averages))


def test_config_carries_keras_base_arguments(keras):
    theirs = set(keras.optimizers.Adam().get_config()) - {"gradient_accumulation_steps"}
    assert theirs <= set(optimizers.Adam().get_config())


# ------------------------------------------------------------- compiled = eager update
def _fit(jit: bool, optimizer: str, kwargs: dict, constraint: str | None):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(96, 6)).astype("float32")
    y = rng.integers(0, 3, size=96)
    lamina.utils.set_random_seed(0)
    model = lamina.Sequential(
        [
            layers.Dense(16, activation="relu", kernel_constraint=constraint, input_shape=(6,)),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(
        getattr(optimizers, optimizer)(**kwargs),
        "sparse_categorical_crossentropy",
        jit_compile=jit,
        device="cpu",
    )
    model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    return model


@pytest.mark.parametrize("option", sorted(set(OPTIONS) - {"all"}))
def test_compiled_step_updates_like_the_eager_step(option):
    name, kwargs, constraint = OPTIONS[option]
    eager = _fit(False, name, kwargs, constraint)
    jit = _fit(True, name, kwargs, constraint)
    runner = jit._step_fn
    assert not runner.failed and runner.compiled is not None
    assert runner.compiled.rule is not None  # the update was traced, not run eagerly
    for a, b in zip(eager.get_weights(), jit.get_weights()):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)  # fused kernels vs Inductor
    assert int(eager.optimizer.iterations) == int(jit.optimizer.iterations) == 12


def test_apply_in_a_custom_step_projects_constrained_weights_like_keras(keras):
    """Keras applies each variable's constraint in `optimizer.apply`: a custom train_step
    that updates a Dense with `kernel_constraint=max_norm(0.5)` ends with the kernel Keras has."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 3)).astype("float32")
    y = rng.normal(size=(8, 2)).astype("float32")
    k_dense = keras.layers.Dense(2, kernel_constraint=keras.constraints.MaxNorm(0.5))
    k_dense.build((None, 3))
    ours = layers.Dense(2, kernel_constraint=lamina.constraints.MaxNorm(0.5))
    ours.build((None, 3))
    ours.set_weights([w * 4 for w in k_dense.get_weights()])  # far outside the norm
    k_dense.set_weights([w * 4 for w in k_dense.get_weights()])
    k_opt, opt = keras.optimizers.SGD(0.1), optimizers.SGD(0.1)
    for _ in range(2):
        loss = ((ours(torch.from_numpy(x)) - torch.from_numpy(y)) ** 2).mean()
        ours.kernel.grad = ours.bias.grad = None
        loss.backward()
        opt.apply([ours.kernel.grad, ours.bias.grad], [ours.kernel, ours.bias])
        xv = keras.ops.convert_to_tensor(x)
        with torch.enable_grad():
            k_loss = keras.ops.mean((k_dense(xv) - keras.ops.convert_to_tensor(y)) ** 2)
            variables = k_dense.trainable_variables
            for v in variables:
                v.value.grad = None
            k_loss.backward()
        k_opt.apply([v.value.grad for v in variables], variables)
    for got, want in zip(ours.get_weights(), k_dense.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert np.linalg.norm(ours.get_weights()[0], axis=0).max() <= 0.5 + 1e-6
