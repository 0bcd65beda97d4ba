"""The default steps' logs are lazy: a metric's result is computed (and synced to the
host) only when someone reads it, so `fit` pays no per-step result kernels or syncs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.metrics import Mean, SparseCategoricalAccuracy
from lamina.models.logs import MetricLogs, as_floats

RNG = np.random.default_rng(3)
X = RNG.normal(size=(64, 4)).astype("float32")
Y = RNG.integers(0, 3, 64)


def _model(jit=False):
    lamina.utils.set_random_seed(0)
    model = lamina.Sequential([layers.Input((4,)), layers.Dense(3, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", ["accuracy"], jit_compile=jit)
    return model


@pytest.fixture
def result_calls(monkeypatch):
    calls = []
    originals = {cls: cls.result for cls in (Mean, SparseCategoricalAccuracy)}
    for cls, original in originals.items():
        if cls is not Mean and original is originals[Mean]:
            continue  # inherited: counted through Mean

        def counting(self, _original=original):
            calls.append(self.name)
            return _original(self)

        monkeypatch.setattr(cls, "result", counting)
    return calls


def test_train_step_logs_are_read_only_when_looked_at(result_calls):
    model = _model()
    model.fit(X, Y, batch_size=64, epochs=1, verbose=0)
    result_calls.clear()
    logs = model.train_step((torch.from_numpy(X), torch.from_numpy(Y)))
    assert isinstance(logs, MetricLogs) and result_calls == []
    assert list(logs) == ["loss", "accuracy"] and result_calls == []
    loss = float(logs["loss"])
    assert result_calls == ["loss", "accuracy"]  # all read once, then kept
    assert loss == pytest.approx(float(model.metrics[0].result()))
    logs["custom"] = torch.tensor(2.0)  # as Keras's compute_metrics example adds one
    assert not logs.metrics_only
    assert as_floats(logs) == {
        "loss": pytest.approx(loss),
        "accuracy": pytest.approx(float(model.metrics[1].result())),
        "custom": 2.0,
    }


@pytest.mark.parametrize("jit", [False, True])
def test_fit_reads_metric_results_only_at_epoch_ends(result_calls, jit):
    model = _model(jit)
    model.fit(X, Y, batch_size=8, epochs=3, verbose=0)  # 8 steps an epoch
    # each epoch's logs, then on_train_end's: never per step
    assert sorted(result_calls) == sorted(["loss", "accuracy"] * 4)
