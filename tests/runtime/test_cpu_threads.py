"""CPU thread count during fit/evaluate/predict: the cgroup quota reader and the cap."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import lamina
from lamina.runtime import cpu_threads as ct


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cgroup_v2_quota_is_the_tightest_along_the_path(tmp_path: Path) -> None:
    _write(tmp_path / "cpu.max", "max 100000\n")
    _write(tmp_path / "a" / "cpu.max", "300000 100000\n")
    _write(tmp_path / "a" / "b" / "cpu.max", "150000 100000\n")
    assert ct.cgroup_cpu_quota(tmp_path, "0::/a/b\n") == pytest.approx(1.5)
    _write(tmp_path / "a" / "cpu.max", "50000 100000\n")
    assert ct.cgroup_cpu_quota(tmp_path, "0::/a/b\n") == pytest.approx(0.5)


def test_cgroup_v2_without_a_limit_is_none(tmp_path: Path) -> None:
    _write(tmp_path / "cpu.max", "max 100000\n")
    assert ct.cgroup_cpu_quota(tmp_path, "0::/\n") is None
    assert ct.cgroup_cpu_quota(tmp_path, "0::/missing/group\n") is None


def test_cgroup_v1_quota_in_the_process_group_or_at_a_container_root(tmp_path: Path) -> None:
    group = tmp_path / "cpu,cpuacct" / "docker" / "x"
    _write(group / "cpu.cfs_quota_us", "200000\n")
    _write(group / "cpu.cfs_period_us", "100000\n")
    text = "4:memory:/docker/x\n3:cpu,cpuacct:/docker/x\n"
    assert ct.cgroup_cpu_quota(tmp_path, text) == pytest.approx(2.0)
    # a container sees its own group mounted at the controller's root
    other = tmp_path / "other"
    _write(other / "cpu" / "cpu.cfs_quota_us", "50000\n")
    _write(other / "cpu" / "cpu.cfs_period_us", "100000\n")
    assert ct.cgroup_cpu_quota(other, "1:cpu:/kubepods/pod1\n") == pytest.approx(0.5)
    _write(other / "cpu" / "cpu.cfs_quota_us", "-1\n")
    assert ct.cgroup_cpu_quota(other, "1:cpu:/kubepods/pod1\n") is None


def test_usable_cpus_rounds_a_quota_up_and_never_exceeds_the_affinity(monkeypatch) -> None:
    affinity = len(ct.os.sched_getaffinity(0))
    monkeypatch.setattr(ct, "cgroup_cpu_quota", lambda *a, **k: 0.5)
    assert ct.usable_cpus() == 1
    monkeypatch.setattr(ct, "cgroup_cpu_quota", lambda *a, **k: 1000.0)
    assert ct.usable_cpus() == affinity
    monkeypatch.setattr(ct, "cgroup_cpu_quota", lambda *a, **k: None)
    assert ct.usable_cpus() == affinity


def test_target_threads_only_lowers_under_auto(monkeypatch) -> None:
    monkeypatch.setattr(ct, "usable_cpus", lambda: 2)
    assert ct.target_threads("auto", 8) == 2
    assert ct.target_threads("auto", 2) is None
    assert ct.target_threads("auto", 1) is None  # never raises the user's setting
    assert ct.target_threads(None, 8) is None
    assert ct.target_threads(3, 8) == 3
    assert ct.target_threads(3, 3) is None


@pytest.mark.parametrize("value", [0, -1, True, "many", 1.5])
def test_set_cpu_threads_rejects_bad_values(value) -> None:
    with pytest.raises(ValueError, match="Expected 'auto', None or an int >= 1"):
        lamina.config.set_cpu_threads(value)
    assert lamina.config.cpu_threads() == "auto"


class _Threads(lamina.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[int] = []

    def on_train_batch_begin(self, batch, logs=None) -> None:
        self.seen.append(torch.get_num_threads())

    def on_test_batch_begin(self, batch, logs=None) -> None:
        self.seen.append(torch.get_num_threads())

    def on_predict_batch_begin(self, batch, logs=None) -> None:
        self.seen.append(torch.get_num_threads())


def _model():
    model = lamina.Sequential([lamina.layers.Dense(4, activation="relu"), lamina.layers.Dense(2)])
    model.compile("sgd", "mse", jit_compile=False)
    return model


@pytest.mark.parametrize(("setting", "expected"), [("auto", 1), (None, 2), (1, 1), (2, 2)], ids=str)
def test_fit_evaluate_predict_run_with_the_setting_and_restore_it(
    monkeypatch, setting, expected
) -> None:
    """A quota of one CPU (faked) caps the pool at 1 under 'auto'; the setting comes back."""
    monkeypatch.setattr(ct, "usable_cpus", lambda: 1)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        lamina.config.set_cpu_threads(setting)
        x = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
        y = np.zeros((32, 2), "float32")
        model, cb = _model(), _Threads()
        model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[cb])
        model.evaluate(x, y, batch_size=16, verbose=0, callbacks=[cb])
        model.predict(x, batch_size=16, verbose=0, callbacks=[cb])
        assert cb.seen == [expected] * 6
        assert torch.get_num_threads() == 2
    finally:
        lamina.config.set_cpu_threads("auto")
        torch.set_num_threads(before)
