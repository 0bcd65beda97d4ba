"""ImageDataGenerator normalisation: featurewise statistics, ZCA whitening, samplewise, order."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from lamina.preprocessing.image import ImageDataGenerator


def _data(n=400, h=4, w=4, c=3, seed=0):
    rng = np.random.default_rng(seed)
    scale = np.array([10.0, 40.0, 90.0])[:c]
    return (rng.normal(0, 1, (n, h, w, c)) * scale + np.array([50.0, 120.0, 200.0])[:c]).astype(
        np.float32
    )


def test_featurewise_statistics_give_zero_mean_unit_std_per_channel():
    x = _data()
    g = ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True)
    g.fit(x)
    np.testing.assert_allclose(g.mean.reshape(-1), x.mean(axis=(0, 1, 2)), rtol=1e-5)
    np.testing.assert_allclose(g.std.reshape(-1), x.std(axis=(0, 1, 2)), rtol=1e-4)
    assert g.mean.shape == (1, 1, 3) and g.std.shape == (1, 1, 3)
    out = g.standardize(x)
    np.testing.assert_allclose(out.mean(axis=(0, 1, 2)), 0, atol=1e-4)
    np.testing.assert_allclose(out.std(axis=(0, 1, 2)), 1, atol=1e-4)


def test_fit_applies_rescale_first():
    x = _data()
    g = ImageDataGenerator(featurewise_center=True, rescale=0.5)
    g.fit(x)
    np.testing.assert_allclose(g.mean.reshape(-1), 0.5 * x.mean(axis=(0, 1, 2)), rtol=1e-5)


def test_zca_whitened_data_has_identity_covariance():
    rng = np.random.default_rng(1)
    mix = rng.normal(size=(12, 12))
    flat = rng.normal(size=(2000, 12)) @ mix + 5.0  # correlated pixels
    x = flat.reshape(2000, 2, 2, 3).astype(np.float32)
    with pytest.warns(UserWarning, match="featurewise_center"):
        g = ImageDataGenerator(zca_whitening=True)
    g.fit(x)
    white = g.standardize(x).reshape(2000, -1).astype(np.float64)
    cov = white.T @ white / len(white)
    np.testing.assert_allclose(cov, np.eye(12), atol=1e-3)
    # Keras's formula U diag(sqrt(n) / (S + eps)) U^T from the SVD of the centred data
    centred = (x - x.mean(axis=(0, 1, 2))).reshape(2000, -1).astype(np.float64)
    u, s, _ = np.linalg.svd(centred.T, full_matrices=False)
    ref = (u * (np.sqrt(2000) / (s + 1e-6))) @ u.T
    np.testing.assert_allclose(g.zca_whitening_matrix, ref, rtol=1e-3, atol=1e-4)


def test_zca_with_fewer_images_than_values_keeps_only_their_directions():
    x = _data(n=10, h=3, w=3, c=3)
    with pytest.warns(UserWarning):
        g = ImageDataGenerator(zca_whitening=True)
    g.fit(x)
    flat = (x.astype(np.float64) - x.mean(axis=(0, 1, 2))).reshape(10, -1)
    u, s, _ = np.linalg.svd(flat.T, full_matrices=False)
    ref = (u * (np.sqrt(10) / (s + 1e-6))) @ u.T
    big = np.abs(ref).max()
    np.testing.assert_allclose(g.zca_whitening_matrix, ref, atol=1e-3 * big)


def test_samplewise_center_and_std():
    x = _data(n=6)
    g = ImageDataGenerator(samplewise_center=True, samplewise_std_normalization=True)
    out = g.standardize(x)
    for img, o in zip(x, out):
        np.testing.assert_allclose(o, (img - img.mean()) / (img.std() + 1e-6), atol=1e-4)
    np.testing.assert_allclose(g.standardize(x[0]), out[0], atol=1e-6)  # one image works too


def test_keras_order_preprocessing_function_then_rescale_then_center():
    seen = []

    def fn(img):
        seen.append(img.shape)
        return img + 10.0

    g = ImageDataGenerator(preprocessing_function=fn, rescale=0.5, samplewise_center=True)
    x = _data(n=3)
    out = g.standardize(x)
    assert seen == [(4, 4, 3)] * 3  # called once per image, as Keras does
    ref = (x + 10.0) * 0.5
    ref -= ref.mean(axis=(1, 2, 3), keepdims=True)
    np.testing.assert_allclose(out, ref, atol=1e-4)
    g = ImageDataGenerator(preprocessing_function=lambda im: im[:2])
    with pytest.raises(ValueError, match="preprocessing_function to return an image of shape"):
        g.standardize(x)


def test_unfit_featurewise_options_warn_and_skip():
    g = ImageDataGenerator(featurewise_center=True)
    x = _data(n=2)
    with pytest.warns(UserWarning, match="has not been fit"):
        out = g.standardize(x)
    np.testing.assert_array_equal(out, x)


def test_fit_validates_its_input_and_augment_changes_statistics():
    g = ImageDataGenerator(featurewise_center=True)
    with pytest.raises(ValueError, match="rank 4"):
        g.fit(np.zeros((4, 4, 3)))
    with pytest.raises(ValueError, match="rounds"):
        g.fit(np.zeros((2, 4, 4, 3)), augment=True, rounds=0)
    x = np.zeros((20, 6, 6, 1), np.float32)
    x[:, :, :3] = 255.0
    g = ImageDataGenerator(featurewise_center=True, brightness_range=(0.5, 0.5))
    g.fit(x)
    assert g.mean.shape == (1, 1, 1) and g.mean.item() == pytest.approx(127.5)
    g.fit(x, augment=True, rounds=2, seed=0)  # halved brightness: floor(255 * 0.5) = 127
    assert g.mean.item() == pytest.approx(127 / 2)
    g2 = ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True)
    g2.fit(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = g2.standardize(x[:1])
    np.testing.assert_allclose(np.unique(out), [-1.0, 1.0], atol=1e-5)


def test_zca_on_images_too_large_for_the_matrix_is_a_clear_error():
    with pytest.warns(UserWarning):
        g = ImageDataGenerator(zca_whitening=True)
    with pytest.raises(ValueError, match="at most .* values for zca_whitening"):
        g.fit(np.zeros((2, 150, 150, 3), np.uint8))
