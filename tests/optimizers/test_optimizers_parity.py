"""Every public name of keras.optimizers against Keras 3 (torch backend): the weights after
five updates of the same float32 weights from the same gradients, for each optimizer plain
and with a schedule, clipnorm, clipvalue, global_clipnorm, weight_decay, use_ema (with and
without ema_overwrite_frequency) and loss_scale_factor; configs against Keras's."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pytest
import torch
from optimizer_parity_harness import (
    GRADS,
    NAMES,
    WEIGHTS,
    keras_module,
    max_gap,
    run_keras,
    run_lamina,
)

import lamina
from lamina import optimizers

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

LR = 0.05
VARIANTS: dict[str, Callable] = {
    "plain": lambda m: {},
    "schedule": lambda m: {"learning_rate": m.optimizers.schedules.ExponentialDecay(LR, 2, 0.5)},
    "clipnorm": lambda m: {"clipnorm": 1.0},
    "clipvalue": lambda m: {"clipvalue": 0.5},
    "global_clipnorm": lambda m: {"global_clipnorm": 1.0},
    "weight_decay": lambda m: {"weight_decay": 0.1},
    "use_ema": lambda m: {"use_ema": True, "ema_momentum": 0.9},
    "ema_overwrite": lambda m: {"use_ema": True, "ema_momentum": 0.9, "ema_overwrite_frequency": 2},
    "loss_scale_factor": lambda m: {"loss_scale_factor": 4.0},
}
# Where torch.optim places epsilon elsewhere than Keras (docs/keras_differences.md; pinned by
# test_optimizers.py::test_epsilon_placement_is_the_only_difference) the variants run with a
# tiny epsilon, which leaves the rest of the arithmetic to compare; "plain" keeps the default
# epsilon with the tolerance that placement costs.
TORCH_EPSILON = {"RMSprop": 1e-4, "Adam": 5e-5, "AdamW": 5e-5, "Nadam": 5e-6, "Adagrad": 1e-6}
OWN_ARGS = {
    "SGD": {"momentum": 0.9, "nesterov": True},
    "RMSprop": {"momentum": 0.5, "centered": True},
    "Adam": {"amsgrad": True},
    "AdamW": {},
    "Adadelta": {"rho": 0.9},
    "Adagrad": {"initial_accumulator_value": 0.2},
    "Adamax": {},
    "Nadam": {},
    "Adafactor": {"clip_threshold": 0.5},
    "Ftrl": {
        "l1_regularization_strength": 0.01,
        "l2_regularization_strength": 0.02,
        "l2_shrinkage_regularization_strength": 0.01,
        "beta": 0.1,
    },
    "Lamb": {},
    "Lion": {"beta_1": 0.8},
    "Muon": {"exclude_layers": ["bias"], "ns_steps": 4},
}


def five_steps(name: str) -> Callable[[], None]:
    """Weights after five updates vs Keras in every variant, and the default config."""

    def check() -> None:
        keras = keras_module()
        for variant, extra in VARIANTS.items():
            for tiny_eps in [False, True] if name in TORCH_EPSILON else [False]:
                if name in TORCH_EPSILON and tiny_eps == (variant == "plain"):
                    continue

                def spec(m, extra=extra, tiny_eps=tiny_eps):
                    kwargs = {"learning_rate": LR, **OWN_ARGS[name], **extra(m)}
                    if tiny_eps:
                        kwargs["epsilon"] = 1e-12
                    return getattr(m.optimizers, name)(**kwargs)

                theirs, _ = run_keras(spec)
                ours, _ = run_lamina(spec)
                tol = TORCH_EPSILON.get(name, 2e-6) if variant == "plain" else 2e-6
                gap = max_gap(theirs, ours)
                assert gap <= tol, (name, variant, gap)
        ks = getattr(keras.optimizers, name)().get_config()
        ls = getattr(optimizers, name)().get_config()
        ks["name"] = re.sub(r"_\d+$", "", ks["name"])  # Keras numbers repeated names
        for key, value in ks.items():
            if key == "gradient_accumulation_steps":  # not supported (accepted at None)
                continue
            assert (
                ls[key] == pytest.approx(value, rel=1e-6)
                if isinstance(value, float)
                else (ls[key] == value)
            ), (name, key, ls.get(key), value)

    return check


def schedule_free() -> None:
    """Keras's torch backend reads `momentum.value` after updating it in place (the "old"
    momentum aliases the new one); Lamina uses the old value, as the formula (and Keras on
    JAX/TF) does. Keras's slots (z, v) agree exactly; the weights follow the formula."""

    def spec(m):
        return m.optimizers.ScheduleFreeAdamW(learning_rate=LR, warmup_steps=2, weight_decay=0.1)

    _, kopt = run_keras(spec)
    ours, lopt = run_lamina(spec)
    state = list(lopt.torch_optimizer.state.values())
    for i in range(len(WEIGHTS)):
        np.testing.assert_allclose(
            state[i]["momentum"].numpy(), kopt._momentums[i].numpy(), rtol=1e-5, atol=1e-6
        )
        np.testing.assert_allclose(
            state[i]["velocity"].numpy(), kopt._velocities[i].numpy(), rtol=1e-5, atol=1e-9
        )
    # the weights: NumPy, float64, from the paper's recursion (decay on y, then the rule)
    b1, b2, eps = 0.9, 0.999, 1e-8
    for i, w0 in enumerate(WEIGHTS):
        y, z, v = w0.astype(np.float64), w0.astype(np.float64), np.zeros_like(w0, np.float64)
        for t, grads in enumerate(GRADS, start=1):
            g = grads[i].astype(np.float64)
            lr = LR * min(t / 2, 1.0)
            y = y - y * 0.1 * LR
            v = v + (g * g - v) * (1 - b2)
            z_old, z = z, z - lr * g / (np.sqrt(v / (1 - b2**t)) + eps)
            x_old = (y - (1 - b1) * z_old) / b1
            x = (1 - 1 / t) * x_old + z / t
            y = (1 - b1) * z + b1 * x
        np.testing.assert_allclose(ours[i], y, rtol=1e-4, atol=1e-5)


