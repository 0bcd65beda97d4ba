"""Dropout family, GaussianNoise/GaussianDropout and ActivityRegularization."""

import numpy as np
import pytest
import torch
from layer_harness import run_layer_test

from lamina.layers import (
    ActivityRegularization,
    Dropout,
    GaussianDropout,
    GaussianNoise,
    SpatialDropout1D,
    SpatialDropout2D,
)


def identity(x, w):
    return x


@pytest.mark.parametrize(
    "cls,kwargs,shape",
    [
        (Dropout, {"rate": 0.5}, (2, 3, 4)),
        (Dropout, {"rate": 0.3, "noise_shape": (None, 1, 4), "seed": 3}, (2, 3, 4)),
        (SpatialDropout2D, {"rate": 0.5}, (2, 3, 3, 4)),
        (SpatialDropout1D, {"rate": 0.5}, (2, 3, 4)),
        (GaussianNoise, {"stddev": 0.1}, (2, 5)),
        (GaussianDropout, {"rate": 0.2}, (2, 5)),
    ],
)
def test_noise_layers_are_identity_in_inference(cls, kwargs, shape):
    run_layer_test(
        cls,
        kwargs,
        shape,
        shape,
        expected_num_params=0,
        reference=identity,
        compiled_fit="noise_shape" not in kwargs,
    )


def test_dropout_training_scales_kept_units_by_inverse_keep_probability():
    torch.manual_seed(0)
    rate = 0.25
    layer = Dropout(rate)
    x = torch.rand(200, 50) + 0.5
    out = layer(x, training=True)
    kept = out != 0
    torch.testing.assert_close(out[kept], x[kept] / (1 - rate))
    assert abs(1 - kept.float().mean().item() - rate) < 0.02  # 10,000 draws
    torch.testing.assert_close(layer(x, training=False), x)
    assert layer(x, training=False) is x
    assert Dropout(0.0)(x, training=True) is x


def test_dropout_follows_module_mode_when_training_not_given():
    layer = Dropout(0.5)
    x = torch.ones(100, 10)
    layer.eval()
    assert torch.equal(layer(x), x)
    layer.train()
    assert (layer(x) == 0).any()


def test_dropout_noise_shape_shares_decisions_and_seed_reproduces():
    x = torch.ones(4, 6, 5)
    out = Dropout(0.5, noise_shape=(None, 1, 5), seed=7)(x, training=True)
    assert torch.equal(out, out[:, :1, :].expand_as(out))  # same decision along axis 1
    assert set(out.unique().tolist()) <= {0.0, 2.0}
    again = Dropout(0.5, noise_shape=(None, 1, 5), seed=7)(x, training=True)
    assert torch.equal(out, again)


def test_spatial_dropout_drops_whole_channels():
    x = torch.ones(3, 4, 4, 8)
    out = SpatialDropout2D(0.5, seed=1)(x, training=True)
    per_channel = out.amax(dim=(1, 2))
    assert torch.equal(out, per_channel[:, None, None, :].expand_as(out))
    assert set(per_channel.unique().tolist()) == {0.0, 2.0}
    out1 = SpatialDropout1D(0.5, seed=1)(torch.ones(3, 5, 8), training=True)
    assert torch.equal(out1, out1[:, :1].expand_as(out1))


def test_gaussian_noise_statistics_in_training():
    x = torch.zeros(100, 100)
    noise = GaussianNoise(0.3, seed=0)(x, training=True)
    assert abs(noise.mean().item()) < 0.01 and abs(noise.std().item() - 0.3) < 0.01
    factor = GaussianDropout(0.2, seed=0)(torch.ones(100, 100), training=True)
    assert abs(factor.mean().item() - 1) < 0.01
    assert abs(factor.std().item() - np.sqrt(0.2 / 0.8)) < 0.01


def test_activity_regularization_loss_value():
    layer = ActivityRegularization(l1=0.1, l2=0.01)
    x = torch.tensor([[1.0, -2.0], [3.0, 0.5]])
    out = layer(x)
    assert out is x
    (loss,) = layer.losses
    expected = (0.1 * (1 + 2 + 3 + 0.5) + 0.01 * (1 + 4 + 9 + 0.25)) / 2  # per sample
    assert loss.item() == pytest.approx(expected)
    run_layer_test(
        ActivityRegularization,
        {"l1": 0.1},
        (2, 3),
        (2, 3),
        expected_num_params=0,
        reference=identity,
    )


