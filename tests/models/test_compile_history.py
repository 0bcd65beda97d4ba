"""jit_compile='auto' across runs: the step's signature, and the ledger read before a fit and
written after it (each test has its own Inductor cache directory, so its own ledger)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.models.compile_signature import step_signature
from lamina.runtime import compile_ledger, json_records
from lamina.runtime.compile_ledger import CompileLedger


@pytest.fixture(autouse=True)
def own_cache_dir(tmp_path, monkeypatch):
    """Inductor's cache and the ledger beside it, both in this test's directory."""
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(compile_ledger, "inductor_cache_dir", json_records.inductor_cache_dir)
    return tmp_path


def _model(units: int = 8, lr: float = 0.01, activation="relu") -> lamina.Sequential:
    lamina.utils.set_random_seed(0)
    model = lamina.Sequential(
        [layers.Input((5,)), layers.Dense(units, activation=activation), layers.Dense(3)]
    )
    model.compile(
        optimizer=lamina.optimizers.RMSprop(lr), loss="mse", metrics=["mae"], device="cpu"
    )
    return model


def _batches(n: int = 16) -> list[tuple]:
    return [(torch.zeros(n, 5), torch.zeros(n, 3), None)]


def test_the_same_step_has_the_same_signature():
    assert step_signature(_model(), _batches()) == step_signature(_model(), _batches())


@pytest.mark.parametrize(
    "other",
    [
        lambda: step_signature(_model(units=9), _batches()),
        lambda: step_signature(_model(lr=0.02), _batches()),
        lambda: step_signature(_model(activation="tanh"), _batches()),
        lambda: step_signature(_model(), _batches(n=32)),
    ],
)
def test_a_different_step_has_another_signature(other):
    assert other() != step_signature(_model(), _batches())


def test_object_addresses_do_not_enter_the_signature():
    one = step_signature(_model(activation=lambda x: torch.relu(x)), _batches())
    two = step_signature(_model(activation=lambda x: torch.relu(x)), _batches())
    assert one == two


def test_another_process_computes_the_same_signature():
    code = textwrap.dedent(
        """
        import torch, lamina
        from lamina import layers
        from lamina.models.compile_signature import step_signature
        lamina.utils.set_random_seed(0)
        m = lamina.Sequential([layers.Input((5,)), layers.Dense(8, activation="relu"), layers.Dense(3)])
        m.compile(optimizer=lamina.optimizers.RMSprop(0.01), loss="mse", metrics=["mae"], device="cpu")
        print(step_signature(m, [(torch.zeros(16, 5), torch.zeros(16, 3), None)]))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == step_signature(_model(), _batches())


def _fit(model: lamina.Sequential, epochs: int = 1, n: int = 800) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 5)).astype("float32")
    y = rng.normal(size=(n, 3)).astype("float32")
    model.fit(x, y, batch_size=16, epochs=epochs, verbose=0)


def test_a_pinned_compile_records_its_cost_and_step_time(own_cache_dir):
    model = _model()
    model.compile(optimizer="rmsprop", loss="mse", jit_compile=True, device="cpu")
    _fit(model)
    signature = model._step_fn.history.signature
    entry = CompileLedger().get(signature)
    runner = model._step_fn  # the cost counts building the step (torch.compile imports Dynamo)
    assert runner.build_seconds > 0
    assert entry.compile_seconds == pytest.approx(
        runner.compiled.compile_seconds + runner.build_seconds
    )
    assert entry.compiled_step is not None and 0 < entry.compiled_step < entry.compile_seconds


def test_auto_compiles_at_once_when_a_cheap_compile_was_measured():
    model = _model()
    signature = step_signature(model, _batches())
    CompileLedger().update(signature, compile_seconds=1e-6, compiled_step=1e-9)
    _fit(model)  # 50 steps: the assumed 10 s compile would never pay
    assert model._step_fn.decision == "compiled"
    assert model._step_fn.compiled is not None and not model._step_fn.failed


def test_auto_stays_eager_when_the_compiled_step_measured_slower():
    model = _model()
    signature = step_signature(model, _batches())
    CompileLedger().update(signature, compile_seconds=1e-6, compiled_step=10.0)
    _fit(model)
    assert model._step_fn.decision == "eager-measured" and model._step_fn.compiled is None


def test_eager_runs_add_up_what_compiling_would_have_saved():
    model = _model()
    _fit(model)
    signature = model._step_fn.history.signature
    first = CompileLedger().get(signature).lost_seconds
    assert model._step_fn.decision == "auto"
    assert first == pytest.approx(model._step_fn.history.recorded_savings) and first > 0
    again = _model()
    _fit(again)
    added = again._step_fn.history.recorded_savings
    assert added > 0
    assert CompileLedger().get(signature).lost_seconds == pytest.approx(first + added)


def test_a_pinned_eager_run_never_touches_the_ledger(own_cache_dir):
    model = _model()
    model.compile(optimizer="rmsprop", loss="mse", jit_compile=False, device="cpu")
    _fit(model)
    assert model._step_fn.history.signature is None
    assert not (own_cache_dir / "lamina-compile-ledger.json").exists()