def loss_scale_optimizer() -> None:
    """Dynamic scaling vs Keras: a step with an Inf gradient is skipped and halves the
    scale; two finite steps in a row double it; iterations count applied steps only."""
    grads = [list(g) for g in GRADS]
    grads[1] = [g.copy() for g in grads[1]]
    grads[1][0][0, 0] = np.inf

    def spec(m):
        inner = m.optimizers.Adam(learning_rate=LR, epsilon=1e-12)
        return m.optimizers.LossScaleOptimizer(inner, initial_scale=8.0, dynamic_growth_steps=2)

    theirs, kopt = run_keras(spec, grads)
    ours, lopt = run_lamina(spec, grads)
    assert max_gap(theirs, ours) <= 2e-6
    assert float(lopt.dynamic_scale) == float(kopt.dynamic_scale.numpy())
    assert int(lopt.step_counter) == int(kopt.step_counter.numpy())
    assert int(lopt.iterations) == int(kopt.iterations.numpy()) == 4
    assert float(lopt.scale_loss(torch.tensor(1.0))) == float(kopt.scale_loss(1.0))
    kc, lc = kopt.get_config(), lopt.get_config()
    kc["name"] = re.sub(r"_\d+$", "", kc["name"])
    assert {k: kc[k] for k in ("name", "initial_scale", "dynamic_growth_steps")} == {
        k: lc[k] for k in ("name", "initial_scale", "dynamic_growth_steps")
    }
    again = optimizers.deserialize(optimizers.serialize(lopt))
    assert isinstance(again.inner_optimizer, optimizers.Adam) and again.initial_scale == 8.0
    with pytest.raises(ValueError, match="dynamic"):
        optimizers.LossScaleOptimizer(optimizers.SGD(), dynamic=False)
    with pytest.raises(ValueError, match="clipnorm"):
        optimizers.LossScaleOptimizer(optimizers.SGD(), clipnorm=1.0)


def _multi(m):
    mapping = m.optimizers.OptimizerMap(
        m.optimizers.SGD(learning_rate=LR, momentum=0.9),
        {"dense/.*": m.optimizers.Adam(learning_rate=LR, epsilon=1e-12, use_ema=True)},
    )
    return m.optimizers.MultiOptimizer(mapping)


