"""lamina.ops.nn where it deliberately differs from Keras's torch backend, checked against
the definition, plus gradients through the nn ops (parity itself: test_nn_parity.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lamina import ops

R = np.random.default_rng(5)


def test_same_average_pool_divides_by_real_cells_only() -> None:
    x = R.uniform(-1, 1, (1, 6, 6, 1)).astype("float32")
    got = ops.average_pool(x, 2, strides=2, padding="valid").numpy()
    assert got.shape == (1, 3, 3, 1)
    # 5x5 input, pool 2 stride 2, 'same': one padded row/column at the end, excluded.
    y = x[:, :5, :5, :]
    got = ops.average_pool(y, 2, strides=2, padding="same").numpy()[0, :, :, 0]
    expected = np.array(
        [[y[0, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2, 0].mean() for j in range(3)] for i in range(3)]
    )
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_layer_normalization_over_a_middle_axis() -> None:
    x = R.normal(size=(2, 3, 4)).astype("float32")
    gamma = R.normal(size=(3,)).astype("float32")
    got = ops.layer_normalization(x, gamma, None, axis=1, epsilon=1e-3).numpy()
    mean = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)
    expected = (x - mean) / np.sqrt(var + 1e-3) * gamma.reshape(1, 3, 1)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    rms = ops.rms_normalization(x, gamma, axis=1, epsilon=1e-3).numpy()
    expected = x / np.sqrt((x**2).mean(axis=1, keepdims=True) + 1e-3) * gamma.reshape(1, 3, 1)
    np.testing.assert_allclose(rms, expected, rtol=1e-5, atol=1e-5)


def test_attention_logits_soft_cap_squashes_the_logits() -> None:
    q, k, v = (torch.tensor(R.normal(size=(1, 3, 2, 4)), dtype=torch.float32) for _ in range(3))
    cap = 0.5
    got = ops.dot_product_attention(q, k, v, attn_logits_soft_cap=cap, is_causal=True)
    logits = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(4)
    logits = cap * torch.tanh(logits / cap)
    logits = logits.masked_fill(~torch.ones(3, 3, dtype=torch.bool).tril(), float("-inf"))
    expected = torch.einsum("bhqk,bkhd->bqhd", torch.softmax(logits, dim=-1), v)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    plain = ops.dot_product_attention(q, k, v, is_causal=True)
    assert not torch.allclose(got, plain)


def test_fold_and_unfold_take_numpy_arrays() -> None:
    x = R.normal(size=(1, 2, 4, 4)).astype("float32")
    cols = ops.unfold(x, 2, stride=2)
    assert tuple(cols.shape) == (1, 8, 4)
    np.testing.assert_allclose(ops.fold(cols.numpy(), (4, 4), 2, stride=2).numpy(), x)


def test_nn_ops_are_differentiable() -> None:
    def t(*shape: int) -> torch.Tensor:
        return torch.tensor(R.normal(size=shape), dtype=torch.float64, requires_grad=True)

    x, kernel = t(1, 5, 5, 2), t(3, 3, 2, 3)
    checks = [
        (lambda a, w: ops.conv(a, w, strides=2, padding="same"), (x, kernel)),
        (lambda a, w: ops.conv_transpose(a, w, strides=2, padding="same"), (x, t(3, 3, 3, 2))),
        (lambda a: ops.average_pool(a, 2, strides=2, padding="same"), (x,)),
        (lambda a: ops.max_pool(a, 3, strides=2, padding="same"), (x,)),
        (lambda a: ops.sparsemax(a, axis=-1), (t(3, 5),)),
        (lambda a: ops.softmax(a, axis=(0, 1)), (t(2, 3, 2),)),
    ]
    for fn, inputs in checks:
        assert torch.autograd.gradcheck(fn, inputs, fast_mode=True)

    # Keras computes these in float32 (even for float64 inputs): a looser check in float32.
    def f(*shape: int) -> torch.Tensor:
        return torch.tensor(R.normal(size=shape), dtype=torch.float32, requires_grad=True)

    loose = [
        (lambda a: ops.layer_normalization(a, axis=(1, 2)), (f(1, 3, 3, 2),)),
        (lambda a: ops.rms_normalization(a, axis=1), (f(2, 3, 2),)),
        (
            lambda q, k, v: ops.dot_product_attention(q, k, v),
            (f(1, 3, 2, 4), f(1, 4, 2, 4), f(1, 4, 2, 4)),
        ),
    ]
    for fn, inputs in loose:
        with pytest.warns(UserWarning, match="double precision"):
            assert torch.autograd.gradcheck(
                fn, inputs, eps=1e-2, atol=2e-2, rtol=2e-2, fast_mode=True
            )
    logits = t(2, 6, 4)
    loss = ops.ctc_loss(
        torch.tensor([[1, 2], [3, 3]]), logits, torch.tensor([2, 2]), torch.tensor([6, 5])
    )
    loss.sum().backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all()
