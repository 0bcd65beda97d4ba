"""The layers added for Keras 3's whole API move through `.keras` files both ways.

A model holding the layer is saved by Lamina and loaded by Keras 3 (torch backend), and
saved by Keras and loaded by Lamina; both predict the same on the same batch.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

import lamina  # noqa: E402

RNG = np.random.default_rng(3)

# name -> (input shape without the batch, a function making the layer from a `layers` module)
CASES: dict[str, tuple[tuple[int, ...], Callable]] = {
    "Conv3D": ((4, 5, 6, 2), lambda L: L.Conv3D(3, 2, padding="same")),
    "Conv3DTranspose": ((3, 4, 4, 2), lambda L: L.Conv3DTranspose(2, 3, strides=2)),
    "Conv1DTranspose": ((7, 3), lambda L: L.Conv1DTranspose(2, 3, strides=2, padding="same")),
    "SeparableConv2D": ((6, 6, 3), lambda L: L.SeparableConv2D(4, 3, depth_multiplier=2)),
    "DepthwiseConv2D": ((6, 6, 3), lambda L: L.DepthwiseConv2D(3, padding="same")),
    "AdaptiveAveragePooling2D": ((7, 9, 2), lambda L: L.AdaptiveAveragePooling2D((3, 4))),
    "ZeroPadding3D": ((2, 3, 4, 1), lambda L: L.ZeroPadding3D(1)),
    "GroupNormalization": ((5, 6), lambda L: L.GroupNormalization(groups=3)),
    "UnitNormalization": ((5,), lambda L: L.UnitNormalization()),
    "RMSNormalization": ((4, 5), lambda L: L.RMSNormalization()),
    "EinsumDense": (
        (4, 5),
        lambda L: L.EinsumDense("abc,cd->abd", output_shape=(None, 3), bias_axes="d"),
    ),
    "ConvLSTM2D": ((3, 5, 5, 2), lambda L: L.ConvLSTM2D(2, 3, padding="same")),
    "Solarization": ((8, 8, 3), lambda L: L.Solarization(value_range=(0, 1))),
    "RandomHue": ((8, 8, 3), lambda L: L.RandomHue(0.2, value_range=(0, 1))),
    "MelSpectrogram": (
        (400,),
        lambda L: L.MelSpectrogram(fft_length=64, sequence_stride=32, num_mel_bins=8),
    ),
    "Identity": ((3,), lambda L: L.Identity()),
}


def _model(lib, name):
    shape, make = CASES[name]
    inputs = lib.Input(shape)
    return lib.Model(inputs, make(lib.layers)(inputs))


@pytest.mark.parametrize("name", sorted(CASES))
def test_lamina_file_loads_in_keras_and_back(name, tmp_path):
    x = RNG.random((2, *CASES[name][0])).astype("float32")
    ours = _model(lamina, name)
    expected = ours.predict(x, verbose=0)
    path = tmp_path / "m.keras"
    ours.save(path)
    theirs = keras.saving.load_model(path)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(theirs.predict(x, verbose=0)), expected, rtol=2e-5, atol=2e-5
    )
    keras_path = tmp_path / "k.keras"
    keras_model = _model(keras, name)
    keras_model.save(keras_path)
    back = lamina.saving.load_model(keras_path)
    np.testing.assert_allclose(
        back.predict(x, verbose=0),
        keras.ops.convert_to_numpy(keras_model.predict(x, verbose=0)),
        rtol=2e-5,
        atol=2e-5,
    )


def test_multi_head_attention_model_round_trip(tmp_path):
    def build(lib):
        q, v = lib.Input((4, 6)), lib.Input((5, 6))
        out = lib.layers.MultiHeadAttention(num_heads=2, key_dim=3)(q, v)
        return lib.Model([q, v], out)

    q, v = RNG.random((2, 4, 6)).astype("float32"), RNG.random((2, 5, 6)).astype("float32")
    ours = build(lamina)
    path = tmp_path / "mha.keras"
    ours.save(path)
    theirs = keras.saving.load_model(path)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(theirs.predict([q, v], verbose=0)),
        ours.predict([q, v], verbose=0),
        rtol=2e-5,
        atol=2e-5,
    )