def multi_optimizer() -> None:
    """Variables split by path between two optimizers: weights vs Keras, iterations."""
    theirs, kopt = run_keras(_multi)
    ours, lopt = run_lamina(_multi)
    assert max_gap(theirs, ours) <= 2e-6
    assert [type(o).__name__ for o in lopt.optimizers] == [
        type(o).__name__ for o in kopt.optimizers
    ]
    assert int(lopt.iterations) == int(kopt.iterations.numpy()) == 5
    for kinner, linner in zip(kopt.optimizers, lopt.optimizers):
        assert int(linner.iterations) == int(kinner.iterations.numpy())
    with pytest.raises(AttributeError):
        lopt.learning_rate  # noqa: B018
    # state survives a state_dict round trip into a fresh MultiOptimizer
    fresh = _multi(lamina)
    params = [torch.nn.Parameter(torch.tensor(w)) for w in ours]
    for p, n in zip(params, NAMES):
        p.path = n
    fresh.build(params)
    fresh.load_state_dict(lopt.state_dict())
    adam = next(o for o in fresh.optimizers if isinstance(o, optimizers.Adam))
    adam = adam.torch_optimizer.state
    assert len(adam) == 2 and all(int(s["step"]) == 5 for s in adam.values())


def optimizer_map() -> None:
    """Lookups: exact keys first, then one `re.fullmatch` pattern, else the default."""
    results = []
    for m in (keras_module(), lamina):
        mapping = m.optimizers.OptimizerMap(default_optimizer=m.optimizers.RMSprop())
        mapping["encoder/layer_0/dense"] = m.optimizers.Adam()
        mapping["encoder/.*"] = m.optimizers.SGD()
        mapping["decoder"] = m.optimizers.Adam()
        keys = ["decoder", "encoder/layer_0/dense", "encoder/layer_0/attention/query", "decoder/x"]
        results.append(([type(mapping[k]).__name__ for k in keys], len(mapping), sorted(mapping)))
        with pytest.raises(ValueError):
            mapping["decoder"] = m.optimizers.SGD()
        mapping[".*oder/z"] = m.optimizers.SGD()
        with pytest.raises(ValueError):
            mapping["encoder/z"]  # noqa: B018  two patterns match
        with pytest.raises(ValueError):
            mapping["w"] = m.optimizers.LossScaleOptimizer(m.optimizers.SGD())
    assert results[0] == results[1]


def base_optimizer() -> None:
    """The base class's own API vs Keras: iterations, learning_rate (float and schedule),
    config keys, and a subclass's step through `apply`."""
    keras = keras_module()
    kopt = keras.optimizers.SGD(
        learning_rate=keras.optimizers.schedules.InverseTimeDecay(0.1, 1, 1.0)
    )
    lopt = optimizers.SGD(learning_rate=optimizers.schedules.InverseTimeDecay(0.1, 1, 1.0))
    theirs, kopt = run_keras(lambda m: kopt)
    ours, lopt = run_lamina(lambda m: lopt)
    assert max_gap(theirs, ours) <= 1e-6
    assert int(lopt.iterations) == int(kopt.iterations.numpy())
    assert lopt.learning_rate == pytest.approx(float(kopt.learning_rate.numpy()), rel=1e-6)
    assert isinstance(lopt, optimizers.Optimizer)
    # exclude_from_weight_decay: by name pattern and by variable, before build
    for by_list in (False, True):
        found = []
        for m, make in ((keras, lambda w, n: keras.Variable(w.copy(), name=n)), (lamina, None)):
            opt = m.optimizers.AdamW(learning_rate=LR, weight_decay=0.5, epsilon=1e-12)
            if make is not None:
                variables = [make(w, n.split("/")[-1]) for w, n in zip(WEIGHTS, NAMES)]
            else:
                variables = [torch.nn.Parameter(torch.tensor(w.copy())) for w in WEIGHTS]
                for v, n in zip(variables, NAMES):
                    v.path = n
            if by_list:
                opt.exclude_from_weight_decay(var_list=[variables[0]])
            else:
                opt.exclude_from_weight_decay(var_names=["bia"])
            for step in GRADS:
                grads = [m.ops.convert_to_tensor(g) if make else torch.tensor(g) for g in step]
                opt.apply(grads, variables)
            found.append([np.array(v.numpy() if make else v.detach().numpy()) for v in variables])
            if (
                make is None
            ):  # Lamina refuses it once built (Keras's check reads `_built`, never set)
                with pytest.raises(ValueError):
                    opt.exclude_from_weight_decay(var_names=["x"])
        assert max_gap(*found) <= 2e-6
    keys = set(keras.optimizers.Optimizer(learning_rate=0.1).get_config()) - {
        "gradient_accumulation_steps"
    }
    assert keys <= set(optimizers.SGD().get_config())


