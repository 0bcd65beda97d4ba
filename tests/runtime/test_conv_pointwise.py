"""oneDNN's convolution with fused activation and add (runtime/conv_pointwise.py) against
F.conv2d followed by the same ops; prepacked weights; the weights' version key."""

import pytest
import torch
import torch.nn.functional as F

from lamina.runtime import conv_pointwise

needs_onednn = pytest.mark.skipif(
    not torch.backends.mkldnn.is_available(), reason="oneDNN is not in this PyTorch build"
)


def _case(groups: int, stride: int, padding: int, bias: bool):
    torch.manual_seed(0)
    x = torch.randn(3, 8, 9, 10).contiguous(memory_format=torch.channels_last)
    w = torch.randn(8, 8 // groups, 3, 3).contiguous(memory_format=torch.channels_last) * 0.3
    b = torch.randn(8) if bias else None
    ref = F.conv2d(x, w, b, stride, padding, 1, groups)
    return x, w, b, ref


@needs_onednn
@pytest.mark.parametrize("activation", sorted(conv_pointwise.UNARY))
@pytest.mark.parametrize("groups,stride,padding,bias", [(1, 1, 1, True), (8, 2, 0, False)])
@pytest.mark.parametrize("with_add", [False, True])
def test_fused_equals_separate_ops(activation, groups, stride, padding, bias, with_add):
    x, w, b, ref = _case(groups, stride, padding, bias)
    other = torch.randn_like(ref).contiguous(memory_format=torch.channels_last)
    fn = conv_pointwise.UNARY[activation][2]
    expected = fn(ref + other) if with_add else fn(ref)
    args = ((stride, stride), (padding, padding), (1, 1), groups)
    with torch.inference_mode():
        assert conv_pointwise.fused_available(x, w)
        got = conv_pointwise.conv_post_ops(x, w, b, *args, activation, other if with_add else None)
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
        packed = conv_pointwise.prepack(w, args[1], args[0], args[2], groups, x.shape)
        again = conv_pointwise.conv_post_ops(
            x, packed, b, *args, activation, other if with_add else None, plain_weight=w
        )
        torch.testing.assert_close(again, expected, rtol=1e-5, atol=1e-5)
        x2 = torch.randn(5, 8, 7, 7).contiguous(memory_format=torch.channels_last)
        if not with_add:  # a packed weight serves other input sizes too
            torch.testing.assert_close(
                conv_pointwise.conv_post_ops(x2, packed, b, *args, activation, plain_weight=w),
                fn(F.conv2d(x2, w, b, stride, padding, 1, groups)),
                rtol=1e-5,
                atol=1e-5,
            )


def test_fallback_without_onednn(monkeypatch):
    monkeypatch.setattr(conv_pointwise, "_op", lambda: None)
    x, w, b, ref = _case(1, 1, 1, True)
    other = torch.randn_like(ref)
    assert not conv_pointwise.fused_available(x, w)
    got = conv_pointwise.conv_post_ops(x, w, b, (1, 1), (1, 1), (1, 1), 1, "relu6", other)
    torch.testing.assert_close(got, F.relu6(ref + other))


def test_version_key_moves_with_every_write():
    a, b = torch.zeros(4), torch.ones(3)
    key = conv_pointwise.version_key([a, b])
    assert conv_pointwise.version_key([a, b]) == key
    with torch.no_grad():
        a.add_(1)
    assert conv_pointwise.version_key([a, b]) != key
    key = conv_pointwise.version_key([a, b])
    with torch.inference_mode():
        b.mul_(2)
    assert conv_pointwise.version_key([a, b]) != key
    assert conv_pointwise.version_key([a, torch.ones(3)]) != conv_pointwise.version_key([a, b])


def test_version_key_refuses_a_window_into_a_larger_buffer():
    """Weights made views of a flat buffer (FlatRMSprop): writes to the buffer do not move
    the weight's own counter, so no key can be trusted."""
    flat = torch.zeros(10)
    p = torch.nn.Parameter(torch.zeros(4))
    with torch.no_grad():
        p.data = flat[:4].view(4)
    assert conv_pointwise.version_key([p]) is None
    assert conv_pointwise.version_key([flat[:4]]) is None
