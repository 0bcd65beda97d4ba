"""MelSpectrogram and STFTSpectrogram against keras.layers (torch backend): outputs with
Keras's weights copied in, output shapes (compute_output_shape too), parameter counts,
weight names and configs."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

from lamina import layers  # noqa: E402

RNG = np.random.RandomState(5)
AUDIO = RNG.randn(2, 3000).astype("float32")
SIGNALS = RNG.randn(2, 700, 3).astype("float32")

AUDIO_PARITY = {
    "layers.MelSpectrogram": [
        {},
        {"fft_length": 512, "sequence_stride": 128, "num_mel_bins": 40, "sampling_rate": 8000},
        {"fft_length": 256, "sequence_length": 200, "power_to_db": False, "mag_exp": 1.0,
         "window": "hamming"},
        {"fft_length": 256, "ref_power": 2.0, "top_db": 40.0, "max_freq": 3000, "min_freq": 100.0},
        {"fft_length": 128, "sequence_stride": 64, "window": None, "num_mel_bins": 16},
    ],
    "layers.STFTSpectrogram": [
        {},
        {"mode": "magnitude", "frame_length": 100, "frame_step": 40, "padding": "same"},
        {"mode": "psd", "fft_length": 256, "scaling": "spectrum"},
        {"mode": "stft", "expand_dims": True, "window": "hamming", "periodic": True},
        {"mode": "angle", "data_format": "channels_first"},
        {"mode": "real", "expand_dims": True, "data_format": "channels_first", "padding": "same",
         "frame_step": 30},
        {"mode": "imag", "window": None, "scaling": None, "frame_length": 64},
        {"mode": "log", "expand_dims": True, "frame_length": 128, "fft_length": 128},
    ],
}  # fmt: skip


def _plain(config: dict) -> dict:
    drop = {"name", "dtype", "trainable"}
    return json.loads(json.dumps({k: v for k, v in config.items() if k not in drop}))


def _check(expected, got, angle: bool = False) -> None:
    e = keras.ops.convert_to_numpy(expected)
    g = got.detach().numpy()
    assert g.shape == e.shape and g.dtype == e.dtype
    if angle:  # compare on the circle (+-pi are the same angle)
        np.testing.assert_allclose(np.angle(np.exp(1j * (g - e))), 0.0, atol=2e-5)
    else:
        np.testing.assert_allclose(g, e, rtol=2e-5, atol=5e-5)


@pytest.mark.parametrize("name", sorted(AUDIO_PARITY))
def test_audio_layer_matches_keras(name: str) -> None:
    short = name.split(".")[-1]
    for kwargs in AUDIO_PARITY[name]:
        k = getattr(keras.layers, short)(**kwargs)
        lam = getattr(layers, short)(**kwargs)
        if short == "MelSpectrogram":
            x = AUDIO
            for sample in (x, x[0]):
                _check(k(sample.copy()), lam(torch.from_numpy(sample.copy())))
        else:
            x = SIGNALS
            if kwargs.get("data_format") == "channels_first":
                x = np.ascontiguousarray(x.transpose(0, 2, 1))
            expected = k(x.copy())
            lam(torch.from_numpy(x))  # build
            assert [s.name for s in lam._weight_specs] == [w.path.split("/")[-1] for w in k.weights]
            assert lam.count_params() == k.count_params()
            # our STFT initializer (float64 phases) matches Keras's float32-phase kernels ...
            for ours, theirs in zip(lam.get_weights(), k.weights):
                np.testing.assert_allclose(ours, keras.ops.convert_to_numpy(theirs), atol=2e-5)
            # ... and with Keras's weights copied in the outputs agree
            lam.set_weights([keras.ops.convert_to_numpy(w) for w in k.weights])
            _check(expected, lam(torch.from_numpy(x.copy())), angle=kwargs.get("mode") == "angle")
        assert tuple(lam.compute_output_shape(x.shape)) == tuple(k.compute_output_shape(x.shape))
        assert _plain(lam.get_config()) == _plain(k.get_config())


def test_stft_spectrogram_kernels_train() -> None:
    layer = layers.STFTSpectrogram(mode="magnitude", frame_length=32)
    out = layer(torch.from_numpy(SIGNALS[:, :200]))
    out.sum().backward()
    assert all(w.grad is not None and w.requires_grad for w in layer.trainable_weights)


def test_audio_errors_name_the_layer() -> None:
    with pytest.raises(ValueError, match=r"\(STFTSpectrogram\) expected mode one of"):
        layers.STFTSpectrogram(mode="power")
    with pytest.raises(ValueError, match=r"\(MelSpectrogram\) expected fft_length >= "):
        layers.MelSpectrogram(fft_length=128, sequence_length=256)
