"""Conv2D with a fused ReLU (oneDNN post-op) against F.conv2d + relu, values and gradients."""

import types

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lamina import layers
from lamina.runtime import conv_relu

needs_onednn = pytest.mark.skipif(
    not torch.backends.mkldnn.is_available(), reason="oneDNN is not in this PyTorch build"
)


@needs_onednn
@pytest.mark.parametrize(
    "cin,cout,stride,padding,dilation,groups,bias",
    [
        (1, 8, (1, 1), (0, 0), (1, 1), 1, True),
        (6, 8, (1, 1), (1, 1), (1, 1), 1, True),
        (6, 8, (2, 2), (0, 0), (1, 1), 1, False),
        (6, 8, (1, 2), (2, 1), (2, 1), 1, True),
        (6, 8, (1, 1), (1, 1), (1, 1), 2, True),
    ],
)
def test_conv2d_relu_matches_conv2d_then_relu(cin, cout, stride, padding, dilation, groups, bias):
    torch.manual_seed(0)
    x = torch.randn(3, 11, 10, cin).permute(0, 3, 1, 2).requires_grad_()  # NHWC memory
    w = torch.randn(cout, cin // groups, 3, 3).contiguous(memory_format=torch.channels_last)
    w.requires_grad_()
    b = torch.randn(cout, requires_grad=True) if bias else None
    got = conv_relu.conv2d_relu(x, w, b, stride, padding, dilation, groups)
    want = torch.relu(F.conv2d(x, w, b, stride, padding, dilation, groups))
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    assert (want == 0).any() and (want > 0).any()
    grad = torch.randn_like(want)
    inputs = [x, w] + ([b] if bias else [])
    g_got = torch.autograd.grad(got, inputs, grad)
    g_want = torch.autograd.grad(want, inputs, grad)
    for a, e in zip(g_got, g_want):
        torch.testing.assert_close(a, e, rtol=1e-5, atol=1e-4)


@needs_onednn
def test_conv2d_relu_without_grad_and_for_frozen_input():
    x = torch.randn(2, 3, 9, 9)
    w = torch.randn(4, 3, 3, 3, requires_grad=True)
    with torch.no_grad():
        out = conv_relu.conv2d_relu(x, w, None, (1, 1), (0, 0), (1, 1), 1)
    assert not out.requires_grad
    torch.testing.assert_close(out, torch.relu(F.conv2d(x, w)))
    out = conv_relu.conv2d_relu(x, w, None, (1, 1), (0, 0), (1, 1), 1)
    (gw,) = torch.autograd.grad(out.sum(), [w])  # x needs no gradient: only the kernel's
    (ew,) = torch.autograd.grad(torch.relu(F.conv2d(x, w)).sum(), [w])
    torch.testing.assert_close(gw, ew, rtol=1e-5, atol=1e-4)


@needs_onednn
def test_conv2d_layer_uses_the_fused_op_only_for_relu(monkeypatch):
    calls = []
    real = conv_relu.conv2d_relu
    monkeypatch.setattr(conv_relu, "conv2d_relu", lambda *a: calls.append(1) or real(*a))
    x = torch.as_tensor(np.random.default_rng(0).normal(size=(2, 9, 9, 3)), dtype=torch.float32)
    fused = layers.Conv2D(5, 3, padding="same", activation="relu")
    plain = layers.Conv2D(5, 3, padding="same")
    plain(x)
    out = fused(x)
    assert calls == [1]
    plain.set_weights(fused.get_weights())
    torch.testing.assert_close(out, torch.relu(plain(x)), rtol=1e-5, atol=1e-5)
    assert calls == [1]  # activation=None takes F.conv2d
    assert out.is_contiguous()  # NHWC memory, as the unfused path
    layers.Conv2D(5, 3, activation="tanh")(x)
    assert calls == [1]


def test_without_the_private_onednn_op_conv2d_relu_is_the_unfused_pair(monkeypatch):
    """A torch build without `torch.ops.mkldnn._convolution_pointwise`: the layer takes
    F.conv2d + relu, and `conv2d_relu` itself computes the same, gradients included."""
    monkeypatch.setattr(torch.ops, "mkldnn", types.SimpleNamespace())
    torch.manual_seed(0)
    x = torch.randn(2, 3, 9, 9, requires_grad=True)
    w = torch.randn(4, 3, 3, 3, requires_grad=True)
    b = torch.randn(4, requires_grad=True)
    assert not conv_relu.fused_relu_available(x, w)
    got = conv_relu.conv2d_relu(x, w, b, (1, 1), (1, 1), (1, 1), 1)
    want = torch.relu(F.conv2d(x, w, b, 1, 1))
    torch.testing.assert_close(got, want)
    g = torch.randn_like(want)
    for a, e in zip(
        torch.autograd.grad(got, [x, w, b], g), torch.autograd.grad(want, [x, w, b], g)
    ):
        torch.testing.assert_close(a, e)
    images = torch.as_tensor(
        np.random.default_rng(0).normal(size=(2, 9, 9, 3)), dtype=torch.float32
    )
    fused = layers.Conv2D(5, 3, padding="same", activation="relu")
    plain = layers.Conv2D(5, 3, padding="same")
    out = fused(images)
    plain(images)
    plain.set_weights(fused.get_weights())
    torch.testing.assert_close(out, torch.relu(plain(images)))