def serialization(which: str) -> Callable[[], None]:
    """get / serialize / deserialize: the same classes and configs as Keras's."""

    def check() -> None:
        keras = keras_module()
        for name in ["adam", "sgd", "rmsprop", "lion", "ftrl", "adafactor", "muon", "nadam"]:
            k, ours = keras.optimizers.get(name), optimizers.get(name)
            assert type(k).__name__ == type(ours).__name__
            if which == "get":
                assert optimizers.get(type(ours)).__class__ is type(ours)
                continue
            ks, ls = keras.optimizers.serialize(k), optimizers.serialize(ours)
            ks["config"]["name"] = re.sub(r"_\d+$", "", ks["config"]["name"])
            assert ks["class_name"] == ls["class_name"]
            for key in set(ks["config"]) - {"gradient_accumulation_steps", "learning_rate"}:
                assert ls["config"][key] == ks["config"][key], (name, key)
            if which == "deserialize":
                back = optimizers.deserialize(
                    {"class_name": ks["class_name"], "config": ls["config"]}
                )
                assert back.get_config() == ours.get_config()
                with_schedule = getattr(optimizers, ks["class_name"])(
                    learning_rate=optimizers.schedules.CosineDecay(0.1, 10)
                )
                again = optimizers.deserialize(optimizers.serialize(with_schedule))
                assert again.learning_rate == with_schedule.learning_rate

    return check


OPTIMIZERS_PARITY = {
    **{f"optimizers.{name}": five_steps(name) for name in OWN_ARGS},
    "optimizers.ScheduleFreeAdamW": schedule_free,
    "optimizers.LossScaleOptimizer": loss_scale_optimizer,
    "optimizers.MultiOptimizer": multi_optimizer,
    "optimizers.OptimizerMap": optimizer_map,
    "optimizers.Optimizer": base_optimizer,
    "optimizers.get": serialization("get"),
    "optimizers.serialize": serialization("serialize"),
    "optimizers.deserialize": serialization("deserialize"),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS_PARITY))
def test_optimizer_parity(name):
    OPTIMIZERS_PARITY[name]()


