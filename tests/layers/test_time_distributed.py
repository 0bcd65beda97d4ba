"""TimeDistributed: the shared layer harness, Keras 3 parity (same wrapped weights), the
nested config round trip (Lamina's and Keras's), masks passed on and into the wrapped
layer, and shape errors."""

from __future__ import annotations

import json
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest
import torch
from layer_harness import run_layer_test

keras = pytest.importorskip("keras")

import lamina  # noqa: E402
from lamina import layers  # noqa: E402
from lamina.layers.time_distributed import TimeDistributed  # noqa: E402


def _dense_reference(x, w):
    return x @ w[0] + w[1]


@pytest.mark.parametrize(
    "inner,shape,out_shape,params,reference",
    [
        (lambda d: layers.Dense(3, dtype=d), (2, 4, 5), (2, 4, 3), 18, _dense_reference),
        (lambda d: layers.Conv1D(2, 3, dtype=d), (2, 3, 6, 2), (2, 3, 4, 2), 14, None),
        (
            lambda d: layers.Flatten(dtype=d),
            (2, 3, 2, 2),
            (2, 3, 4),
            0,
            lambda x, w: x.reshape(2, 3, 4),
        ),
    ],
    ids=["dense", "conv1d", "flatten"],
)
def test_time_distributed_layer_harness(inner, shape, out_shape, params, reference):
    class Wrapped(TimeDistributed):
        # the harness builds the layer from keyword arguments: a fresh inner layer each time
        # (of the wrapper's dtype, for the float64 gradient check)
        def __init__(self, layer=None, **kwargs):
            layer = layer if layer is not None else inner(kwargs.get("dtype"))
            super().__init__(layer, **kwargs)

    run_layer_test(
        Wrapped,
        {},
        input_shape=shape,
        expected_output_shape=out_shape,
        expected_num_params=params,
        reference=reference,
        compiled_fit=reference is _dense_reference,
    )


@pytest.mark.parametrize(
    "make,shape",
    [
        (lambda L: L.Dense(3, activation="tanh"), (2, 4, 5)),
        (lambda L: L.Conv2D(2, 3, padding="same"), (2, 3, 5, 5, 2)),
        (lambda L: L.GlobalAveragePooling1D(), (2, 3, 4, 2)),
    ],
    ids=["dense", "conv2d", "pooling"],
)
def test_time_distributed_matches_keras(make, shape):
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape).astype(np.float32)
    k = keras.layers.TimeDistributed(make(keras.layers))
    k.build(shape)
    lam = TimeDistributed(make(layers))
    lam.build((None, *shape[1:]))
    weights = [rng.normal(size=w.shape).astype(np.float32) for w in k.get_weights()]
    k.set_weights(weights)
    lam.set_weights(weights)
    assert [w.shape for w in lam.get_weights()] == [w.shape for w in weights]
    want = keras.ops.convert_to_numpy(k(x))
    np.testing.assert_allclose(lam(torch.tensor(x)).detach().numpy(), want, rtol=1e-5, atol=1e-6)
    assert tuple(lam.compute_output_shape((None, *shape[1:]))) == (None, *want.shape[1:])


def test_config_round_trip_with_the_nested_layer():
    lam = TimeDistributed(layers.Dense(4, activation="relu", name="inner"), name="td")
    config = lam.get_config()
    assert config["layer"]["class_name"] == "Dense" and config["layer"]["config"]["units"] == 4
    clone = TimeDistributed.from_config(json.loads(json.dumps(config)))
    assert clone.get_config() == config and clone.layer is not lam.layer
    x = torch.randn(2, 3, 5)
    lam(x)
    clone(x)
    clone.set_weights(lam.get_weights())
    np.testing.assert_array_equal(clone(x).detach().numpy(), lam(x).detach().numpy())
    # Keras 3's config (a DTypePolicy, Keras-only arguments at None) builds the same layer
    k = keras.layers.TimeDistributed(keras.layers.Dense(4, activation="relu"), name="k_td")
    entry = {"module": "keras.layers", "class_name": "TimeDistributed", "config": k.get_config()}
    built = lamina.saving.serialization.deserialize_layer(json.loads(json.dumps(entry)))
    assert isinstance(built, TimeDistributed) and built.layer.units == 4
    assert built.layer.activation is lamina.activations.relu


def test_masks_pass_on_and_reach_the_wrapped_layer():
    seen = []

    class Needs(layers.Layer):
        def call(self, x, mask=None):
            seen.append(mask)
            return x * 2

    x = torch.randn(2, 3, 4)
    mask = torch.tensor([[True, True, False], [True, False, False]])
    x._keras_mask = mask
    out = TimeDistributed(Needs())(x)
    assert out._keras_mask is mask
    np.testing.assert_array_equal(seen[0].numpy(), mask.reshape(6).numpy())
    dense = TimeDistributed(layers.Dense(2))
    assert dense(x)._keras_mask is mask
    with pytest.raises(ValueError, match="mask of shape"):
        dense(torch.randn(2, 3, 4), mask=torch.ones(2, 4, dtype=torch.bool))


def test_bad_wrapped_layers_and_shapes_are_refused():
    with pytest.raises(ValueError, match="expected a lamina Layer to wrap"):
        TimeDistributed(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match=r"TimeDistributed.*rank >= 3"):
        TimeDistributed(layers.Dense(2))(lamina.Input((4,)))
