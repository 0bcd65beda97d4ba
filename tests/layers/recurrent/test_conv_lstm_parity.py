"""ConvLSTM1D/2D/3D against Keras 3 (torch backend), and through the shared layer harness.

Keras's weights (kernel, recurrent_kernel, bias) are copied into Lamina; outputs,
states, output shapes, weight names, parameter counts and configs are compared for
'valid'/'same' padding, strides, dilation, go_backwards, masks and initial states.
The harness fits eagerly only: compiling the unrolled convolutional step takes over a
minute even for a 2-step ConvLSTM1D on a shared 2-core machine.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest
import torch
from layer_harness import run_layer_test

keras = pytest.importorskip("keras")

from lamina import layers  # noqa: E402

CONV_LSTM_PARITY = {
    "layers.ConvLSTM1D": [
        ({"filters": 2, "kernel_size": 3}, (2, 3, 7, 2)),
        ({"filters": 2, "kernel_size": 3, "strides": 2, "go_backwards": True}, (2, 3, 7, 2)),
        (
            {"filters": 3, "kernel_size": 2, "padding": "same", "return_sequences": True},
            (2, 4, 5, 2),
        ),
    ],
    "layers.ConvLSTM2D": [
        ({"filters": 3, "kernel_size": 3}, (2, 4, 5, 6, 2)),
        (
            {
                "filters": 3,
                "kernel_size": (2, 3),
                "padding": "same",
                "return_sequences": True,
                "return_state": True,
            },
            (2, 4, 5, 6, 2),
        ),
        (
            {"filters": 2, "kernel_size": 3, "dilation_rate": 2, "activation": "relu"},
            (1, 3, 6, 6, 2),
        ),
        (
            {"filters": 2, "kernel_size": 2, "unit_forget_bias": False, "use_bias": False},
            (2, 3, 4, 4, 1),
        ),
    ],
    "layers.ConvLSTM3D": [
        (
            {"filters": 2, "kernel_size": 2, "padding": "same", "dilation_rate": 2},
            (2, 3, 3, 4, 3, 2),
        ),
        ({"filters": 2, "kernel_size": 2, "strides": 2, "return_state": True}, (1, 2, 4, 4, 5, 1)),
    ],
}


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k not in ("module", "registered_name")}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _numpy_list(out):
    out = out if isinstance(out, (list, tuple)) else [out]
    return [t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t) for t in out]


def _pair(name, kwargs, shape, seed=0):
    """Keras's layer with random weights and Lamina's with the same weights, and the input."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape).astype(np.float32)
    k_layer = getattr(keras.layers, name)(**kwargs)
    k_layer(x)
    weights = [rng.normal(0, 0.3, size=w.shape).astype(np.float32) for w in k_layer.get_weights()]
    k_layer.set_weights(weights)
    l_layer = getattr(layers, name)(**kwargs)
    l_layer(torch.from_numpy(x))
    l_layer.set_weights(weights)
    return k_layer, l_layer, x


def _keras_out(k_layer, x, **kwargs):
    return [keras.ops.convert_to_numpy(t) for t in _as_list(k_layer(x, **kwargs))]


def _as_list(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


@pytest.mark.parametrize("name", sorted(CONV_LSTM_PARITY))
def test_conv_lstm_matches_keras(name):
    short = name.removeprefix("layers.")
    for kwargs, shape in CONV_LSTM_PARITY[name]:
        k_layer, l_layer, x = _pair(short, kwargs, shape)
        expected = _keras_out(k_layer, x)
        with torch.no_grad():
            got = _numpy_list(l_layer(torch.from_numpy(x)))
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            assert g.shape == e.shape
            np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5)
        assert l_layer.count_params() == k_layer.count_params()
        k_names = [w.path.split("/")[-1] for w in k_layer.weights]
        assert [s.name for s in l_layer.cell._weight_specs] == k_names
        per_sample = (None, *shape[1:])
        k_shape, l_shape = (
            k_layer.compute_output_shape(per_sample),
            l_layer.compute_output_shape(per_sample),
        )
        assert _plain(l_shape) == _plain(k_shape)
        l_sym = _as_list(getattr(layers, short)(**kwargs)(layers.Input(shape=shape[1:])))
        k_sym = _as_list(getattr(keras.layers, short)(**kwargs)(keras.Input(shape[1:])))
        assert [tuple(t.shape) for t in l_sym] == [tuple(t.shape) for t in k_sym]
        ignore = ("name", "dtype", "trainable")
        k_config = {k: v for k, v in k_layer.get_config().items() if k not in ignore}
        l_config = {k: v for k, v in l_layer.get_config().items() if k not in ignore}
        assert _plain(l_config) == _plain(k_config)


