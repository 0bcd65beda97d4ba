"""lamina.runtime.compiler: each private Dynamo/Inductor/torch.nn name has a working fallback.

Each test removes the private name (or the lookup of it) and checks that the public path
still gives the same behaviour.
"""

from __future__ import annotations

import types

import numpy as np
import pytest
import torch

import lamina
from lamina import config, layers, optimizers
from lamina.models import compiled_step, direct_call, step_runner
from lamina.runtime import compiler


def test_allow_recompiles_raises_dynamo_limit_and_never_lowers_it() -> None:
    import torch._dynamo

    config = torch._dynamo.config
    before = config.recompile_limit
    try:
        assert compiler.allow_recompiles(before + 3) == "recompile_limit"
        assert config.recompile_limit == before + 3
        compiler.allow_recompiles(1)
        assert config.recompile_limit == before + 3
    finally:
        config.recompile_limit = before


def test_allow_recompiles_uses_the_older_name_or_does_nothing(monkeypatch) -> None:
    import torch._dynamo

    old_torch = types.SimpleNamespace(cache_size_limit=8)  # torch <= 2.5 spelled it so
    monkeypatch.setattr(torch._dynamo, "config", old_torch)
    assert compiler.allow_recompiles(64) == "cache_size_limit"
    assert old_torch.cache_size_limit == 64
    monkeypatch.setattr(torch._dynamo, "config", types.SimpleNamespace())
    assert compiler.allow_recompiles(64) is None  # no such setting: nothing to raise


def test_is_torch_convolution_without_the_private_base(monkeypatch) -> None:
    convs = [torch.nn.Conv1d(2, 3, 3), torch.nn.Conv2d(2, 3, 3), torch.nn.ConvTranspose2d(2, 3, 3)]
    others = [torch.nn.Linear(2, 3), torch.nn.BatchNorm2d(3), layers.Conv2D(3, 3)]
    for module in convs:
        assert compiler.is_torch_convolution(module)
    monkeypatch.delattr(torch.nn.modules.conv, "_ConvNd")
    for module in convs:
        assert compiler.is_torch_convolution(module)
    for module in others:
        assert not compiler.is_torch_convolution(module)


def test_has_convolutions_sees_lamina_and_torch_convolutions() -> None:
    dense = lamina.Sequential([layers.Dense(2, input_shape=(3,))])
    conv = lamina.Sequential([layers.Conv2D(2, 3, input_shape=(5, 5, 1))])
    assert not step_runner.has_convolutions(dense)
    assert step_runner.has_convolutions(conv)
    assert step_runner.has_convolutions(torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3)))


def _train(jit: bool) -> tuple[lamina.Sequential, dict]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 5)).astype("float32")
    y = rng.integers(0, 3, size=64)
    lamina.utils.set_random_seed(0)
    model = lamina.Sequential(
        [
            layers.Dense(8, activation="relu", input_shape=(5,)),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=optimizers.Adam(0.01),
        loss="sparse_categorical_crossentropy",
        jit_compile=jit,
        device="cpu",
    )
    history = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    return model, history.history


def test_compiled_fit_without_inductor_compile_fx_keeps_dynamo_and_matches_eager(
    monkeypatch,
) -> None:
    """Without `torch._inductor.compile_fx.compile_fx` the step compiles through the public
    `torch.compile(backend='inductor')`: same numbers, and no direct graph calls."""
    monkeypatch.setattr(compiler, "_inductor_compile_fx", lambda: None)
    monkeypatch.setattr(config, "_STEP_LIBRARY", False)  # a saved step needs Inductor too
    direct = []
    monkeypatch.setattr(direct_call.DirectCall, "__call__", lambda self, *a: direct.append(1))
    eager_model, eager = _train(False)
    jit_model, jit = _train(True)
    np.testing.assert_allclose(jit["loss"], eager["loss"], rtol=2e-5, atol=2e-6)
    for a, b in zip(jit_model.get_weights(), eager_model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)
    step = jit_model._step_fn.compiled
    assert isinstance(step, compiled_step.CompiledTrainStep)  # it did compile
    assert step.capture.calls == 1 and step.capture.graph_fn is None
    assert direct == []


def test_compile_graph_returns_a_direct_function_when_inductor_has_one() -> None:
    seen = {}

    def backend(gm, example_inputs):
        fn, seen["direct"] = compiler.compile_graph(gm, example_inputs, None)
        return fn

    f = torch.compile(lambda a: (a * 2).sin(), backend=backend, dynamic=False)
    x = torch.randn(4)
    torch.testing.assert_close(f(x), (x * 2).sin())
    assert seen["direct"] is True


@pytest.mark.parametrize("with_compile_fx", [True, False])
def test_compile_graph_computes_the_same_either_way(monkeypatch, with_compile_fx) -> None:
    if not with_compile_fx:
        monkeypatch.setattr(compiler, "_inductor_compile_fx", lambda: None)

    def backend(gm, example_inputs):
        return compiler.compile_graph(gm, example_inputs, None)[0]

    f = torch.compile(lambda a, b: torch.relu(a @ b) + 1, backend=backend, dynamic=False)
    a, b = torch.randn(3, 4), torch.randn(4, 2)
    torch.testing.assert_close(f(a, b), torch.relu(a @ b) + 1)


def test_each_model_compiles_its_own_step_past_dynamos_recompile_limit(monkeypatch) -> None:
    """Every model's step runs the same method; with a limit of 2 recompiles per code object,
    a third model would run uncompiled unless each step has its own code object."""
    import torch._dynamo

    monkeypatch.setattr(compiled_step, "allow_recompiles", lambda limit: None)
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    y = np.random.default_rng(1).normal(size=(32, 2)).astype("float32")
    with torch._dynamo.config.patch(recompile_limit=2):
        for units in (3, 4, 5):
            model = lamina.Sequential([layers.Input((4,)), layers.Dense(units), layers.Dense(2)])
            model.compile(optimizers.SGD(0.1), "mse", jit_compile=True, device="cpu")
            model.fit(x, y, batch_size=8, epochs=1, verbose=0)
            step = model._step_fn.compiled
            assert not model._step_fn.failed and step.capture.calls == 1, units


def test_own_code_keeps_the_method_working_on_its_instance() -> None:
    class Counter:
        def __init__(self) -> None:
            self.n = 0

        def add(self, k: int = 1) -> int:
            """Add k."""
            self.n += k
            return self.n

    c = Counter()
    add = compiler.own_code(c.add)
    assert add.__func__.__code__ is not Counter.add.__code__
    assert add(2) == 2 and add() == 3 and c.n == 3
    assert add.__doc__ == "Add k." and add.__qualname__.endswith("Counter.add")