@pytest.mark.parametrize("rate", [1.5, 1.0, -0.1, "0.5"])
def test_dropout_rate_validation(rate):
    with pytest.raises(
        ValueError,
        match=rf"Layer 'drop' \(Dropout\) expected a rate .* in \[0, 1\), received: rate={rate!r}",
    ):
        Dropout(rate, name="drop")


def test_other_argument_errors():
    with pytest.raises(ValueError, match=r"received: stddev=-1"):
        GaussianNoise(-1)
    with pytest.raises(ValueError, match=r"received: rate=1.0"):
        GaussianDropout(1.0)
    with pytest.raises(ValueError, match=r"noise_shape of rank 2"):
        Dropout(0.5, noise_shape=(None, 1, 1))(torch.ones(2, 3), training=True)
    with pytest.raises(ValueError, match=r"received: l1=-1"):
        ActivityRegularization(l1=-1)


def test_dropout_gradient_is_the_scaled_mask_and_rate_is_unbiased():
    torch.manual_seed(1)
    rate = 0.3
    x = torch.ones(400_000, requires_grad=True)
    out = Dropout(rate)(x, training=True)
    out.sum().backward()
    torch.testing.assert_close(x.grad, out.detach())  # d(out)/dx is the scaled keep mask
    dropped = (out == 0).float().mean().item()
    assert abs(dropped - rate) < 0.003  # 5 standard errors of 400,000 draws
    assert out.mean().item() == pytest.approx(1.0, abs=0.005)  # E[out] = x


@pytest.mark.parametrize("rate,bits", [(0.25, 8), (0.5, 8), (0.75, 8), (0.1, 32), (0.3, 32)])
def test_dropout_mask_uses_the_fewest_exact_bits_and_drops_rate(rate, bits):
    from lamina.layers.regularization import keep_bits, uniform_keep

    assert keep_bits(rate) == bits
    assert keep_bits(3 / 1024) == 16
    g = torch.Generator().manual_seed(0)
    keep = uniform_keep((600, 1000), rate, torch.device("cpu"), g)
    assert keep.dtype == torch.bool and keep.shape == (600, 1000)
    sigma = (rate * (1 - rate) / keep.numel()) ** 0.5
    assert abs((1 - keep.float().mean().item()) - rate) < 5 * sigma
    # neighbouring units (bytes of one 64-bit draw) are independent: P(both dropped) = rate**2
    flat = keep.flatten()
    both = (~flat[:-1] & ~flat[1:]).float().mean().item()
    assert abs(both - rate**2) < 0.005


def test_dropout_random_bytes_are_uniform():
    """Every byte value of the 64-bit draws is equally likely (chi-square, 255 dof)."""
    from lamina.layers.regularization import uniform_keep

    g = torch.Generator().manual_seed(5)
    counts = torch.zeros(256)
    for level in range(256):  # P(keep at rate level/256) pins the cumulative byte distribution
        if level in (0, 64, 128, 192):
            keep = uniform_keep((200_000,), level / 256, torch.device("cpu"), g)
            counts[level] = keep.float().mean()
    assert counts[0] == 1.0
    for level in (64, 128, 192):
        expected = 1 - level / 256
        assert abs(counts[level].item() - expected) < 5 * (expected * (1 - expected) / 2e5) ** 0.5
    words = torch.empty(100_000, dtype=torch.int64).random_(-(2**63), None, generator=g)
    hist = torch.bincount(words.view(torch.uint8).long(), minlength=256).double()
    chi2 = ((hist - hist.mean()) ** 2 / hist.mean()).sum().item()
    assert chi2 < 255 + 6 * (2 * 255) ** 0.5  # mean 255, sd 22.6
    assert 0.49 < (words < 0).double().mean().item() < 0.51  # the sign bit is drawn too


def test_seeded_dropout_repeats_and_differs_by_seed():
    x = torch.ones(64, 64)
    a = Dropout(0.25, seed=7)(x, training=True)
    b = Dropout(0.25, seed=7)(x, training=True)
    c = Dropout(0.25, seed=8)(x, training=True)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.unique().tolist() == pytest.approx([0.0, 1 / 0.75])
