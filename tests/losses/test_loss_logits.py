"""The logits machinery the engine uses: `from_logits`, `logits_variant` (fusing a final
sigmoid/softmax into the loss) and the fused batch mean of the cross-entropies."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from loss_data import EPS, C, N, onehot, t64

from lamina import losses

RNG = np.random.default_rng(0)


LOGIT_CASES = [
    (losses.BinaryCrossentropy, "sigmoid", lambda: RNG.integers(0, 2, (N, 1)).astype(float), 1),
    (losses.CategoricalCrossentropy, "softmax", lambda: onehot(RNG.integers(0, C, N)), C),
    (losses.SparseCategoricalCrossentropy, "softmax", lambda: RNG.integers(0, C, N), C),
]


def _activate(act: str, z: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(z) if act == "sigmoid" else torch.softmax(z, -1)


@pytest.mark.parametrize("cls,act,gen,units", LOGIT_CASES)
def test_from_logits_and_logits_variant_agree_and_stay_finite(cls, act, gen, units):
    y = torch.as_tensor(gen())
    z = t64(RNG.normal(size=(N, units)) * 2)
    prob_loss = cls(reduction="none")
    variant = prob_loss.logits_variant(act)
    assert variant is not None and variant.from_logits and variant.reduction == "none"
    assert variant.name == prob_loss.name
    ref = prob_loss(y, _activate(act, z))
    np.testing.assert_allclose(variant(y, z).numpy(), ref.numpy(), rtol=1e-9)
    np.testing.assert_allclose(
        cls(from_logits=True, reduction="none")(y, z).numpy(), ref.numpy(), rtol=1e-9
    )
    # saturating logits: wrong by a margin of 200 -> loss 200, not the clipped -log(eps) ~ 16.1
    if units == 1:
        y_sat, z_sat = t64([[1.0]]), t64([[-200.0]])
    else:
        z_sat = t64([[-100.0, 100.0, -100.0, -100.0]])
        y_sat = (
            torch.tensor([0])
            if cls is losses.SparseCategoricalCrossentropy
            else t64([[1, 0, 0, 0]])
        )
    z_sat.requires_grad_(True)
    value = variant(y_sat, z_sat)
    assert value.item() == pytest.approx(200.0, rel=1e-6)
    value.sum().backward()
    assert torch.isfinite(z_sat.grad).all()
    clipped = prob_loss(y_sat, _activate(act, z_sat.detach()))
    assert clipped.item() == pytest.approx(-np.log(EPS), rel=1e-3)


def test_logits_variant_none_where_it_does_not_apply():
    assert losses.BinaryCrossentropy().logits_variant("softmax") is None
    assert losses.BinaryCrossentropy(from_logits=True).logits_variant("sigmoid") is None
    assert losses.CategoricalCrossentropy().logits_variant("sigmoid") is None
    assert losses.SparseCategoricalCrossentropy(from_logits=True).logits_variant("softmax") is None
    assert losses.MeanSquaredError().logits_variant("sigmoid") is None
    assert losses.LossFunctionWrapper(lambda t, p: (t - p).abs()).logits_variant("softmax") is None
    v = losses.CategoricalCrossentropy(label_smoothing=0.1, reduction="sum").logits_variant(
        "softmax"
    )
    assert v.get_config() == {
        **losses.CategoricalCrossentropy(label_smoothing=0.1, reduction="sum").get_config(),
        "from_logits": True,
    }


@pytest.mark.parametrize("cls,act,gen,units", LOGIT_CASES)
def test_gradcheck_logits(cls, act, gen, units):
    y = torch.as_tensor(gen()[:3])
    z = t64(RNG.normal(size=(3, units))).requires_grad_(True)
    extra = {} if cls is losses.SparseCategoricalCrossentropy else {"label_smoothing": 0.1}
    logit_loss = cls(from_logits=True, **extra)
    assert torch.autograd.gradcheck(lambda x: logit_loss(y, x), (z,))
    assert torch.autograd.gradcheck(lambda x: cls()(y, _activate(act, x)), (z,))


def test_fused_batch_mean_equals_the_general_path():
    """The unweighted fast path (one F.cross_entropy) gives the weighted path's value."""
    rng = np.random.default_rng(7)
    logits = torch.as_tensor(rng.normal(size=(16, 5)) * 3)
    labels = torch.as_tensor(rng.integers(0, 5, 16))
    onehot = torch.nn.functional.one_hot(labels, 5).double()
    ones = torch.ones(16, dtype=torch.float64)
    for loss, y in (
        (losses.CategoricalCrossentropy(from_logits=True), onehot),
        (losses.SparseCategoricalCrossentropy(from_logits=True), labels),
    ):
        assert loss._fused_mean(y, logits) is not None
        np.testing.assert_allclose(
            loss(y, logits).item(), loss(y, logits, sample_weight=ones).item(), rtol=1e-12
        )
        expected = -np.log(np.exp(logits.numpy()) / np.exp(logits.numpy()).sum(1, keepdims=True))[
            np.arange(16), labels.numpy()
        ].mean()
        np.testing.assert_allclose(loss(y, logits).item(), expected, rtol=1e-10)
