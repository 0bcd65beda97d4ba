"""Keras 3's mask protocol on single layers: who makes, passes, uses and drops a mask.

Masks travel on tensors as `_keras_mask` (Keras 3's torch backend does the same). Keras 3
itself (torch backend) is the reference for the layers that use a mask: the same inputs,
masks and weights give the same outputs.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import warnings

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")

import lamina  # noqa: E402
from lamina import layers  # noqa: E402
from lamina.layers.masking import Masking  # noqa: E402


def _kmask(x: np.ndarray, mask: np.ndarray):
    """A Keras (torch backend) tensor carrying `mask`."""
    t = torch.tensor(x)
    t._keras_mask = torch.tensor(mask)
    return t


def _masked(x: np.ndarray, mask: np.ndarray) -> torch.Tensor:
    t = torch.tensor(x)
    t._keras_mask = torch.tensor(mask)
    return t


class _MakesMask(layers.Layer):
    def call(self, x):
        return x

    def compute_mask(self, x, mask=None):
        return x[..., 0] != 0


class _Plain(layers.Layer):
    def call(self, x):
        return x * 2


class _TakesMask(layers.Layer):
    """Uses the mask (takes it in call) and passes none on."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = []

    def call(self, x, mask=None):
        self.seen.append(mask)
        return x.sum(1)


def test_supports_masking_follows_keras_default_rule():
    # Keras 3: True when the class defines compute_mask, else False until set.
    assert _MakesMask().supports_masking
    assert not _Plain().supports_masking
    plain = _Plain()
    plain.supports_masking = True
    assert plain.supports_masking and not _Plain().supports_masking
    assert layers.Dense(2).supports_masking and layers.Dropout(0.5).supports_masking
    assert not layers.Flatten().supports_masking and not layers.Conv1D(2, 3).supports_masking
    dense = layers.Dense(2)
    dense.supports_masking = False
    assert not dense.supports_masking


def test_masking_layer_makes_the_mask_and_zeros_masked_steps():
    x = np.arange(24, dtype=np.float32).reshape(2, 4, 3)
    x[0, 1] = 0.0
    x[1, 3] = 0.0
    x[1, 2, 0] = 0.0  # one zero feature: the step stays
    out = Masking()(torch.tensor(x))
    np.testing.assert_array_equal(out._keras_mask.numpy(), [[1, 0, 1, 1], [1, 1, 1, 0]])
    k = keras.layers.Masking()(x)
    np.testing.assert_array_equal(out.numpy(), keras.ops.convert_to_numpy(k))
    np.testing.assert_array_equal(out._keras_mask.numpy(), k._keras_mask.cpu().numpy())
    with pytest.raises(ValueError, match="Masking.*mask_value"):
        Masking(mask_value="zero")


def test_dense_and_activations_pass_the_mask_on():
    x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype(np.float32)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=bool)
    t = _masked(x, mask)
    for layer in (
        layers.Dense(4),
        layers.Activation("relu"),
        layers.Dropout(0.5),
        layers.LayerNormalization(),
        layers.ReLU(),
        layers.Rescaling(2.0),
    ):
        out = layer(t)
        assert out._keras_mask is t._keras_mask, type(layer).__name__


def test_a_layer_without_masking_drops_the_mask_with_one_warning():
    t = _masked(np.ones((2, 3, 2), np.float32), np.array([[1, 0, 1], [1, 1, 0]], bool))
    flatten = layers.Flatten()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = flatten(t)
        flatten(t)
    assert getattr(out, "_keras_mask", None) is None
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and "'flatten" in messages[0] and "mask" in messages[0]
    assert caught[0].filename == __file__  # the warning points at the user's line


def test_call_receives_the_mask_and_an_explicit_mask_wins():
    x = np.ones((2, 3, 2), np.float32)
    own = np.array([[1, 0, 1], [1, 1, 0]], bool)
    layer = _TakesMask()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a layer that took the mask in call used it: no warning
        layer(_masked(x, own))
        other = torch.tensor([[0, 0, 1], [1, 0, 0]], dtype=torch.bool)
        layer(_masked(x, own), mask=other)
        layer(torch.tensor(x))
    np.testing.assert_array_equal(layer.seen[0].numpy(), own)
    assert layer.seen[1] is other
    assert layer.seen[2] is None
    # an explicit mask reaches a mask-passing layer's output even without an input mask
    out = layers.Dense(2)(torch.tensor(x), mask=other)
    assert out._keras_mask is other


def test_no_mask_means_no_mask_work():
    calls = []

    class Spy(layers.Dense):
        def compute_mask(self, inputs, mask=None):
            calls.append(1)
            return mask

    Spy._creates_mask = False  # passes masks on, makes none
    out = Spy(2)(torch.ones(2, 3))
    assert calls == [] and getattr(out, "_keras_mask", None) is None
    Spy(2)(_masked(np.ones((2, 3), np.float32), np.array([1, 0], bool)))
    assert calls == [1]


def test_symbolic_tensors_carry_symbolic_masks():
    inp = lamina.Input((None, 3))
    masked = Masking()(inp)
    assert masked._keras_mask.shape == (None, None)
    dense = layers.Dense(4)(masked)
    assert dense._keras_mask.shape == (None, None)
    pooled = layers.GlobalAveragePooling1D()(dense)
    assert getattr(pooled, "_keras_mask", None) is None
    fixed = layers.Dense(2)(Masking()(lamina.Input((7, 3))))
    assert fixed._keras_mask.shape == (None, 7)
    assert getattr(layers.Dense(2)(inp), "_keras_mask", None) is None


