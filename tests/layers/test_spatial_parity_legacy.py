"""Convolution1D / Convolution2D against Keras 3, where Lamina deliberately differs.

In Keras 3 these names are Conv1D / Conv2D themselves. Lamina keeps them as the Keras 1
spellings (nb_filter, filter_length / nb_row, nb_col, border_mode, subsample) that older
course code uses (lamina/layers/legacy.py). Parity holds for everything the two signatures
share: the layer built from the corresponding arguments has Keras's outputs, weights,
shapes and config. The signature difference itself is pinned by a targeted test.
"""

from __future__ import annotations

import os
import warnings

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")

from lamina import layers  # noqa: E402

# Keras 3 name -> [(Keras 3 arguments, the same layer in Lamina's Keras 1 arguments, input)]
LEGACY_PARITY = {
    "layers.Convolution1D": [
        ((4, 3), {}, (4, 3), {}, (2, 7, 2)),
        (
            (3, 2),
            {"padding": "same", "strides": 2, "activation": "relu"},
            (3, 2),
            {"border_mode": "same", "subsample_length": 2, "activation": "relu"},
            (2, 7, 2),
        ),
    ],
    "layers.Convolution2D": [
        ((4, (3, 2)), {}, (4, 3, 2), {}, (2, 5, 6, 3)),
        (
            (2, 3),
            {"padding": "same", "strides": (2, 1), "use_bias": False},
            (2, 3, 3),
            {"border_mode": "same", "subsample": (2, 1), "bias": False},
            (2, 5, 6, 3),
        ),
    ],
}


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k not in ("module", "registered_name")}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@pytest.mark.parametrize("name", sorted(LEGACY_PARITY))
def test_keras1_spelling_builds_keras3s_layer(name):
    short = name.removeprefix("layers.")
    for k_args, k_kwargs, l_args, l_kwargs, shape in LEGACY_PARITY[name]:
        rng = np.random.default_rng(0)
        x = rng.normal(size=shape).astype(np.float32)
        k_layer = getattr(keras.layers, short)(*k_args, **k_kwargs)
        k_layer(x)
        weights = [rng.normal(0, 0.5, size=w.shape).astype(np.float32) for w in k_layer.weights]
        k_layer.set_weights(weights)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            l_layer = getattr(layers, short)(*l_args, **l_kwargs)
        l_layer(torch.from_numpy(x))
        l_layer.set_weights(weights)
        np.testing.assert_allclose(
            l_layer(torch.from_numpy(x)).detach().numpy(),
            keras.ops.convert_to_numpy(k_layer(x)),
            rtol=1e-5,
            atol=1e-5,
        )
        assert l_layer.count_params() == k_layer.count_params()
        per_sample = (None, *shape[1:])
        assert tuple(l_layer.compute_output_shape(per_sample)) == tuple(
            k_layer.compute_output_shape(per_sample)
        )
        ignore = ("name", "dtype", "trainable")
        k_config = {k: v for k, v in k_layer.get_config().items() if k not in ignore}
        l_config = {k: v for k, v in l_layer.get_config().items() if k not in ignore}
        assert _plain(l_config) == _plain(k_config)


def test_convolution2d_keeps_the_keras1_signature():
    """Keras 3's Convolution2D(4, 3, 3) is Conv2D(4, 3, strides=3); Lamina's is Keras 1's
    Convolution2D(nb_filter=4, nb_row=3, nb_col=3) == Conv2D(4, (3, 3))."""
    assert keras.layers.Convolution2D is keras.layers.Conv2D
    assert keras.layers.Convolution2D(4, 3, 3).get_config()["strides"] == (3, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        config = layers.Convolution2D(4, 3, 3).get_config()
    assert config["kernel_size"] == (3, 3) and config["strides"] == (1, 1)
    with pytest.raises(TypeError):
        layers.Convolution2D(filters=4, kernel_size=3)  # Keras 3's keywords are not Keras 1's
