"""lamina.runtime.foreach: torch's multi-tensor kernels and the per-tensor fallbacks used
when a torch lacks them give the same values as plain per-tensor torch ops."""

from __future__ import annotations

import pytest
import torch

from lamina.runtime import foreach

KERNELS = ["_norm", "_mul_", "_clamp_min_", "_clamp_max_", "_reciprocal_", "_copy_", "_add_"]


@pytest.fixture(params=["torch kernels", "fallback"])
def mode(request, monkeypatch):
    if request.param == "fallback":
        for name in KERNELS:
            monkeypatch.setattr(foreach, name, None)
    else:
        assert all(getattr(foreach, name) is not None for name in KERNELS)
    return request.param


def _tensors():
    gen = torch.Generator().manual_seed(0)
    return [torch.randn(3, 4, generator=gen), torch.randn(5, generator=gen) * 10]


def test_norms(mode):
    ts = _tensors()
    for got, t in zip(foreach.norms(ts), ts):
        torch.testing.assert_close(got, torch.linalg.vector_norm(t))


def test_mul_by_number_tensor_and_list(mode):
    ts, ref = _tensors(), _tensors()
    foreach.mul_(ts, 0.5)
    foreach.mul_(ts, torch.tensor(3.0))
    foreach.mul_(ts, [torch.tensor(2.0), torch.tensor(-1.0)])
    for got, r, k in zip(ts, ref, (2.0, -1.0)):
        torch.testing.assert_close(got, r * 0.5 * 3.0 * k)


def test_clamp_and_reciprocal(mode):
    ts, ref = _tensors(), _tensors()
    foreach.clamp_(ts, -0.5, 0.7)
    for got, r in zip(ts, ref):
        torch.testing.assert_close(got, r.clamp(-0.5, 0.7))
    low = _tensors()
    foreach.clamp_(low, low=0.25)
    foreach.reciprocal_(low)
    for got, r in zip(low, ref):
        torch.testing.assert_close(got, 1 / r.clamp_min(0.25))


def test_copy_and_add(mode):
    targets, sources = [torch.zeros(3, 4), torch.zeros(5)], _tensors()
    foreach.copy_(targets, sources)
    foreach.add_(targets, 1.5)
    for got, s in zip(targets, sources):
        torch.testing.assert_close(got, s + 1.5)