@pytest.mark.parametrize("name", ["Adafactor", "Ftrl", "Lamb", "Lion", "Muon", "ScheduleFreeAdamW"])
def test_new_optimizers_train_compiled_and_save_state(name, tmp_path):
    """fit with jit_compile (the eager update after the compiled gradients) equals eager fit,
    and the optimizer state survives the native save format."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 4)).astype("float32"), rng.normal(size=(32, 2)).astype("float32")
    results = []
    for jit in (False, True):
        lamina.utils.set_random_seed(3)
        model = lamina.Sequential(
            [lamina.layers.Input((4,)), lamina.layers.Dense(3), lamina.layers.Dense(2)]
        )
        model.compile(
            optimizer=getattr(optimizers, name)(learning_rate=0.01), loss="mse", jit_compile=jit
        )
        model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
        results.append(model.get_weights())
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    path = tmp_path / "m.lamina"
    model.save(path)
    loaded = lamina.saving.load_model(path)
    before = model.optimizer.state_dict()["torch"]["state"]
    after = loaded.optimizer.state_dict()["torch"]["state"]
    assert sorted(before) == sorted(after)
    for i in before:
        for slot, value in before[i].items():
            torch.testing.assert_close(after[i][slot], value)


@pytest.mark.parametrize("tag", [True, False])
def test_adafactor_factors_keras_layout_of_tagged_conv_kernels(tag):
    """A Conv2D kernel is stored (out, in, kh, kw); tagged (by tag_paths, or through the
    model when the optimizer builds), Adafactor factors the last two axes of Keras's
    (kh, kw, in, out), as Keras does."""
    keras = keras_module()
    rng = np.random.default_rng(4)
    x = rng.normal(size=(8, 6, 6, 2)).astype("float32")
    y = rng.normal(size=(8, 4, 4, 3)).astype("float32")
    kmodel = keras.Sequential([keras.Input((6, 6, 2)), keras.layers.Conv2D(3, 3)])
    kmodel.compile(optimizer=keras.optimizers.Adafactor(learning_rate=0.1), loss="mse")
    lmodel = lamina.Sequential([lamina.layers.Input((6, 6, 2)), lamina.layers.Conv2D(3, 3)])
    lmodel.compile(optimizer=optimizers.Adafactor(learning_rate=0.1), loss="mse")
    lmodel.build((None, 6, 6, 2))
    lmodel.set_weights(kmodel.get_weights())
    if tag:
        optimizers.tag_paths(lmodel)
    kmodel.fit(x, y, batch_size=4, epochs=2, verbose=0, shuffle=False)
    lmodel.fit(x, y, batch_size=4, epochs=2, verbose=0, shuffle=False)
    for a, b in zip(kmodel.get_weights(), lmodel.get_weights()):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


def test_muon_weight_decay_exclusions_match_keras():
    """Muon decays Muon and Adam weights at their own rates, minus exclude_from_weight_decay."""
    keras = keras_module()
    found = []
    for m in (keras, lamina):
        opt = m.optimizers.Muon(learning_rate=LR, weight_decay=0.5, adam_weight_decay=0.3)
        if m is keras:
            variables = [
                keras.Variable(w.copy(), name=n.split("/")[-1]) for w, n in zip(WEIGHTS, NAMES)
            ]
        else:
            variables = [torch.nn.Parameter(torch.tensor(w.copy())) for w in WEIGHTS]
            for v, n in zip(variables, NAMES):
                v.path = n
        opt.exclude_from_weight_decay(var_list=[variables[0]], var_names=["bias"])
        for step in GRADS:
            grads = [
                keras.ops.convert_to_tensor(g) if m is keras else torch.tensor(g) for g in step
            ]
            opt.apply(grads, variables)
        found.append([np.array(v.numpy() if m is keras else v.detach().numpy()) for v in variables])
    assert max_gap(*found) <= 2e-6
    assert not np.allclose(
        found[1][2], run_lamina(lambda m: m.optimizers.Muon(learning_rate=LR))[0][2]
    )


@pytest.mark.parametrize("wrapper", ["LossScaleOptimizer", "MultiOptimizer"])
def test_wrappers_fit_save_and_resume(wrapper, tmp_path):
    """fit (paths found through the model holding the optimizer), the native format keeps
    the state (the loss scale; each inner optimizer's slots), and a loaded model trains on."""
    if wrapper == "LossScaleOptimizer":
        opt = optimizers.LossScaleOptimizer(
            optimizers.Adam(0.01), initial_scale=8.0, dynamic_growth_steps=3
        )
    else:
        opt = optimizers.MultiOptimizer(
            optimizers.OptimizerMap(
                optimizers.SGD(0.1, momentum=0.9), {"d1/.*": optimizers.Adam(0.01)}
            )
        )
    x = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
    model = lamina.Sequential(
        [
            lamina.layers.Input((3,)),
            lamina.layers.Dense(4, name="d1"),
            lamina.layers.Dense(2, name="d2"),
        ]
    )
    model.compile(optimizer=opt, loss="mse")
    model.fit(x, x[:, :2], epochs=2, batch_size=4, verbose=0)
    if wrapper == "LossScaleOptimizer":
        assert float(opt.dynamic_scale) == 32.0  # 8 finite steps: doubled at steps 3 and 6
    else:
        assert [len(g) for g in opt._groups] == [2, 2]  # d1's kernel and bias to Adam
    model.save(tmp_path / "m.lamina")
    loaded = lamina.saving.load_model(tmp_path / "m.lamina")
    assert int(loaded.optimizer.iterations) == 8
    if wrapper == "LossScaleOptimizer":
        assert float(loaded.optimizer.dynamic_scale) == 32.0
    else:
        ours = opt.state_dict()["torch"]
        theirs = loaded.optimizer.state_dict()["torch"]
        for i, slots in ours["state"].items():
            for k, v in slots.items():
                torch.testing.assert_close(theirs["state"][i][k], v)
    loaded.fit(x, x[:, :2], epochs=1, batch_size=4, verbose=0)
    assert int(loaded.optimizer.iterations) == 12
