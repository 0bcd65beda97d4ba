"""`keras.preprocessing` exposes the dataset builders too: every public name Keras 3 has
there exists in `lamina.preprocessing` (the same objects as in `lamina.utils`)."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras

import lamina


def test_every_keras_preprocessing_name_exists():
    names = [n for n in dir(keras.preprocessing) if not n.startswith("_")]
    missing = [n for n in names if not hasattr(lamina.preprocessing, n)]
    assert not missing, f"Expected Keras 3's keras.preprocessing names, missing: {missing}"
    for name in ("image_dataset_from_directory", "text_dataset_from_directory",
                 "timeseries_dataset_from_array"):  # fmt: skip
        assert getattr(lamina.preprocessing, name) is getattr(lamina.utils, name)
