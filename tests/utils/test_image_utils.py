"""load_img / img_to_array / array_to_img / save_img against Pillow and NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from lamina.preprocessing.image import array_to_img, img_to_array, load_img, save_img


def test_png_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, size=(9, 7, 3)).astype("float32")
    save_img(tmp_path / "a.png", arr, scale=False)
    back = img_to_array(load_img(tmp_path / "a.png"))
    np.testing.assert_array_equal(back, arr)
    assert back.shape == (9, 7, 3) and back.dtype == np.float32


def test_grayscale_target_size_and_modes(tmp_path):
    Image.fromarray(np.full((20, 30, 4), 200, np.uint8), "RGBA").save(tmp_path / "rgba.png")
    gray = img_to_array(
        load_img(tmp_path / "rgba.png", color_mode="grayscale", target_size=(10, 15))
    )
    assert gray.shape == (10, 15, 1)
    rgb = img_to_array(load_img(tmp_path / "rgba.png", target_size=(8, 8), keep_aspect_ratio=True))
    assert rgb.shape == (8, 8, 3) and np.all(rgb == 200)


def test_array_to_img_scales_range():
    img = array_to_img(np.array([[[0.0], [0.5]], [[1.0], [0.25]]]))
    np.testing.assert_array_equal(np.asarray(img), [[0, 127], [255, 63]])


def test_bad_files_are_explained(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_img(tmp_path / "missing.jpg")
    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    with pytest.raises(ValueError, match="readable image"):
        load_img(tmp_path / "bad.jpg")
    with pytest.raises(ValueError, match="color_mode"):
        load_img(tmp_path / "bad.jpg", color_mode="cmyk")
