"""The harness's fit check can fail: a layer that computes something else when compiled, a
train step that cannot be compiled, and a stale `known_compile_failure` are each caught."""

from __future__ import annotations

import pytest
import torch
from layer_harness import run_layer_test

from lamina.layers import Layer


class _Scale(Layer):
    """x * w; mode='differs' makes the compiled forward differ from the eager one."""

    def __init__(self, mode: str = "same", **kwargs):
        super().__init__(**kwargs)
        self.mode = mode

    def build(self, input_shape):
        self.w = self.add_weight("w", (input_shape[-1],), initializer="ones")

    def call(self, x):
        if torch.compiler.is_compiling():
            if self.mode == "differs":
                return 1.5 * x * self.w
        return x * self.w

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


def _run(mode: str, **kwargs) -> None:
    run_layer_test(
        _Scale,
        {"mode": mode},
        (2, 3),
        (2, 3),
        expected_num_params=3,
        reference=lambda x, w: x * w[0],
        run_gradcheck=False,
        **kwargs,
    )


def test_a_layer_compiled_the_same_as_eager_passes():
    _run("same")


def test_a_compiled_step_that_computes_something_else_fails():
    with pytest.raises(AssertionError, match="Not equal to tolerance"):
        _run("differs")


def _uncompilable(monkeypatch: pytest.MonkeyPatch) -> None:
    """torch.compile gives a function that fails: the engine warns and trains eagerly."""

    def compile_(fn, **kwargs):
        def fails(*args, **kw):
            raise RuntimeError("this step cannot be compiled")

        return fails

    monkeypatch.setattr(torch, "compile", compile_)


def test_a_train_step_that_cannot_be_compiled_fails(monkeypatch):
    _uncompilable(monkeypatch)
    with pytest.raises(AssertionError, match="fell back to eager.*cannot be compiled"):
        _run("same")


def test_a_known_compile_failure_is_an_xfail(monkeypatch):
    _uncompilable(monkeypatch)
    with pytest.raises(pytest.xfail.Exception, match="cannot be compiled"):
        _run("same", known_compile_failure="cannot be compiled")


def test_a_stale_known_compile_failure_is_an_error():
    with pytest.raises(AssertionError, match="remove known_compile_failure"):
        _run("same", known_compile_failure="cannot be compiled")