def test_global_average_pooling_1d_averages_unmasked_steps_as_keras():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 5, 4)).astype(np.float32)
    mask = rng.random((3, 5)) > 0.4
    mask[:, 0] = True
    for keepdims in (False, True):
        got = layers.GlobalAveragePooling1D(keepdims=keepdims)(_masked(x, mask))
        want = keras.layers.GlobalAveragePooling1D(keepdims=keepdims)(_kmask(x, mask))
        np.testing.assert_allclose(got.numpy(), keras.ops.convert_to_numpy(want), rtol=1e-6)
        assert getattr(got, "_keras_mask", None) is None
    expected = (x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
    np.testing.assert_allclose(
        layers.GlobalAveragePooling1D()(_masked(x, mask)).numpy(), expected, rtol=1e-6
    )


@pytest.mark.parametrize("name", ["Add", "Subtract", "Multiply", "Average", "Maximum"])
def test_elementwise_merges_combine_masks_as_keras(name):
    rng = np.random.default_rng(2)
    a, b = (rng.normal(size=(2, 4, 3)).astype(np.float32) for _ in range(2))
    ma, mb = rng.random((2, 4)) > 0.5, rng.random((2, 4)) > 0.5
    got = getattr(layers, name)()([_masked(a, ma), _masked(b, mb)])
    want = getattr(keras.layers, name)()([_kmask(a, ma), _kmask(b, mb)])
    np.testing.assert_array_equal(got._keras_mask.numpy(), want._keras_mask.cpu().numpy())
    np.testing.assert_array_equal(got._keras_mask.numpy(), ma | mb)
    # an unmasked input: no output mask (Keras)
    half = getattr(layers, name)()([_masked(a, ma), torch.tensor(b)])
    assert getattr(half, "_keras_mask", None) is None


@pytest.mark.parametrize("axis,shapes", [(-1, [(2, 4, 3), (2, 4, 2)]), (1, [(2, 4, 3), (2, 2, 3)])])
def test_concatenate_combines_masks_as_keras(axis, shapes):
    rng = np.random.default_rng(3)
    a, b = (rng.normal(size=s).astype(np.float32) for s in shapes)
    ma = rng.random(shapes[0][:2]) > 0.5
    mb = rng.random(shapes[1][:2]) > 0.5
    for masks in ((ma, mb), (ma, None)):
        ins_l = [_masked(a, masks[0]), _masked(b, masks[1]) if masks[1] is not None else b]
        ins_k = [_kmask(a, masks[0]), _kmask(b, masks[1]) if masks[1] is not None else b]
        got = layers.Concatenate(axis=axis)([torch.as_tensor(t) for t in ins_l])
        want = keras.layers.Concatenate(axis=axis)(ins_k)
        np.testing.assert_array_equal(got._keras_mask.numpy(), want._keras_mask.cpu().numpy())
    got = layers.Concatenate()([torch.tensor(a), torch.tensor(a)])
    assert getattr(got, "_keras_mask", None) is None


def test_dot_drops_the_mask_as_keras():
    a = _masked(np.ones((2, 3), np.float32), np.array([True, False]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = layers.Dot(axes=1)([a, a])
    assert getattr(out, "_keras_mask", None) is None


def test_softmax_with_a_mask_matches_keras():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 3, 5)).astype(np.float32)
    mask = rng.random((2, 1, 5)) > 0.3  # an attention-style mask (broadcasts from the right)
    got = layers.Softmax()(torch.tensor(x), mask=torch.tensor(mask))
    want = keras.layers.Softmax()(x, mask=mask)
    np.testing.assert_allclose(got.numpy(), keras.ops.convert_to_numpy(want), atol=1e-7)
    # a (batch, time) mask of the leading axes (Keras refuses it): masked steps give 0
    steps = np.array([[1, 1, 0], [1, 0, 0]], bool)
    got = layers.Softmax()(_masked(x, steps))
    np.testing.assert_allclose(got.numpy()[steps], torch.softmax(torch.tensor(x), -1)[steps])
    assert (got.numpy()[~steps] == 0).all()
    with pytest.raises(ValueError, match="softmax.*broadcasts"):
        layers.Softmax()(torch.tensor(x), mask=torch.ones(4, 2, dtype=torch.bool))


def test_batch_normalization_keeps_masked_steps_out_of_its_statistics():
    rng = np.random.default_rng(5)
    x = rng.normal(2.0, 3.0, size=(3, 6, 4)).astype(np.float32)
    mask = rng.random((3, 6)) > 0.4
    k = keras.layers.BatchNormalization(momentum=0.5)
    k.build(x.shape)
    lam = layers.BatchNormalization(momentum=0.5)
    lam.build((None, 6, 4))
    weights = [rng.uniform(0.5, 1.5, size=w.shape).astype(np.float32) for w in k.get_weights()]
    k.set_weights(weights)
    lam.set_weights(weights)
    want = keras.ops.convert_to_numpy(k(x, training=True, mask=mask))
    got = lam(_masked(x, mask), training=True)
    np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-4, atol=1e-5)
    for a, b in zip(lam.get_weights(), k.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert got._keras_mask is not None
    with pytest.raises(ValueError, match="one dimension less"):
        lam(torch.tensor(x), training=True, mask=torch.ones(3, dtype=torch.bool))