def test_conv_lstm_mask_and_initial_state_match_keras():
    kwargs = {"filters": 2, "kernel_size": 3, "padding": "same", "return_sequences": True}
    k_layer, l_layer, x = _pair("ConvLSTM2D", kwargs, (3, 5, 4, 4, 2), seed=1)
    mask = np.array([[1, 1, 1, 0, 0], [1, 0, 1, 1, 0], [1] * 5], dtype=bool)
    rng = np.random.default_rng(2)
    h0, c0 = (rng.normal(size=(3, 4, 4, 2)).astype(np.float32) for _ in range(2))
    expected = _keras_out(k_layer, x, mask=mask, initial_state=[h0, c0])
    with torch.no_grad():
        got = l_layer(
            torch.from_numpy(x),
            mask=torch.from_numpy(mask),
            initial_state=[torch.from_numpy(h0), torch.from_numpy(c0)],
        ).numpy()
    np.testing.assert_allclose(got, expected[0], rtol=1e-5, atol=1e-5)


def test_conv_lstm_dropout_is_training_only_and_seeded():
    kwargs = {"filters": 2, "kernel_size": 3, "dropout": 0.4, "recurrent_dropout": 0.3}
    k_layer, l_layer, x = _pair("ConvLSTM1D", kwargs, (4, 3, 6, 2))
    with torch.no_grad():
        inference = l_layer(torch.from_numpy(x), training=False).numpy()
    np.testing.assert_allclose(inference, _keras_out(k_layer, x, training=False)[0], atol=1e-5)
    runs = []
    for _ in range(2):
        layer = layers.ConvLSTM1D(**kwargs, seed=3)
        layer(torch.from_numpy(x))
        layer.set_weights(l_layer.get_weights())
        with torch.no_grad():
            runs.append(layer(torch.from_numpy(x), training=True).numpy())
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.allclose(runs[0], inference)


def test_conv_lstm_stateful_carries_states():
    layer = layers.ConvLSTM1D(2, 3, padding="same", stateful=True)
    x = torch.randn(2, 3, 5, 1)
    first, second = layer(x).detach(), layer(x).detach()
    assert not torch.allclose(first, second)
    layer.reset_state()
    torch.testing.assert_close(layer(x).detach(), first)


def test_conv_lstm2d_through_the_harness():
    run_layer_test(
        layers.ConvLSTM2D,
        {"filters": 2, "kernel_size": 2, "padding": "same"},
        input_shape=(2, 3, 4, 3, 2),
        expected_output_shape=(2, 4, 3, 2),
        expected_num_params=2 * 2 * 2 * 8 + 2 * 2 * 2 * 8 + 8,
        expected_num_trainable_weights=3,
        compiled_fit=False,
    )


@pytest.mark.parametrize(
    "cls,shape,out",
    [
        (layers.ConvLSTM1D, (2, 3, 5, 2), (2, 3, 5, 2)),
        (layers.ConvLSTM3D, (2, 2, 3, 2, 3, 1), (2, 2, 3, 2, 3, 2)),
    ],
)
def test_conv_lstm_1d_3d_through_the_harness(cls, shape, out):
    run_layer_test(
        cls,
        {"filters": 2, "kernel_size": 2, "padding": "same", "return_sequences": True},
        input_shape=shape,
        expected_output_shape=out,
        compiled_fit=False,
    )


def test_conv_lstm_training_with_the_same_dropout_masks_matches_keras():
    """Keras's ConvLSTMCell gives each gate its own input mask and its own recurrent mask,
    drawn once per sequence: with the same eight masks injected, training outputs agree."""
    kwargs = {"filters": 2, "kernel_size": 3, "padding": "same", "return_sequences": True}
    kwargs.update(dropout=0.5, recurrent_dropout=0.25)
    k_layer, l_layer, x = _pair("ConvLSTM2D", kwargs, (2, 3, 4, 5, 2), seed=4)
    rng = np.random.default_rng(5)

    def masks(shape, rate):
        return [(rng.uniform(size=shape) >= rate).astype(np.float32) / (1 - rate) for _ in range(4)]

    inputs, recurrent = masks((2, 4, 5, 2), 0.5), masks((2, 4, 5, 2), 0.25)
    k_layer.cell._dropout_mask = [keras.ops.convert_to_tensor(m) for m in inputs]
    k_layer.cell._recurrent_dropout_mask = [keras.ops.convert_to_tensor(m) for m in recurrent]
    expected = _keras_out(k_layer, x, training=True)[0]
    l_layer.cell._masks = {
        "input": [torch.from_numpy(m) for m in inputs],
        "recurrent": [torch.from_numpy(m) for m in recurrent],
    }
    with torch.no_grad():
        got = l_layer(torch.from_numpy(x), training=True).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert not l_layer.cell._masks, "the masks are forgotten when the call ends"
