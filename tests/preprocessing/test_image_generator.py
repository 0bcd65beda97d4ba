"""ImageDataGenerator's arguments and augmentation, against NumPy / PIL references and
hand-worked values (Keras's conventions: see lamina/preprocessing/augment.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from lamina.preprocessing import augment as aug
from lamina.preprocessing.image import ImageDataGenerator


def _img(h=6, w=6, c=3, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (h, w, c)).astype(np.float32)


# ------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"featurewise_center": 1}, "featurewise_center"),
        ({"samplewise_center": "yes"}, "samplewise_center"),
        ({"horizontal_flip": None}, "horizontal_flip"),
        ({"histogram_equalization": 1}, "histogram_equalization"),
        ({"zca_epsilon": 0}, "zca_epsilon"),
        ({"rotation_range": -5}, "rotation_range"),
        ({"rotation_range": "10"}, "rotation_range"),
        ({"width_shift_range": -0.1}, "width_shift_range"),
        ({"height_shift_range": []}, "height_shift_range"),
        ({"width_shift_range": "a"}, "width_shift_range"),
        ({"brightness_range": 0.5}, "brightness_range"),
        ({"brightness_range": (1.5, 0.5)}, "brightness_range"),
        ({"shear_range": -1}, "shear_range"),
        ({"zoom_range": (1.2, 0.8)}, "zoom_range"),
        ({"zoom_range": (0.5, 1, 2)}, "zoom_range"),
        ({"zoom_range": -0.1}, "zoom_range"),
        ({"channel_shift_range": -3}, "channel_shift_range"),
        ({"fill_mode": "edge"}, "fill_mode"),
        ({"cval": "0"}, "cval"),
        ({"rescale": "1/255"}, "rescale"),
        ({"preprocessing_function": 3}, "preprocessing_function"),
        ({"data_format": "channels_first"}, "data_format"),
        ({"data_format": "nhwc"}, "data_format"),
        ({"validation_split": 1.0}, "validation_split"),
        ({"validation_split": -0.1}, "validation_split"),
        ({"interpolation_order": 3}, "interpolation_order"),
        ({"dtype": "int32"}, "dtype"),
        ({"gaussian_noise_std": -1.0}, "gaussian_noise_std"),
        ({"random_crop": (0, 4)}, "random_crop"),
        ({"random_crop": 4}, "random_crop"),
    ],
)
def test_every_argument_is_validated(kwargs, name):
    with pytest.raises(ValueError, match=rf"Expected .*received: {name}="):
        ImageDataGenerator(**kwargs)


def test_defaults_and_keras_overrides():
    g = ImageDataGenerator()
    assert g.zoom_range == [1.0, 1.0] and g.fill_mode == "nearest" and g.dtype == "float32"
    assert g.mean is None and g.std is None and g.zca_whitening_matrix is None
    assert ImageDataGenerator(zoom_range=0.2).zoom_range == pytest.approx([0.8, 1.2])
    with pytest.warns(UserWarning) as record:
        g = ImageDataGenerator(zca_whitening=True, featurewise_std_normalization=True)
    notes = sorted(str(w.message) for w in record)
    assert any("turns on featurewise_center" in n for n in notes), notes
    assert any("turns off featurewise_std_normalization" in n for n in notes), notes
    assert g.featurewise_center and not g.featurewise_std_normalization
    with pytest.warns(UserWarning, match="samplewise_center"):
        assert ImageDataGenerator(samplewise_std_normalization=True).samplewise_center


def test_random_crop_larger_than_image_is_an_error():
    g = ImageDataGenerator(random_crop=(8, 8))
    with pytest.raises(ValueError, match=r"random_crop no larger than the images \(6, 6\)"):
        g.random_transform(_img())


# ------------------------------------------------------------------------- directions
def test_positive_tx_moves_content_along_the_width_axis_only():
    x = _img(5, 7, 2)
    g = ImageDataGenerator(fill_mode="wrap")
    out = g.apply_transform(x, {"tx": 2})
    np.testing.assert_allclose(out, np.roll(x, -2, axis=1), atol=1e-4)  # reads 2 to the right
    out = g.apply_transform(x, {"ty": 1})
    np.testing.assert_allclose(out, np.roll(x, -1, axis=0), atol=1e-4)


def test_width_shift_range_shifts_columns_by_whole_pixels():
    x = _img(5, 7, 1)
    g = ImageDataGenerator(width_shift_range=3, fill_mode="wrap")
    for seed in range(8):
        p = g.get_random_transform(x.shape, seed=seed)
        assert p["ty"] == 0 and p["tx"] in (-2, -1, 0, 1, 2)
        out = g.random_transform(x, seed=seed)
        np.testing.assert_allclose(out, np.roll(x, -int(p["tx"]), axis=1), atol=1e-4)


def test_shift_range_forms_follow_keras():
    shape = (10, 20, 1)
    g = ImageDataGenerator(width_shift_range=0.25, height_shift_range=[2, 4])
    for seed in range(20):
        p = g.get_random_transform(shape, seed=seed)
        assert abs(p["tx"]) <= 0.25 * 20  # a fraction of the width
        assert abs(p["ty"]) in (2, 4)  # a choice of pixels, random sign
    p = ImageDataGenerator(height_shift_range=[0.5]).get_random_transform(shape, seed=0)
    assert abs(p["ty"]) == 5.0  # choices below 1 are fractions of the height


def test_horizontal_and_vertical_flips_mirror_exactly():
    x = _img(4, 5, 3)
    g = ImageDataGenerator()
    np.testing.assert_array_equal(g.apply_transform(x, {"flip_horizontal": True}), x[:, ::-1])
    np.testing.assert_array_equal(g.apply_transform(x, {"flip_vertical": True}), x[::-1])


def test_rotation_plus_90_is_np_rot90():
    x = _img(6, 6, 2)
    out = ImageDataGenerator().apply_transform(x, {"theta": 90})
    np.testing.assert_allclose(out, np.rot90(x, k=1, axes=(0, 1)), atol=1e-3)


def test_zoom_below_one_magnifies_about_the_centre():
    x = np.arange(25, dtype=np.float32).reshape(5, 5, 1)
    out = ImageDataGenerator().apply_transform(x, {"zx": 0.5})
    # column c reads column 2 + 0.5 (c - 2): hand-worked bilinear values of row 0
    np.testing.assert_allclose(out[0, :, 0], [1.0, 1.5, 2.0, 2.5, 3.0], atol=1e-5)
    np.testing.assert_allclose(out[:, 2, 0], x[:, 2, 0], atol=1e-5)


def test_shear_hand_worked_row():
    x = np.arange(25, dtype=np.float32).reshape(5, 5, 1)
    out = ImageDataGenerator().apply_transform(x, {"shear": 30})
    # row 0 (y - 2 = -2): x_in = x + 2 sin 30 = x + 1, y_in = 2 - 2 cos 30
    y_in = 2 - 2 * np.cos(np.pi / 6)
    expected = [y_in * 5 + min(c + 1, 4) for c in range(5)]
    np.testing.assert_allclose(out[0, :, 0], expected, atol=1e-4)


# ------------------------------------------------------------- point-wise augmentations
def test_channel_shift_adds_one_value_clipped_to_the_image_range():
    x = _img(4, 4, 3)
    out = ImageDataGenerator().apply_transform(x, {"channel_shift_intensity": 30.0})
    np.testing.assert_allclose(out, np.clip(x + 30, x.min(), x.max()), atol=1e-4)
    g = ImageDataGenerator(channel_shift_range=20)
    values = [g.get_random_transform(x.shape, seed=s)["channel_shift_intensity"] for s in range(50)]
    assert -20 <= min(values) < -5 and 5 < max(values) <= 20


def test_brightness_matches_pil_enhance_and_stays_in_range():
    from PIL import ImageEnhance

    x = _img(5, 5, 3)
    out = ImageDataGenerator().apply_transform(x, {"brightness": 1.3})
    pil = ImageEnhance.Brightness(Image.fromarray(x.astype(np.uint8))).enhance(1.3)
    np.testing.assert_array_equal(out, np.asarray(pil, dtype=np.float32))
    g = ImageDataGenerator(brightness_range=(0.5, 0.8))
    values = [g.get_random_transform(x.shape, seed=s)["brightness"] for s in range(50)]
    assert 0.5 <= min(values) and max(values) <= 0.8


def test_histogram_equalization_matches_pil():
    rng = np.random.default_rng(1)
    x = np.clip(rng.normal(100, 20, (2, 16, 12, 3)), 0, 255).astype(np.uint8)
    out = aug.equalize_histogram(torch.from_numpy(x).float()).numpy()
    for i in range(2):
        for c in range(3):
            ref = np.asarray(ImageOps.equalize(Image.fromarray(x[i, ..., c])), dtype=np.float32)
            np.testing.assert_array_equal(out[i, ..., c], ref)
    g = ImageDataGenerator(histogram_equalization=True)
    flat = np.full((4, 4, 1), 7.0, np.float32)  # one grey level: PIL leaves it unchanged
    np.testing.assert_array_equal(g.random_transform(flat), flat)


def test_gaussian_noise_is_in_rescaled_units():
    g = ImageDataGenerator(gaussian_noise_std=0.1, rescale=1 / 255)
    x = np.full((64, 64, 1), 100.0, np.float32)
    out = g.standardize(g.random_transform(x, seed=0))
    assert abs(out.std() - 0.1) < 0.01 and abs(out.mean() - 100 / 255) < 0.01


def test_random_crop_resizes_the_window_back():
    x = np.arange(36, dtype=np.float32).reshape(6, 6, 1)
    g = ImageDataGenerator(random_crop=(4, 4), interpolation_order=0)
    out = g.apply_transform(x, {"crop": (1, 2)})
    # window rows 1..4, cols 2..5 stretched to 6: output c reads 2 + round(c * 3 / 5)
    cols = [2 + int(np.floor(c * 3 / 5 + 0.5)) for c in range(6)]
    rows = [1 + int(np.floor(r * 3 / 5 + 0.5)) for r in range(6)]
    np.testing.assert_array_equal(out[..., 0], x[np.ix_(rows, cols)][..., 0])
    tops = {g.get_random_transform(x.shape, seed=s)["crop"] for s in range(40)}
    assert all(0 <= t <= 2 and 0 <= left <= 2 for t, left in tops) and len(tops) > 3


# ------------------------------------------------ batched path == the per-image API
def test_batched_parameters_give_the_per_image_results():
    g = ImageDataGenerator(
        rotation_range=30,
        width_shift_range=0.2,
        height_shift_range=2,
        shear_range=10,
        zoom_range=0.2,
        channel_shift_range=15,
        brightness_range=(0.7, 1.2),
        horizontal_flip=True,
        vertical_flip=True,
        fill_mode="reflect",
        random_crop=(7, 6),
        gaussian_noise_std=2.0,
    )
    x = np.stack([_img(8, 8, 3, seed=s) for s in range(5)])
    gen = torch.Generator().manual_seed(0)
    params = aug.sample_params(g.spec, x.shape, gen)
    batched = aug.apply_params(g.spec, torch.from_numpy(x), params).numpy()
    for i, d in enumerate(params.to_dicts()):
        np.testing.assert_allclose(batched[i], g.apply_transform(x[i], d), atol=1e-3)


def test_seeded_transforms_repeat_and_differ_across_seeds():
    g = ImageDataGenerator(rotation_range=40, zoom_range=0.3, horizontal_flip=True)
    x = _img(8, 8, 3)
    np.testing.assert_array_equal(g.random_transform(x, seed=5), g.random_transform(x, seed=5))
    assert not np.allclose(g.random_transform(x, seed=5), g.random_transform(x, seed=6))
    a = g.augment_batch(
        torch.from_numpy(x)[None].repeat(4, 1, 1, 1), torch.Generator().manual_seed(3)
    )
    b = g.augment_batch(
        torch.from_numpy(x)[None].repeat(4, 1, 1, 1), torch.Generator().manual_seed(3)
    )
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.allclose(a[0], a[1])  # each sample draws its own parameters


def test_no_augmentation_leaves_images_unchanged():
    g = ImageDataGenerator()
    x = _img()
    np.testing.assert_array_equal(g.random_transform(x, seed=0), x)
