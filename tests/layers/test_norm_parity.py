"""Keras 3 (torch backend) as the oracle for Lamina's normalization layers.

Each case builds the Keras layer and the Lamina layer with the same arguments, gives
Keras's layer random weights and copies them into Lamina, and compares: outputs on the
same seeded input (inference, and training where statistics move), output shapes
(eager, `compute_output_shape`, symbolic), weight names, shapes and parameter counts,
and the config. New layers also run through the shared layer harness (with `fit`).
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")

from lamina import layers  # noqa: E402
from tests.layer_harness import run_layer_test  # noqa: E402

Case = tuple[dict, tuple]

NORM_PARITY: dict[str, list[Case]] = {
    "layers.GroupNormalization": [
        ({"groups": 2}, (2, 5, 4)),
        ({"groups": 3, "axis": 1, "epsilon": 1e-5}, (2, 6, 4)),
        ({"groups": -1, "center": False}, (2, 3, 3, 4)),
        ({"groups": 1, "scale": False}, (3, 4)),
    ],
    "layers.UnitNormalization": [
        ({}, (2, 5, 4)),
        ({"axis": [1, 2]}, (2, 5, 4)),
        ({"axis": 1}, (3, 4, 2)),
    ],
    # Non-trailing axes: Keras's torch backend hands them to F.rms_norm and fails
    # (test_rms_normalization_inner_axis checks Lamina against the formula instead).
    "layers.RMSNormalization": [
        ({}, (2, 5, 4)),
        ({"axis": [1, 2], "epsilon": 1e-3}, (2, 5, 4)),
        ({"axis": -1}, (3, 6)),
    ],
    "layers.BatchNormalization": [
        ({}, (4, 3, 3, 2)),
        ({"axis": 1, "momentum": 0.9, "epsilon": 1e-5}, (4, 3, 5)),
        ({"center": False, "scale": False}, (6, 3)),
    ],
    "layers.LayerNormalization": [
        ({}, (2, 3, 4)),
        ({"axis": [2, 3]}, (2, 3, 4, 2)),
        ({"axis": -1, "center": False, "epsilon": 1e-5}, (2, 3, 4)),
    ],
}


def _plain(value):
    """Config values without Keras's serialization bookkeeping; tuples as lists."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k not in ("module", "registered_name")}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _compare(name: str, kwargs: dict, shape: tuple, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape).astype(np.float32) * 2 + 0.5
    k_layer = getattr(keras.layers, name)(**kwargs)
    k_layer.build(shape)
    n_train = len(k_layer.trainable_weights)
    weights = [
        rng.normal(0.0, 0.5, size=w.shape).astype(np.float32)
        if i < n_train
        else rng.uniform(0.5, 1.5, size=w.shape).astype(np.float32)
        for i, w in enumerate(k_layer.get_weights())
    ]
    k_layer.set_weights(weights)
    l_layer = getattr(layers, name)(**kwargs)
    l_layer(torch.from_numpy(x))
    assert [w.shape for w in l_layer.get_weights()] == [w.shape for w in weights]
    assert [s.name for s in l_layer._weight_specs] == [
        w.path.split("/")[-1] for w in k_layer.weights
    ]
    l_layer.set_weights(weights)
    assert l_layer.count_params() == k_layer.count_params()
    for training in (False, True):
        expected = keras.ops.convert_to_numpy(k_layer(x, training=training))
        got = l_layer(torch.from_numpy(x), training=training).detach().numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    for got, want in zip(l_layer.get_weights(), k_layer.get_weights()):  # moving statistics
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    none_shape = (None, *shape[1:])
    assert tuple(l_layer.compute_output_shape(none_shape)) == tuple(
        k_layer.compute_output_shape(none_shape)
    )
    sym = getattr(layers, name)(**kwargs)(layers.Input(shape=shape[1:]))
    assert tuple(sym.shape) == tuple(keras.layers.Input(shape=shape[1:]).shape[:1]) + shape[1:]
    # The config of an unbuilt Keras layer: Keras rewrites some after building
    # (GroupNormalization's groups=-1 becomes the channel count, RMSNormalization's axis a list).
    k_fresh = getattr(keras.layers, name)(**kwargs)
    k_config = {k: v for k, v in k_fresh.get_config().items() if k not in ("dtype", "name")}
    l_config = {k: v for k, v in l_layer.get_config().items() if k not in ("dtype", "name")}
    # Lamina's config holds Keras's arguments (Keras may add ones Lamina does not take:
    # BatchNormalization's renorm/synchronized), with Keras's values.
    assert set(l_config) <= set(k_config), set(l_config) - set(k_config)
    assert _plain(l_config) == _plain({k: k_config[k] for k in l_config})


@pytest.mark.parametrize("name", sorted(NORM_PARITY))
def test_normalization_matches_keras(name):
    for i, (kwargs, shape) in enumerate(NORM_PARITY[name]):
        _compare(name.split(".")[-1], kwargs, shape, seed=i)


def test_rms_normalization_inner_axis():
    """axis=1 of a rank-3 input: x * rsqrt(mean(x**2 over axis 1) + eps) * scale."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 5, 4)).astype(np.float32)
    layer = layers.RMSNormalization(axis=1)
    layer(torch.from_numpy(x))
    scale = rng.normal(size=(5,)).astype(np.float32)
    layer.set_weights([scale])
    want = x / np.sqrt((x**2).mean(axis=1, keepdims=True) + 1e-6) * scale[:, None]
    np.testing.assert_allclose(
        layer(torch.from_numpy(x)).detach().numpy(), want, rtol=1e-5, atol=1e-6
    )


def _group_norm_reference(groups: int, eps: float = 1e-3):
    def reference(x, w):
        b, t, c = x.shape
        g = x.reshape(b, t, groups, c // groups)
        mean = g.mean(axis=(1, 3), keepdims=True)
        var = g.var(axis=(1, 3), keepdims=True)
        return ((g - mean) / np.sqrt(var + eps)).reshape(b, t, c) * w[0] + w[1]

    return reference


HARNESS = [
    (layers.GroupNormalization, {"groups": 2}, (3, 4, 6), (3, 4, 6), 12, _group_norm_reference(2)),
    (
        layers.UnitNormalization,
        {},
        (3, 5),
        (3, 5),
        0,
        lambda x, w: x / np.linalg.norm(x, axis=-1, keepdims=True),
    ),
    (
        layers.RMSNormalization,
        {},
        (3, 4, 5),
        (3, 4, 5),
        5,
        lambda x, w: x / np.sqrt((x**2).mean(-1, keepdims=True) + 1e-6) * w[0],
    ),
]


@pytest.mark.parametrize("case", HARNESS, ids=[c[0].__name__ for c in HARNESS])
def test_new_normalization_layers_pass_the_harness(case):
    cls, kwargs, in_shape, out_shape, params, reference = case
    run_layer_test(
        cls,
        kwargs,
        input_shape=in_shape,
        expected_output_shape=out_shape,
        expected_num_params=params,
        reference=reference,
        compiled_fit=cls is layers.GroupNormalization,
    )
